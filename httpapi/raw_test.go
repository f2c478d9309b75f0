package httpapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// checkReadHeaders asserts the headers every read carries.
func checkReadHeaders(t *testing.T, what string, resp *http.Response, consistency string) uint64 {
	t.Helper()
	idx, err := strconv.ParseUint(resp.Header.Get("X-Consul-Index"), 10, 64)
	if err != nil || idx == 0 {
		t.Fatalf("%s: X-Consul-Index = %q, want a positive integer", what, resp.Header.Get("X-Consul-Index"))
	}
	if got := resp.Header.Get("X-Consul-KnownLeader"); got != "true" {
		t.Fatalf("%s: X-Consul-KnownLeader = %q", what, got)
	}
	if _, err := strconv.ParseUint(resp.Header.Get("X-Consul-LastContact"), 10, 64); err != nil {
		t.Fatalf("%s: X-Consul-LastContact = %q", what, resp.Header.Get("X-Consul-LastContact"))
	}
	if got := resp.Header.Get("X-Consul-Effective-Consistency"); got != consistency {
		t.Fatalf("%s: X-Consul-Effective-Consistency = %q, want %q", what, got, consistency)
	}
	return idx
}

func TestHeaders(t *testing.T) {
	t.Parallel()
	s := startServer(t)

	t.Run("index never zero", func(t *testing.T) {
		// Nothing has been written to KV yet: its table index is 0.
		resp, body := s.do(t, "GET", "/v1/kv/?keys", nil)
		if resp.StatusCode != 200 || string(body) != "[]" {
			t.Fatalf("keys of an empty store: %d %q", resp.StatusCode, body)
		}
		if idx := checkReadHeaders(t, "empty kv", resp, "leader"); idx != 1 {
			t.Fatalf("X-Consul-Index of an empty table = %d, want 1", idx)
		}
		resp, _ = s.do(t, "GET", "/v1/kv/missing", nil)
		if resp.StatusCode != 404 {
			t.Fatalf("missing key: %d", resp.StatusCode)
		}
		checkReadHeaders(t, "missing key", resp, "leader")
	})

	t.Run("reads", func(t *testing.T) {
		for _, path := range []string{
			"/v1/catalog/nodes", "/v1/catalog/services", "/v1/catalog/service/x",
			"/v1/catalog/node/node1", "/v1/catalog/node/nosuch", "/v1/catalog/datacenters",
			"/v1/health/service/x", "/v1/health/node/node1", "/v1/health/checks/x",
			"/v1/health/state/any", "/v1/agent/self", "/v1/agent/services", "/v1/agent/checks",
			"/v1/status/leader", "/v1/status/peers",
		} {
			resp, body := s.do(t, "GET", path, nil)
			if resp.StatusCode != 200 {
				t.Fatalf("%s: %d %q", path, resp.StatusCode, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Fatalf("%s: Content-Type %q", path, ct)
			}
			if !json.Valid(body) {
				t.Fatalf("%s: invalid JSON %q", path, body)
			}
			if string(body) == "null" && path != "/v1/catalog/node/nosuch" {
				t.Fatalf("%s: null body", path)
			}
			checkReadHeaders(t, path, resp, "leader")
		}
		for _, path := range []string{"/v1/catalog/service/x", "/v1/health/service/x", "/v1/health/checks/x"} {
			if _, body := s.do(t, "GET", path, nil); string(body) != "[]" {
				t.Fatalf("%s: empty list is %q, want []", path, body)
			}
		}
		if _, body := s.do(t, "GET", "/v1/catalog/node/nosuch", nil); string(body) != "null" {
			t.Fatalf("unknown node: %q, want null", body)
		}
		if _, body := s.do(t, "GET", "/v1/agent/services", nil); string(body) != "{}" {
			t.Fatalf("no agent services: %q, want {}", body)
		}
	})

	t.Run("consistency modes", func(t *testing.T) {
		resp, _ := s.do(t, "GET", "/v1/catalog/nodes?stale", nil)
		checkReadHeaders(t, "stale", resp, "stale")
		resp, _ = s.do(t, "GET", "/v1/catalog/nodes?consistent", nil)
		if resp.StatusCode != 200 {
			t.Fatalf("consistent read: %d", resp.StatusCode)
		}
		checkReadHeaders(t, "consistent", resp, "consistent")
	})

	t.Run("raw kv", func(t *testing.T) {
		value := "<html><script>alert(1)</script></html>"
		s.expect(t, "PUT", "/v1/kv/page", value, 200, "true")
		resp, body := s.do(t, "GET", "/v1/kv/page?raw", nil)
		if resp.StatusCode != 200 || string(body) != value {
			t.Fatalf("raw get: %d %q", resp.StatusCode, body)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/octet-stream" {
			t.Fatalf("raw Content-Type = %q", ct)
		}
		if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Fatalf("raw X-Content-Type-Options = %q", got)
		}
		checkReadHeaders(t, "raw", resp, "leader")
		resp, body = s.do(t, "GET", "/v1/kv/page", nil)
		var entries []map[string]any
		if err := json.Unmarshal(body, &entries); err != nil || len(entries) != 1 || entries[0]["Key"] != "page" {
			t.Fatalf("json get: %q (%v)", body, err)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Fatalf("json Content-Type = %q", ct)
		}
	})

	t.Run("every response has a content type", func(t *testing.T) {
		for _, c := range []struct{ method, path, body string }{
			{"GET", "/v1/nosuch", ""},
			{"POST", "/v1/catalog/nodes", ""},
			{"PUT", "/v1/catalog/register", "{"},
			{"PUT", "/v1/agent/service/register", `{"Name":"ct"}`},
			{"PUT", "/v1/agent/service/deregister/ct", ""},
			{"PUT", "/v1/kv/ct", "x"},
			{"DELETE", "/v1/kv/ct", ""},
			{"GET", "/v1/kv/ct", ""},
			{"GET", "/v1/catalog/nodes?index=x", ""},
		} {
			var body io.Reader
			if c.body != "" {
				body = strings.NewReader(c.body)
			}
			resp, b := s.do(t, c.method, c.path, body)
			if resp.Header.Get("Content-Type") == "" {
				t.Fatalf("%s %s: %d %q without Content-Type", c.method, c.path, resp.StatusCode, b)
			}
		}
	})

	t.Run("tokens are accepted", func(t *testing.T) {
		for _, hdr := range [][]string{
			{"X-Consul-Token", "secret"},
			{"Authorization", "Bearer secret"},
		} {
			resp, _ := s.do(t, "GET", "/v1/catalog/nodes", nil, hdr...)
			if resp.StatusCode != 200 {
				t.Fatalf("with %s: %d", hdr[0], resp.StatusCode)
			}
		}
		s.expect(t, "GET", "/v1/catalog/nodes?token=secret", "", 200, "node1")
	})

	t.Run("pretty", func(t *testing.T) {
		body := s.expect(t, "GET", "/v1/catalog/datacenters?pretty", "", 200, "")
		if string(body) != "[\n    \"dc1\"\n]\n" {
			t.Fatalf("pretty = %q", body)
		}
	})
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	s := startServer(t)

	t.Run("catalog register", func(t *testing.T) {
		s.expect(t, "PUT", "/v1/catalog/register", `{"Node":`, 400, "Request decode failed")
		s.expect(t, "PUT", "/v1/catalog/register", ``, 400, "Request decode failed")
		s.expect(t, "PUT", "/v1/catalog/register", `{"Node":"bad1","Address":"10.0.0.1"} trailing`, 400, "Request decode failed")
		s.expect(t, "PUT", "/v1/catalog/register",
			`{"Node":"bad1","Address":"10.0.0.1","Service":{"Service":"s","Port":"80"}}`, 400, "cannot unmarshal")
		s.expect(t, "PUT", "/v1/catalog/register", `{"Node":["bad1"],"Address":"10.0.0.1"}`, 400, "cannot unmarshal")
		s.expect(t, "PUT", "/v1/catalog/register", `{"Address":"10.0.0.1"}`, 400, "missing node name")
		s.expect(t, "PUT", "/v1/catalog/register", `{"Node":"bad1"}`, 400, "missing node address")
		s.expect(t, "PUT", "/v1/catalog/register",
			`{"Node":"bad1","Address":"10.0.0.1","Service":{"Port":80}}`, 400, "missing service name")
		s.expect(t, "PUT", "/v1/catalog/register",
			`{"Node":"bad1","Address":"10.0.0.1","Service":{"Service":"s","Port":70000}}`, 400, "port")
		s.expect(t, "PUT", "/v1/catalog/register",
			`{"Node":"bad1","Address":"10.0.0.1","Check":{"CheckID":"c","Status":"sad"}}`, 400, "invalid check status")
		s.expect(t, "PUT", "/v1/catalog/register",
			`{"Node":"bad1","Address":"10.0.0.1","Checks":[null]}`, 400, "")
		s.expect(t, "PUT", "/v1/catalog/register",
			`{"Node":"bad1","Address":"10.0.0.1","Check":{"Node":"other","CheckID":"c"}}`, 400, "doesn't match")
		s.expect(t, "PUT", "/v1/catalog/register",
			`{"Node":"bad1","Address":"10.0.0.1","Check":{"CheckID":"c","ServiceID":"nosuch"}}`, 400, "unknown service")
		s.expect(t, "PUT", "/v1/catalog/register",
			`{"Node":"bad1","Address":"10.0.0.1","Service":{"Service":"s","Proxy":"web"}}`, 400, "must be a JSON object")
		s.expect(t, "PUT", "/v1/catalog/register",
			`{"Node":"bad1","Address":"10.0.0.1","Service":{"Service":"s","TaggedAddresses":{"wan":{"Address":"a","Port":70000}}}}`, 400, "port")
		s.expect(t, "PUT", "/v1/catalog/register", `{"Node":"bad1","Address":"10.0.0.1","ID":"not-a-uuid"}`, 400, "Bad node ID")
		s.expect(t, "PUT", "/v1/catalog/register?dc=dc2", `{"Node":"bad1","Address":"10.0.0.1"}`, 404, "No path to datacenter")
		s.expect(t, "PUT", "/v1/catalog/register", `{"Datacenter":"dc2","Node":"bad1","Address":"10.0.0.1"}`, 404, "No path to datacenter")
		big := `{"Node":"bad1","Address":"10.0.0.1","NodeMeta":{"k":"` + strings.Repeat("x", 1<<20) + `"}}`
		s.expect(t, "PUT", "/v1/catalog/register", big, 413, "too large")
		// Nothing of the refused requests was written.
		n, _, err := s.client.Catalog().Node("bad1", nil)
		if err != nil || n != nil {
			t.Fatalf("bad1 = %+v, %v; want nothing", n, err)
		}
		// Unknown fields are ignored, as Consul does.
		s.expect(t, "PUT", "/v1/catalog/register", `{"Node":"ok1","Address":"10.0.0.1","Bogus":{"x":1}}`, 200, "true")
		s.expect(t, "PUT", "/v1/catalog/deregister", `{}`, 400, "Missing node name")
		s.expect(t, "PUT", "/v1/catalog/deregister", `{"Node":1}`, 400, "cannot unmarshal")
	})

	t.Run("agent service register", func(t *testing.T) {
		s.expect(t, "PUT", "/v1/agent/service/register", `{"Name":`, 400, "Request decode failed")
		s.expect(t, "PUT", "/v1/agent/service/register", `{"Name":"x","Port":"80"}`, 400, "cannot unmarshal")
		s.expect(t, "PUT", "/v1/agent/service/register", `{"Name":"x","Tags":"a"}`, 400, "cannot unmarshal")
		s.expect(t, "PUT", "/v1/agent/service/register", `{"ID":"x","Port":80}`, 400, "Missing service name")
		s.expect(t, "PUT", "/v1/agent/service/register", `{"Name":"x","Check":{"TTL":"10s","HTTP":"http://127.0.0.1:1/"}}`, 400,
			"a check runs one way only")
		s.expect(t, "PUT", "/v1/agent/service/register", `{"Name":"x","Checks":[{"Interval":"10s"}]}`, 400, "needs one of")
		s.expect(t, "PUT", "/v1/agent/service/register", `{"Name":"x","Check":{"TTL":"10q"}}`, 400, "invalid duration")
		s.expect(t, "PUT", "/v1/agent/service/register", `{"Name":"x","Checks":[{"TTL":"10s"},{"ScriptArgs":["/bin/true"],"Interval":"10s"}]}`, 400, "enable_script_checks")
		s.expect(t, "PUT", "/v1/agent/service/register", `{"Name":"x","Checks":[{"TTL":"10s"},null]}`, 400, "null check")
		s.expect(t, "PUT", "/v1/agent/service/register", `{"Name":"x","Checks":{"TTL":"10s"}}`, 400, "Request decode failed")
		s.expect(t, "PUT", "/v1/agent/service/register", `{"Name":"x","Weights":{"Passing":0,"Warning":1}}`, 400, "Invalid Weights")
		s.expect(t, "PUT", "/v1/agent/service/register", `{"Name":"x","Address":"0.0.0.0"}`, 400, "Invalid service address")
		s.expect(t, "PUT", "/v1/agent/service/register", `{"Name":"x","Port":-1}`, 400, "port")
		s.expect(t, "PUT", "/v1/agent/service/register", `{"Name":"x","Kind":"connect-proxy"}`, 400, "not supported")
		svcs, err := s.client.Agent().Services()
		if err != nil || len(svcs) != 0 {
			t.Fatalf("services after refused registrations = %v, %v", svcs, err)
		}
		// What the client sends for a check-less registration is fine.
		s.expect(t, "PUT", "/v1/agent/service/register", `{"Name":"x","Check":null,"Checks":[]}`, 200, "")
		s.expect(t, "PUT", "/v1/agent/service/deregister/nosuch", "", 404, "Unknown service ID")
	})

	t.Run("kv", func(t *testing.T) {
		s.expect(t, "PUT", "/v1/kv/", "x", 400, "Missing key name")
		s.expect(t, "GET", "/v1/kv/", "", 400, "Missing key name")
		s.expect(t, "DELETE", "/v1/kv/", "", 400, "Missing key name")
		s.expect(t, "PUT", "/v1/kv/k?cas=abc", "x", 400, "cas")
		s.expect(t, "PUT", "/v1/kv/k?cas=-1", "x", 400, "cas")
		s.expect(t, "PUT", "/v1/kv/k?flags=abc", "x", 400, "flags")
		s.expect(t, "PUT", "/v1/kv/k?flags=-1", "x", 400, "flags")
		s.expect(t, "DELETE", "/v1/kv/k?cas=x", "", 400, "cas")
		s.expect(t, "DELETE", "/v1/kv/k?cas=1&recurse", "", 400, "Conflicting flags")
		s.expect(t, "PUT", "/v1/kv/k?cas=1&acquire=abc", "x", 400, "Conflicting flags")
		s.expect(t, "PUT", "/v1/kv/k?acquire=abc", "x", 200, "false")
		s.expect(t, "PUT", "/v1/kv/k?release=abc", "x", 200, "false")
		s.expect(t, "PUT", "/v1/kv/k?dc=dc2", "x", 404, "No path to datacenter")
		if p, _, err := s.client.KV().Get("k", nil); err != nil || p != nil {
			t.Fatalf("k after refused writes = %+v, %v", p, err)
		}
	})

	t.Run("kv value size", func(t *testing.T) {
		limit := 512 * 1024
		s.expect(t, "PUT", "/v1/kv/big", strings.Repeat("x", limit+1024), 413, "too large")
		// A body of unknown length is cut off at the limit.
		req, err := http.NewRequest("PUT", s.base+"/v1/kv/big", io.MultiReader(bytes.NewReader(bytes.Repeat([]byte("y"), limit+1))))
		if err != nil {
			t.Fatal(err)
		}
		if req.ContentLength != 0 {
			t.Fatalf("ContentLength = %d, want unknown", req.ContentLength)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 413 || !strings.Contains(string(body), "too large") {
			t.Fatalf("chunked 512 KiB + 1: %d %q", resp.StatusCode, body)
		}
		if p, _, err := s.client.KV().Get("big", nil); err != nil || p != nil {
			t.Fatalf("big after 413 = %v, %v; want absent", p, err)
		}
		// Exactly the limit is fine.
		s.expect(t, "PUT", "/v1/kv/big", strings.Repeat("z", limit), 200, "true")
		if p, _, err := s.client.KV().Get("big", nil); err != nil || p == nil || len(p.Value) != limit {
			t.Fatalf("big at the limit not stored: %v", err)
		}
	})

	t.Run("query parameters", func(t *testing.T) {
		for _, c := range []struct {
			path string
			code int
			want string
		}{
			{"/v1/catalog/nodes?index=abc", 400, "Invalid index"},
			{"/v1/catalog/nodes?index=-1", 400, "Invalid index"},
			{"/v1/kv/k?index=1.5", 400, "Invalid index"},
			{"/v1/catalog/nodes?index=1&wait=5", 400, "Invalid wait"},
			{"/v1/catalog/nodes?wait=abc", 400, "Invalid wait"},
			{"/v1/catalog/nodes?wait=-1s", 400, "Invalid wait"},
			{"/v1/catalog/nodes?stale&consistent", 400, "conflicting"},
			{"/v1/catalog/nodes?dc=dc2", 404, "No path to datacenter"},
			{"/v1/catalog/nodes?filter=Node%20%3D%3D", 400, "filter"},
			{"/v1/catalog/nodes?filter=%28%28", 400, "filter"},
			{"/v1/catalog/nodes?filter=Nope%20%3D%3D%20x", 400, "filter"},
			{"/v1/health/service/x?passing=maybe", 400, "passing"},
			{"/v1/health/state/bogus", 400, "Invalid check state"},
			{"/v1/catalog/service/", 400, "Missing service name"},
			{"/v1/catalog/nodes?dc=dc1&index=0&wait=1ms&filter=Node%20%3D%3D%20node1", 200, "node1"},
		} {
			s.expect(t, "GET", c.path, "", c.code, c.want)
		}
	})

	t.Run("methods", func(t *testing.T) {
		for _, c := range []struct{ method, path string }{
			{"POST", "/v1/catalog/nodes"},
			{"PUT", "/v1/catalog/nodes"},
			{"GET", "/v1/catalog/register"},
			{"DELETE", "/v1/catalog/register"},
			{"POST", "/v1/kv/x"},
			{"PATCH", "/v1/kv/x"},
			{"GET", "/v1/agent/check/register"},
			{"GET", "/v1/agent/maintenance"},
			{"DELETE", "/v1/status/leader"},
			{"PUT", "/v1/health/service/x"},
		} {
			resp, body := s.do(t, c.method, c.path, nil)
			if resp.StatusCode != http.StatusMethodNotAllowed {
				t.Fatalf("%s %s: %d %q, want 405", c.method, c.path, resp.StatusCode, body)
			}
		}
		// The Consul client sees the same refusals.
		_, err := s.client.Raw().Query("/v1/catalog/register", &[]string{}, nil)
		if !isStatus(err, 405) {
			t.Fatalf("client GET catalog/register: %v", err)
		}
	})
}
