package cli

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
)

func readCert(t *testing.T, file string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("%s holds no PEM", file)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// tls ca create and tls cert create write the files consul tls writes,
// with its names, and the certificates chain to the CA.
func TestTLSCreate(t *testing.T) {
	t.Chdir(t.TempDir())
	var ta *testAgent
	r := ta.cli(t, "tls", "ca", "create")
	expectCode(t, r, exitOK)
	if r.stdout != "==> Saved consul-agent-ca.pem\n==> Saved consul-agent-ca-key.pem\n" {
		t.Errorf("ca create said %q", r.stdout)
	}
	// A second CA would overwrite the first: refused.
	r = ta.cli(t, "tls", "ca", "create")
	expectCode(t, r, exitFail)
	if !strings.Contains(r.stderr, "consul-agent-ca.pem") || !strings.Contains(r.stderr, "exists") {
		t.Errorf("second ca create: %q", r.stderr)
	}
	ca := readCert(t, "consul-agent-ca.pem")
	if !ca.IsCA || !strings.HasPrefix(ca.Subject.CommonName, "Consul Agent CA ") {
		t.Errorf("CA %q, IsCA %v", ca.Subject.CommonName, ca.IsCA)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)

	r = ta.cli(t, "tls", "cert", "create", "-server", "-dc", "dc2", "-additional-dnsname", "coord.example", "-additional-ipaddress", "10.0.0.11")
	expectCode(t, r, exitOK)
	if !strings.Contains(r.stdout, "WARNING: Server Certificates") || !strings.HasSuffix(r.stdout, "==> Saved dc2-server-consul-0.pem\n==> Saved dc2-server-consul-0-key.pem\n") {
		t.Errorf("server cert create said %q", r.stdout)
	}
	// The next one takes the next number.
	r = ta.cli(t, "tls", "cert", "create", "-server", "-dc", "dc2")
	expectCode(t, r, exitOK)
	if !strings.HasSuffix(r.stdout, "==> Saved dc2-server-consul-1.pem\n==> Saved dc2-server-consul-1-key.pem\n") {
		t.Errorf("second server cert: %q", r.stdout)
	}
	srv := readCert(t, "dc2-server-consul-0.pem")
	if srv.Subject.CommonName != "server.dc2.consul" ||
		!slices.Equal(srv.DNSNames, []string{"server.dc2.consul", "localhost", "coord.example"}) ||
		len(srv.IPAddresses) != 2 || !srv.IPAddresses[0].Equal(net.IPv4(127, 0, 0, 1)) || !srv.IPAddresses[1].Equal(net.ParseIP("10.0.0.11")) {
		t.Errorf("server cert: CN %q DNS %v IP %v", srv.Subject.CommonName, srv.DNSNames, srv.IPAddresses)
	}
	pub, ok := srv.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		t.Errorf("server key %T, want ECDSA P-256", srv.PublicKey)
	}
	for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		if _, err := srv.Verify(x509.VerifyOptions{Roots: roots, DNSName: "server.dc2.consul", KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
			t.Errorf("server cert for %v: %v", usage, err)
		}
	}
	if _, err := os.Stat("dc2-server-consul-0-key.pem"); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat("dc2-server-consul-0-key.pem"); st.Mode().Perm() != 0o600 {
		t.Errorf("key mode %v", st.Mode().Perm())
	}

	r = ta.cli(t, "tls", "cert", "create", "-client")
	expectCode(t, r, exitOK)
	cl := readCert(t, "dc1-client-consul-0.pem")
	if cl.Subject.CommonName != "client.dc1.consul" || !slices.Equal(cl.DNSNames, []string{"client.dc1.consul", "localhost"}) {
		t.Errorf("client cert: CN %q DNS %v", cl.Subject.CommonName, cl.DNSNames)
	}
	if _, err := cl.Verify(x509.VerifyOptions{Roots: roots, DNSName: "server.dc1.consul"}); err == nil {
		t.Error("a client's certificate is valid for server.dc1.consul")
	}

	r = ta.cli(t, "tls", "cert", "create", "-cli")
	expectCode(t, r, exitOK)
	cliCert := readCert(t, "dc1-cli-consul-0.pem")
	if cliCert.Subject.CommonName != "cli.dc1.consul" || len(cliCert.IPAddresses) != 0 ||
		!slices.Equal(cliCert.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}) {
		t.Errorf("cli cert: CN %q IP %v usage %v", cliCert.Subject.CommonName, cliCert.IPAddresses, cliCert.ExtKeyUsage)
	}
}

func TestTLSCertCreateErrors(t *testing.T) {
	t.Chdir(t.TempDir())
	var ta *testAgent
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-dc", "dc1"}, exitUsage, "give exactly one of -server, -client and -cli"},
		{[]string{"-server", "-client"}, exitUsage, "give exactly one of"},
		{[]string{"-server", "-additional-ipaddress", "nope"}, exitUsage, `-additional-ipaddress "nope" is not an IP address`},
		{[]string{"-server"}, exitFail, "consul-agent-ca.pem: no such file"},
	} {
		r := ta.cli(t, append([]string{"tls", "cert", "create"}, c.args...)...)
		expectCode(t, r, c.code)
		if !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: stderr %q, want %q", c.args, r.stderr, c.want)
		}
	}
	// A CA key that is not the CA certificate's is refused.
	expectCode(t, ta.cli(t, "tls", "ca", "create"), exitOK)
	expectCode(t, ta.cli(t, "tls", "ca", "create", "-domain", "other"), exitOK)
	r := ta.cli(t, "tls", "cert", "create", "-server", "-key", "other-agent-ca-key.pem")
	expectCode(t, r, exitFail)
	if !strings.Contains(r.stderr, "the CA key does not match the CA certificate") {
		t.Errorf("mismatched CA key: %q", r.stderr)
	}
}
