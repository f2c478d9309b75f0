package rpc

import (
	"bytes"
	"crypto/tls"
	"log"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/coredns-coord/coredns-coord/internal/tlsutil"
	"github.com/coredns-coord/coredns-coord/internal/tlsutil/tlstest"
)

// logBuffer collects the process log for a test.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *logBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

// waitLog waits until the log holds want.
func (w *logBuffer) waitLog(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for time.Now().Before(deadline) {
		w.mu.Lock()
		s := w.buf.String()
		w.mu.Unlock()
		if strings.Contains(s, want) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no log line with %q", want)
}

func captureLog(t *testing.T) *logBuffer {
	w := &logBuffer{}
	log.SetOutput(w)
	t.Cleanup(func() { log.SetOutput(os.Stderr) })
	return w
}

func configurator(t *testing.T, cfg tlsutil.Config) *tlsutil.Configurator {
	t.Helper()
	c, err := tlsutil.New(cfg, "server.dc1.consul")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func listenTLSMux(t *testing.T, c *tlsutil.Configurator) *Mux {
	t.Helper()
	m, err := Listen("127.0.0.1:0", "127.0.0.1:1", c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// With verify_incoming, gRPC and Raft pass over mutual TLS; plaintext is
// refused with a line that says why.
func TestMuxTLS(t *testing.T) {
	logs := captureLog(t)
	pki := tlstest.New(t)
	server := configurator(t, pki.Config(t, "server", tlsutil.RoleServer))
	m := listenTLSMux(t, server)

	// Raft from a server, over TLS.
	c, err := dialTyped(m.Addr().String(), RaftByte, testTimeout, nil, server.Outgoing())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("hello"))
	s := acceptWithin(t, m.raft)
	expectRead(t, s, []byte("hello"))

	// Plaintext: refused.
	plain := dialRaw(t, m, []byte{GRPCByte})
	expectEOF(t, plain, testTimeout)
	logs.waitLog(t, "plaintext rpc connection from 127.0.0.1")
	logs.waitLog(t, "refused: verify_incoming requires TLS")

	// A client agent's certificate may call RPC but not join Raft.
	client := configurator(t, pki.Config(t, "client", tlsutil.RoleClient))
	if c, err := dialTyped(m.Addr().String(), GRPCByte, testTimeout, nil, client.Outgoing()); err != nil {
		t.Fatalf("rpc with a client's certificate: %v", err)
	} else {
		c.Close()
	}
	acceptWithin(t, m.grpc)
	c2, err := dialTyped(m.Addr().String(), RaftByte, testTimeout, nil, client.Outgoing())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	expectEOFOrReset(t, c2)
	logs.waitLog(t, "raft from a peer that is not a server of this datacenter (verify_server_hostname)")
	logs.waitLog(t, `certificate "client.dc1.consul"`)

	// Another CA: the handshake fails, on both sides.
	other := tlstest.New(t)
	stranger := configurator(t, other.Config(t, "server", tlsutil.RoleServer))
	if c, err := dialTyped(m.Addr().String(), GRPCByte, testTimeout, nil, stranger.Outgoing()); err == nil {
		c.Close()
		t.Fatal("a server of another CA got in")
	} else if !strings.Contains(err.Error(), "certificate signed by unknown authority") {
		t.Errorf("dialling a server of another CA: %v", err)
	}
	logs.waitLog(t, "TLS connection from 127.0.0.1")
}

// expectEOFOrReset: a connection the server closed after the handshake
// reads an error (EOF, or a reset for unread data) before testTimeout.
func expectEOFOrReset(t *testing.T, c interface {
	Read([]byte) (int, error)
	SetReadDeadline(time.Time) error
}) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(testTimeout))
	if _, err := c.Read(make([]byte, 1)); err == nil || strings.Contains(err.Error(), "timeout") {
		t.Fatalf("connection still open: %v", err)
	}
}

// A server that dials with verify_server_hostname refuses a peer whose
// certificate is not server.<dc>.consul.
func TestDialVerifiesServerHostname(t *testing.T) {
	captureLog(t)
	pki := tlstest.New(t)
	wrongCert, wrongKey := pki.Cert(t, "dc2-server", tlsutil.RoleServer, "dc2")
	wrong := configurator(t, tlsutil.Config{CAFile: pki.CAFile, CertFile: wrongCert, KeyFile: wrongKey, VerifyIncoming: true})
	m := listenTLSMux(t, wrong)
	dialer := configurator(t, pki.Config(t, "server", tlsutil.RoleServer))
	layer := &raftLayer{tls: dialer}
	_, err := layer.Dial(raft.ServerAddress(m.Addr().String()), testTimeout)
	if err == nil || !strings.Contains(err.Error(), "certificate is valid for server.dc2.consul") || !strings.Contains(err.Error(), "not server.dc1.consul") {
		t.Fatalf("dialling a server with a dc2 certificate: %v", err)
	}
	// Without verify_server_hostname the CA's signature is enough.
	lax := pki.Config(t, "lax", tlsutil.RoleServer)
	lax.VerifyServerHostname = false
	c, err := dialTyped(m.Addr().String(), GRPCByte, testTimeout, nil, configurator(t, lax).Outgoing())
	if err != nil {
		t.Fatalf("without verify_server_hostname: %v", err)
	}
	c.Close()
}

// A handshake that never comes holds only its own connection: others are
// served, and it is closed after the first-byte timeout.
func TestMuxStalledTLSHandshake(t *testing.T) {
	captureLog(t)
	old := firstByteTimeout
	firstByteTimeout = 200 * time.Millisecond
	t.Cleanup(func() { firstByteTimeout = old })
	pki := tlstest.New(t)
	server := configurator(t, pki.Config(t, "server", tlsutil.RoleServer))
	m := listenTLSMux(t, server)
	stalled := dialRaw(t, m, []byte{TLSByte})
	c, err := dialTyped(m.Addr().String(), GRPCByte, testTimeout, nil, server.Outgoing())
	if err != nil {
		t.Fatalf("a connection while a handshake stalls: %v", err)
	}
	c.Close()
	acceptWithin(t, m.grpc)
	expectEOF(t, stalled, testTimeout)
}

// Reload: new connections get the new certificate.
func TestConfiguratorReload(t *testing.T) {
	pki := tlstest.New(t)
	cfg := pki.Config(t, "first", tlsutil.RoleServer)
	server := configurator(t, cfg)
	m := listenTLSMux(t, server)
	serial := func() string {
		c, err := dialTyped(m.Addr().String(), GRPCByte, testTimeout, nil, server.Outgoing())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		acceptWithin(t, m.grpc)
		return c.(*tls.Conn).ConnectionState().PeerCertificates[0].SerialNumber.String()
	}
	before := serial()
	next := pki.Config(t, "second", tlsutil.RoleServer)
	if err := server.Reload(next); err != nil {
		t.Fatal(err)
	}
	if after := serial(); after == before {
		t.Fatalf("after the reload the server still presents serial %s", before)
	}
	broken := next
	broken.KeyFile = cfg.KeyFile
	if err := server.Reload(broken); err == nil || !strings.Contains(err.Error(), "private key does not match public key") {
		t.Fatalf("reload with a key that is not the certificate's: %v", err)
	}
	if server.Settings() != next {
		t.Fatal("a failed reload replaced the settings")
	}
}
