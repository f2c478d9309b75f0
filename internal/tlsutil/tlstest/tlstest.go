// Package tlstest writes a CA and certificates into a test's directory,
// made as `coredns-coord tls` makes them.
package tlstest

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/coredns-coord/coredns-coord/internal/tlsutil"
)

// PKI is a CA in a directory; Cert signs certificates with it.
type PKI struct {
	Dir    string
	CAFile string
	ca     *tlsutil.CA
}

// New makes a CA in a new temporary directory.
func New(t testing.TB) *PKI {
	t.Helper()
	ca, err := tlsutil.GenerateCA("consul", 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	p := &PKI{Dir: t.TempDir(), ca: ca}
	p.CAFile = p.write(t, "consul-agent-ca.pem", ca.CertPEM)
	return p
}

// Cert writes a certificate of role for dc and its key as name.pem and
// name-key.pem, and returns their paths.
func (p *PKI) Cert(t testing.TB, name string, role tlsutil.Role, dc string) (certFile, keyFile string) {
	t.Helper()
	certPEM, keyPEM, err := tlsutil.GenerateCert(p.ca, tlsutil.CertRequest{Role: role, Datacenter: dc, Domain: "consul", ValidFor: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return p.write(t, name+".pem", certPEM), p.write(t, name+"-key.pem", keyPEM)
}

// Config is a tls block with verify_incoming, verify_outgoing and
// verify_server_hostname and a new certificate of role for dc1.
func (p *PKI) Config(t testing.TB, name string, role tlsutil.Role) tlsutil.Config {
	cert, key := p.Cert(t, name, role, "dc1")
	return tlsutil.Config{CAFile: p.CAFile, CertFile: cert, KeyFile: key,
		VerifyIncoming: true, VerifyOutgoing: true, VerifyServerHostname: true}
}

func (p *PKI) write(t testing.TB, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(p.Dir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
