package coordcatalog

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coredns/caddy"

	"github.com/coredns-coord/coredns-coord/internal/tlsutil"
	"github.com/coredns-coord/coredns-coord/internal/tlsutil/tlstest"
)

func parseBlock(t *testing.T, input string) (*options, error) {
	t.Helper()
	c := caddy.NewTestController("dns", input)
	c.ServerBlockKeys = []string{"consul.:8600"}
	_, o, err := parse(c)
	return o, err
}

func TestParseTLS(t *testing.T) {
	pki := tlstest.New(t)
	cert, key := pki.Cert(t, "server", tlsutil.RoleServer, "dc1")
	o, err := parseBlock(t, fmt.Sprintf(`coordcatalog {
		dev
		http off
		https 127.0.0.1:8501
		tls {
			ca_file %s
			cert_file %s
			key_file %s
			verify_incoming
			verify_outgoing true
			verify_server_hostname
		}
		node_ttl 5s
	}`, pki.CAFile, cert, key))
	if err != nil {
		t.Fatal(err)
	}
	want := tlsutil.Config{CAFile: pki.CAFile, CertFile: cert, KeyFile: key, VerifyIncoming: true, VerifyOutgoing: true, VerifyServerHostname: true}
	if o.agent.TLS != want || o.agent.HTTPSAddr != "127.0.0.1:8501" || o.agent.HTTPAddr != "" || o.nodeTTL.Seconds() != 5 {
		t.Errorf("tls %+v, https %q, http %q, node_ttl %v", o.agent.TLS, o.agent.HTTPSAddr, o.agent.HTTPAddr, o.nodeTTL)
	}
}

// Every mistake fails setup with the option or the file it is about,
// with the Corefile position.
func TestParseTLSErrors(t *testing.T) {
	pki := tlstest.New(t)
	cert, key := pki.Cert(t, "server", tlsutil.RoleServer, "dc1")
	otherCert, _ := pki.Cert(t, "other", tlsutil.RoleServer, "dc1")
	garbage := filepath.Join(t.TempDir(), "garbage.pem")
	os.WriteFile(garbage, []byte("not pem"), 0o600)
	missing := filepath.Join(t.TempDir(), "missing.pem")
	cases := map[string]string{
		"tls {\n ca_file " + missing + "\n }":                                        "tls: ca_file: open " + missing + ": no such file",
		"tls {\n ca_file " + garbage + "\n }":                                        "tls: ca_file " + garbage + " holds no PEM certificate",
		"tls {\n cert_file " + otherCert + "\n key_file " + key + "\n }":             "tls: cert_file " + otherCert + " with key_file " + key + ": tls: private key does not match public key",
		"tls {\n cert_file " + cert + "\n }":                                         "cert_file and key_file go together",
		"tls {\n cert_file " + cert + "\n key_file " + key + "\n verify_incoming\n}": "verify_incoming and verify_outgoing need ca_file",
		"tls {\n ca_file " + pki.CAFile + "\n verify_server_hostname\n }":            "verify_server_hostname needs verify_outgoing",
		"tls {\n ca_file " + pki.CAFile + "\n verify_incoming\n }":                   "verify_incoming needs cert_file and key_file",
		"tls {\n ca_file " + pki.CAFile + "\n verify_outgoing maybe\n }":             "tls: verify_outgoing: strconv.ParseBool",
		"tls {\n ca_file " + pki.CAFile + "\n verify_outgoing\n }":                   "a server with verify_outgoing needs cert_file and key_file",
		"tls {\n ca_file\n }":    "tls: ca_file: takes 1 argument(s), got 0",
		"tls {\n certfile x\n }": `tls: unknown property "certfile"`,
		"tls {\n }":              "tls block is empty",
		"tls":                    "tls needs a block",
		"tls {\n ca_file " + pki.CAFile + "\n }\n tls {\n ca_file " + pki.CAFile + "\n }": "tls may appear only once",
		"https 127.0.0.1:8501":  "https needs a tls block with cert_file and key_file",
		"https 127.0.0.1:https": `https: invalid port "https"`,
	}
	for body, want := range cases {
		_, err := parseBlock(t, "coordcatalog {\n dev\n "+body+"\n}")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", body, err, want)
		}
		if err != nil && strings.Count(err.Error(), "Testfile:") != 1 {
			t.Errorf("%q: %v", body, err)
		}
	}
}
