package httpapi

import (
	"net/http/httptest"
	"testing"
)

func TestRequestToken(t *testing.T) {
	for _, c := range []struct {
		url    string
		header []string
		want   string
	}{
		{"/v1/kv/x", nil, ""},
		{"/v1/kv/x?token=q", []string{"X-Consul-Token", "h", "Authorization", "Bearer b"}, "q"},
		{"/v1/kv/x", []string{"X-Consul-Token", "h", "Authorization", "Bearer b"}, "h"},
		{"/v1/kv/x", []string{"Authorization", "Bearer b"}, "b"},
		{"/v1/kv/x", []string{"Authorization", "bearer  b2 "}, "b2"},
		{"/v1/kv/x", []string{"Authorization", "Basic Zm9vOmJhcg=="}, ""},
		{"/v1/kv/x", []string{"Authorization", "Bearer"}, ""},
	} {
		r := httptest.NewRequest("GET", c.url, nil)
		for i := 0; i+1 < len(c.header); i += 2 {
			r.Header.Set(c.header[i], c.header[i+1])
		}
		if got := requestToken(r); got != c.want {
			t.Errorf("requestToken(%s %v) = %q, want %q", c.url, c.header, got, c.want)
		}
	}
}
