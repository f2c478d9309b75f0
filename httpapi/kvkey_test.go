package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"
)

// A key is stored exactly as sent: a path with "//", "." or ".." is not
// redirected to a cleaned path (another key), and a key that is not valid
// UTF-8 is refused with 400 before anything is written (in JSON it would
// become U+FFFD, and %fe and %ff would be one key).
func TestKVKeysExactlyAsSent(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	for key, value := range map[string]string{"a//b": "double", "c/../d": "dots", "e/./f": "dot", "g/..": "up"} {
		s.expect(t, "PUT", "/v1/kv/"+key, value, 200, "true")
		if b := s.expect(t, "GET", "/v1/kv/"+key+"?raw", "", 200, ""); string(b) != value {
			t.Errorf("GET %s = %q, want %q", key, b, value)
		}
	}
	// The cleaned paths name other keys, which nobody wrote.
	for _, other := range []string{"a/b", "d", "e/f"} {
		if resp, _ := s.do(t, "GET", "/v1/kv/"+other, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404 (written through another path?)", other, resp.StatusCode)
		}
	}
	keys := string(s.expect(t, "GET", "/v1/kv/?keys", "", 200, ""))
	for _, want := range []string{`"a//b"`, `"c/../d"`, `"e/./f"`, `"g/.."`} {
		if !strings.Contains(keys, want) {
			t.Errorf("keys %s lack %s", keys, want)
		}
	}
	s.expect(t, "DELETE", "/v1/kv/c/../d", "", 200, "true")
	s.expect(t, "GET", "/v1/kv/c/../d", "", 404, "")

	// Not UTF-8: refused, nothing written, and two such keys never merge.
	s.expect(t, "PUT", "/v1/kv/col%ff", "x", 400, "not valid UTF-8")
	s.expect(t, "PUT", "/v1/kv/col%fe", "y", 400, "not valid UTF-8")
	s.expect(t, "GET", "/v1/kv/col%ff", "", 400, "not valid UTF-8")
	s.expect(t, "DELETE", "/v1/kv/col%ff", "", 400, "not valid UTF-8")
	if keys := string(s.expect(t, "GET", "/v1/kv/?keys", "", 200, "")); strings.Contains(keys, "col") {
		t.Errorf("a refused key was written: %s", keys)
	}
	// The same in a transaction: a body with raw bytes that are not UTF-8
	// is refused whole, where encoding/json would make both keys U+FFFD.
	txn := "[{\"KV\":{\"Verb\":\"set\",\"Key\":\"t\xff\",\"Value\":\"eA==\"}}," +
		"{\"KV\":{\"Verb\":\"set\",\"Key\":\"t\xfe\",\"Value\":\"eQ==\"}}]"
	s.expect(t, "PUT", "/v1/txn", txn, 400, "not valid UTF-8")
	if keys := string(s.expect(t, "GET", "/v1/kv/?keys", "", 200, "")); strings.Contains(keys, `"t`) {
		t.Errorf("a refused txn wrote: %s", keys)
	}
	// A method the KV route does not take is still 405.
	s.expect(t, "POST", "/v1/kv/a//b", "", 405, "")
}

// FuzzKVKeyPath: whatever the path, a PUT either stores the value at
// exactly the key the path names (read back through the same path) or is
// refused with 400; it is never redirected.
func FuzzKVKeyPath(f *testing.F) {
	for _, seed := range []string{"a//b", "c/../d", "col%ff", "%2F%2Fx", "x/./y/", "..", "a%20b", "%00", "k", "dir/"} {
		f.Add(seed)
	}
	_, h := startHandler(f)
	f.Fuzz(func(t *testing.T, escaped string) {
		if strings.ContainsAny(escaped, "?#") {
			return
		}
		put, err := http.NewRequest("PUT", "/v1/kv/"+escaped, strings.NewReader("v"))
		if err != nil {
			return // not a URL
		}
		key := strings.TrimPrefix(put.URL.Path, "/v1/kv/")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, put)
		switch {
		case rec.Code == http.StatusBadRequest:
			if utf8.ValidString(key) && key != "" {
				t.Fatalf("PUT %q (key %q) refused: %s", escaped, key, rec.Body)
			}
			return
		case rec.Code != http.StatusOK:
			t.Fatalf("PUT %q: %d %s", escaped, rec.Code, rec.Body)
		}
		get, _ := http.NewRequest("GET", "/v1/kv/"+escaped+"?raw", nil)
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, get)
		if rec.Code != http.StatusOK || rec.Body.String() != "v" {
			t.Fatalf("GET %q (key %q) after PUT: %d %q", escaped, key, rec.Code, rec.Body)
		}
		del, _ := http.NewRequest("DELETE", "/v1/kv/"+escaped, nil)
		h.ServeHTTP(httptest.NewRecorder(), del)
	})
}
