package httpapi

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coredns-coord/coredns-coord/internal/logging"
)

// logRequest logs a finished request at DEBUG, as Consul's agent.http
// does: method, URL with any ?token hidden, status, client and latency.
func logRequest(r *http.Request, status int, d time.Duration) {
	if !logging.DebugEnabled() {
		return
	}
	if status == 0 {
		status = http.StatusOK // the handler wrote a body without a header
	}
	httpLog.Debugf("Request finished: method=%s url=%s status=%d from=%s latency=%s",
		r.Method, redactedURL(r.URL), status, r.RemoteAddr, d)
}

// redactedURL is the request's path and query with every token value
// replaced by <hidden>.
func redactedURL(u *url.URL) string {
	if u.RawQuery == "" {
		return u.Path
	}
	params := strings.Split(u.RawQuery, "&")
	for i, p := range params {
		key, _, _ := strings.Cut(p, "=")
		if k, err := url.QueryUnescape(key); err == nil && k == "token" || key == "token" {
			params[i] = key + "=<hidden>"
		}
	}
	return u.Path + "?" + strings.Join(params, "&")
}
