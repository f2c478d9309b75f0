package httpapi_test

import (
	"errors"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/consul/api"

	"github.com/coredns-coord/coredns-coord/agent"
	"github.com/coredns-coord/coredns-coord/httpapi"
	"github.com/coredns-coord/coredns-coord/internal/testagent"
	"github.com/coredns-coord/coredns-coord/internal/testutil"
)

// testServer is a real single-server agent serving the API on loopback.
type testServer struct {
	agent  *agent.Agent
	client *api.Client
	base   string // http://host:port
}

// startServer starts an agent with the HTTP API and a Consul client for it;
// the agent stops when the test ends.
func startServer(t testing.TB) *testServer {
	t.Helper()
	a := testagent.Start(t, testagent.DevConfig(t, "node1", "127.0.0.1:0"), httpapi.New)
	addr := a.HTTPAddr().String()
	client, err := api.NewClient(&api.Config{Address: addr})
	if err != nil {
		t.Fatalf("consul client: %v", err)
	}
	return &testServer{agent: a, client: client, base: "http://" + addr}
}

// startHandler starts an agent without a listener and returns the API
// handler, for benchmarks through httptest.
func startHandler(t testing.TB) (*agent.Agent, http.Handler) {
	t.Helper()
	a := testagent.Start(t, testagent.DevConfig(t, "node1", ""), nil)
	return a, httpapi.New(a)
}

// do sends a raw request and returns the response with its body read.
func (s *testServer) do(t testing.TB, method, path string, body io.Reader, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, s.base+path, body)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body of %s %s: %v", method, path, err)
	}
	return resp, b
}

// expect sends a request and checks its status code (and, if given, that
// the body contains want).
func (s *testServer) expect(t testing.TB, method, path, body string, code int, want string) []byte {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	resp, b := s.do(t, method, path, r)
	if resp.StatusCode != code {
		t.Fatalf("%s %s: status %d, want %d (body %q)", method, path, resp.StatusCode, code, b)
	}
	if want != "" && !strings.Contains(string(b), want) {
		t.Fatalf("%s %s: body %q does not contain %q", method, path, b, want)
	}
	if resp.Header.Get("Content-Type") == "" {
		t.Fatalf("%s %s: no Content-Type", method, path)
	}
	return b
}

// registerNode registers a node with one service and, if status is not
// empty, one service check in that status.
func (s *testServer) registerNode(t testing.TB, node, addr string, meta map[string]string, svc *api.AgentService, status string) {
	t.Helper()
	reg := &api.CatalogRegistration{Node: node, Address: addr, NodeMeta: meta, Service: svc}
	if status != "" {
		reg.Check = &api.AgentCheck{
			Node: node, CheckID: "check:" + svc.ID, Name: "check of " + svc.ID,
			Status: status, ServiceID: svc.ID,
		}
	}
	if _, err := s.client.Catalog().Register(reg, nil); err != nil {
		t.Fatalf("register %s: %v", node, err)
	}
}

// isStatus reports whether err is the Consul client's error for code.
func isStatus(err error, code int) bool {
	var se api.StatusError
	if errors.As(err, &se) {
		return se.Code == code
	}
	return err != nil && strings.Contains(err.Error(), "Unexpected response code: "+strconv.Itoa(code))
}

// The tests that start agents run in parallel, more of them at once than
// there are CPUs: they mostly wait (see testutil.RunWaitBound).
func TestMain(m *testing.M) { os.Exit(testutil.RunWaitBound(m)) }
