package httpapi

import (
	"net/url"
	"strings"
	"testing"
)

func TestRedactedURL(t *testing.T) {
	for raw, want := range map[string]string{
		"/v1/kv/a":                           "/v1/kv/a",
		"/v1/kv/a?token=s3cret":              "/v1/kv/a?token=<hidden>",
		"/v1/kv/a?recurse&token=s3cret&x=1":  "/v1/kv/a?recurse&token=<hidden>&x=1",
		"/v1/kv/a?%74oken=s3cret":            "/v1/kv/a?%74oken=<hidden>",
		"/v1/kv/a?token=a&token=b":           "/v1/kv/a?token=<hidden>&token=<hidden>",
		"/v1/kv/a?tokens=keep&mytoken=keep2": "/v1/kv/a?tokens=keep&mytoken=keep2",
	} {
		u, err := url.ParseRequestURI(raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := redactedURL(u); got != want {
			t.Errorf("redactedURL(%q) = %q, want %q", raw, got, want)
		}
	}
}

// Every token parameter, however its name is escaped, is hidden; every
// other parameter is left as sent.
func FuzzRedactedURL(f *testing.F) {
	for _, s := range []string{"token=abc", "a=1&token=x&b", "%74oken=v", "token", "&&token=&", "%zz=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, rawQuery string) {
		out := redactedURL(&url.URL{Path: "/p", RawQuery: rawQuery})
		if rawQuery == "" {
			if out != "/p" {
				t.Fatalf("no query: %q", out)
			}
			return
		}
		in := strings.Split(rawQuery, "&")
		got := strings.Split(strings.TrimPrefix(out, "/p?"), "&")
		if len(in) != len(got) {
			t.Fatalf("%q became %q", rawQuery, out)
		}
		for i, p := range got {
			key, val, _ := strings.Cut(p, "=")
			k, err := url.QueryUnescape(key)
			isToken := key == "token" || (err == nil && k == "token")
			if isToken && val != "<hidden>" || !isToken && p != in[i] {
				t.Fatalf("parameter %q became %q", in[i], p)
			}
		}
	})
}
