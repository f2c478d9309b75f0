package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

const (
	contentJSON  = "application/json"
	contentText  = "text/plain; charset=utf-8"
	contentOctet = "application/octet-stream"
)

// writeJSON encodes v completely before it writes anything, so that an
// encoding failure becomes a clean 500 instead of a half-written body.
// ?pretty indents the output, as Consul's.
func writeJSON(w http.ResponseWriter, r *http.Request, code int, v any) error {
	var (
		buf []byte
		err error
	)
	if _, ok := r.URL.Query()["pretty"]; ok {
		buf, err = json.MarshalIndent(v, "", "    ")
		buf = append(buf, '\n')
	} else {
		buf, err = json.Marshal(v)
	}
	if err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	writeBody(w, code, contentJSON, buf)
	return nil
}

// writeText answers with a plain-text message (errors, as Consul does).
func writeText(w http.ResponseWriter, code int, msg string) {
	writeBody(w, code, contentText, []byte(msg))
}

func writeBody(w http.ResponseWriter, code int, contentType string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	w.Write(body)
}
