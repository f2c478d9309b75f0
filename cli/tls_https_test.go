package cli

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/coredns-coord/coredns-coord/httpapi"
	"github.com/coredns-coord/coredns-coord/internal/testagent"
	"github.com/coredns-coord/coredns-coord/internal/tlsutil"
	"github.com/coredns-coord/coredns-coord/internal/tlsutil/tlstest"
)

// httpsAgent is an agent serving the API over HTTPS only, with
// verify_incoming, and the files a client needs.
type httpsAgent struct {
	addr                  string
	pki                   *tlstest.PKI
	clientCert, clientKey string
}

func startHTTPSAgent(t *testing.T) *httpsAgent {
	t.Helper()
	pki := tlstest.New(t)
	cfg := testagent.DevConfig(t, "tls-test", "")
	cfg.HTTPSAddr = "127.0.0.1:0"
	cfg.HTTPReadHeaderTimeout = 300 * time.Millisecond
	cfg.TLS = pki.Config(t, "server", tlsutil.RoleServer)
	a := testagent.Start(t, cfg, httpapi.New)
	if a.HTTPAddr() != nil {
		t.Fatalf("http off, yet the API listens on %v", a.HTTPAddr())
	}
	cert, key := pki.Cert(t, "cli", tlsutil.RoleCLI, "dc1")
	return &httpsAgent{addr: a.HTTPSAddr().String(), pki: pki, clientCert: cert, clientKey: key}
}

func (h *httpsAgent) client(t *testing.T, tc api.TLSConfig) *api.Client {
	t.Helper()
	cfg := api.DefaultConfig()
	cfg.Address, cfg.Scheme, cfg.TLSConfig = h.addr, "https", tc
	c, err := api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cfg.Transport.CloseIdleConnections)
	return c
}

// Under verify_incoming the official client gets in with a certificate
// signed by the CA, and without one (or with one of another CA) the
// handshake fails.
func TestHTTPSVerifyIncoming(t *testing.T) {
	h := startHTTPSAgent(t)
	good := h.client(t, api.TLSConfig{CAFile: h.pki.CAFile, CertFile: h.clientCert, KeyFile: h.clientKey})
	if _, err := good.KV().Put(&api.KVPair{Key: "tls/k", Value: []byte("v")}, nil); err != nil {
		t.Fatalf("put with a client certificate: %v", err)
	}
	if kv, _, err := good.KV().Get("tls/k", nil); err != nil || kv == nil || string(kv.Value) != "v" {
		t.Fatalf("get: %+v %v", kv, err)
	}

	noCert := h.client(t, api.TLSConfig{CAFile: h.pki.CAFile})
	if _, err := noCert.Agent().Self(); err == nil || !strings.Contains(err.Error(), "certificate required") {
		t.Errorf("without a client certificate: %v", err)
	}
	other := tlstest.New(t)
	otherCert, otherKey := other.Cert(t, "cli", tlsutil.RoleCLI, "dc1")
	wrongCA := h.client(t, api.TLSConfig{CAFile: h.pki.CAFile, CertFile: otherCert, KeyFile: otherKey})
	// (Go's client does not even offer a certificate the server's CA did
	// not sign.)
	if _, err := wrongCA.Agent().Self(); err == nil || !strings.Contains(err.Error(), "certificate required") {
		t.Errorf("with a certificate of another CA: %v", err)
	}
	// The client checks the agent too: without the CA it refuses it.
	untrusted := h.client(t, api.TLSConfig{CertFile: h.clientCert, KeyFile: h.clientKey})
	if _, err := untrusted.Agent().Self(); err == nil || !strings.Contains(err.Error(), "certificate signed by unknown authority") {
		t.Errorf("without the CA: %v", err)
	}
}

