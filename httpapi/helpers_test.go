package httpapi_test

import (
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/coredns-coord/coredns-coord/agent"
	"github.com/coredns-coord/coredns-coord/httpapi"
)

// testServer is a real single-server agent serving the API on loopback.
type testServer struct {
	agent  *agent.Agent
	client *api.Client
	base   string // http://host:port
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func testConfig(t testing.TB, httpAddr string) agent.Config {
	return agent.Config{
		Dev:             true,
		NodeName:        "node1",
		Datacenter:      "dc1",
		BindAddr:        "127.0.0.1",
		ServerPort:      freePort(t),
		HTTPAddr:        httpAddr,
		BootstrapExpect: 1,
	}
}

func waitReady(t testing.TB, a *agent.Agent) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !a.Ready() {
		if time.Now().After(deadline) {
			t.Fatal("agent not ready after 20s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// startServer starts an agent with the HTTP API and a Consul client for it;
// the agent stops when the test ends.
func startServer(t testing.TB) *testServer {
	t.Helper()
	a, err := agent.Start(testConfig(t, "127.0.0.1:0"), httpapi.New)
	if err != nil {
		t.Fatalf("start agent: %v", err)
	}
	t.Cleanup(func() {
		if err := a.Stop(); err != nil {
			t.Errorf("stop agent: %v", err)
		}
	})
	waitReady(t, a)
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
	a, err := agent.Start(testConfig(t, ""), nil)
	if err != nil {
		t.Fatalf("start agent: %v", err)
	}
	t.Cleanup(func() { a.Stop() })
	waitReady(t, a)
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