// A client that opens a connection and never finishes the handshake
// holds only its own connection: others are served meanwhile, and the
// server closes it after the read header timeout.
func TestHTTPSStalledHandshake(t *testing.T) {
	h := startHTTPSAgent(t)
	stalled, err := net.Dial("tcp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	good := h.client(t, api.TLSConfig{CAFile: h.pki.CAFile, CertFile: h.clientCert, KeyFile: h.clientKey})
	if _, err := good.Agent().Self(); err != nil {
		t.Fatalf("a request while a handshake stalls: %v", err)
	}
	stalled.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadAll(stalled); err != nil {
		t.Fatalf("the stalled connection was not closed by the server: %v", err)
	}
}

// The CLI talks HTTPS with Consul's flags and with Consul's environment
// variables.
func TestCLIOverHTTPS(t *testing.T) {
	h := startHTTPSAgent(t)
	var ta *testAgent
	r := ta.cli(t, "kv", "put", "-http-addr", "https://"+h.addr, "-ca-file", h.pki.CAFile,
		"-client-cert", h.clientCert, "-client-key", h.clientKey, "cli/k", "over-tls")
	expectCode(t, r, exitOK)
	// Without a client certificate the agent refuses the handshake.
	r = ta.cli(t, "kv", "get", "-http-addr", "https://"+h.addr, "-ca-file", h.pki.CAFile, "cli/k")
	expectCode(t, r, exitFail)
	if !strings.Contains(r.stderr, "certificate required") {
		t.Errorf("without -client-cert: %q", r.stderr)
	}
	// -tls-server-name: the agent's certificate names localhost, not the
	// address dialled.
	r = ta.cli(t, "kv", "get", "-http-addr", "https://"+h.addr, "-ca-file", h.pki.CAFile,
		"-client-cert", h.clientCert, "-client-key", h.clientKey, "-tls-server-name", "server.dc2.consul", "cli/k")
	expectCode(t, r, exitFail)
	if !strings.Contains(r.stderr, "server.dc2.consul") {
		t.Errorf("-tls-server-name server.dc2.consul: %q", r.stderr)
	}

	t.Setenv("CONSUL_HTTP_ADDR", h.addr)
	t.Setenv("CONSUL_HTTP_SSL", "true")
	t.Setenv("CONSUL_CACERT", h.pki.CAFile)
	t.Setenv("CONSUL_CLIENT_CERT", h.clientCert)
	t.Setenv("CONSUL_CLIENT_KEY", h.clientKey)
	r = ta.cli(t, "kv", "get", "cli/k")
	expectCode(t, r, exitOK)
	if r.stdout != "over-tls\n" {
		t.Errorf("kv get over CONSUL_HTTP_SSL: %q", r.stdout)
	}
	t.Setenv("CONSUL_HTTP_ADDR", "https://"+h.addr)
	t.Setenv("CONSUL_HTTP_SSL", "")
	r = ta.cli(t, "kv", "get", "cli/k")
	expectCode(t, r, exitOK)
}

// Over http_max_conns_per_client, an HTTPS connection is closed before any
// handshake (answering 429 would run the handshake on the accept loop).
func TestHTTPSOverConnLimitClosedUnanswered(t *testing.T) {
	pki := tlstest.New(t)
	cfg := testagent.DevConfig(t, "tls-limit", "")
	cfg.HTTPSAddr = "127.0.0.1:0"
	cfg.HTTPMaxConnsPerClient = 1
	cfg.TLS = pki.Config(t, "server", tlsutil.RoleServer)
	a := testagent.Start(t, cfg, httpapi.New)
	addr := a.HTTPSAddr().String()

	// The one allowed connection, handshaken: the server has accepted
	// and counted it.
	certFile, keyFile := pki.Cert(t, "cli", tlsutil.RoleCLI, "dc1")
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	conf := &tls.Config{InsecureSkipVerify: true, Certificates: []tls.Certificate{cert}}
	held, err := tls.Dial("tcp", addr, conf)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	over, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer over.Close()
	over.SetDeadline(time.Now().Add(5 * time.Second))
	err = tls.Client(over, conf).Handshake()
	if err == nil {
		t.Fatal("a handshake over the limit succeeded")
	}
	if !errors.Is(err, io.EOF) && !strings.Contains(err.Error(), "reset") {
		t.Errorf("over the limit: %v, want the connection closed before any handshake", err)
	}
	// The allowed connection still works: the other was refused for the
	// limit, not for its certificate.
	held.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(held, "GET /v1/status/leader HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	line := make([]byte, 12)
	if _, err := io.ReadFull(held, line); err != nil || string(line) != "HTTP/1.1 200" {
		t.Errorf("request on the allowed connection: %q %v", line, err)
	}
}
