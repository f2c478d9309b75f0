package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/miekg/dns"

	"github.com/coredns-coord/coredns-coord/internal/testutil"
)

// pki is a CA made by the binary's own tls commands, in a directory.
type pki struct{ dir string }

func newPKI(t testing.TB) *pki {
	t.Helper()
	p := &pki{dir: t.TempDir()}
	p.run(t, "tls", "ca", "create")
	return p
}

func (p *pki) run(t testing.TB, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = p.dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("coredns-coord %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func (p *pki) ca() string { return filepath.Join(p.dir, "consul-agent-ca.pem") }

var savedFile = regexp.MustCompile(`==> Saved (\S+)`)

// cert runs tls cert create with args and returns the files it saved.
func (p *pki) cert(t testing.TB, args ...string) (cert, key string) {
	t.Helper()
	saved := savedFile.FindAllStringSubmatch(p.run(t, append([]string{"tls", "cert", "create"}, args...)...), -1)
	if len(saved) != 2 {
		t.Fatalf("tls cert create %v saved %v", args, saved)
	}
	return filepath.Join(p.dir, saved[0][1]), filepath.Join(p.dir, saved[1][1])
}

// tlsLines are the coordcatalog lines of an agent with every verify
// setting on and HTTPS on httpsPort.
func tlsLines(ca, cert, key string, httpsPort int) string {
	return fmt.Sprintf(`https 127.0.0.1:%d
        tls {
            ca_file %s
            cert_file %s
            key_file %s
            verify_incoming
            verify_outgoing
            verify_server_hostname
        }`, httpsPort, ca, cert, key)
}

// tlsCluster is a cluster whose agents have TLS with every verify
// setting, each its own certificate, and HTTPS on a port of its own.
type tlsCluster struct {
	*cluster
	pki             *pki
	https           map[string]int
	cliCert, cliKey string
}

func newTLSCluster(t testing.TB, servers, clients int) *tlsCluster {
	t.Helper()
	tc := &tlsCluster{pki: newPKI(t), https: map[string]int{}}
	tc.cliCert, tc.cliKey = tc.pki.cert(t, "-cli")
	tc.cluster = newClusterEach(t, servers, clients, func(n *node) string {
		role := "-server"
		if n.Client {
			role = "-client"
		}
		cert, key := tc.pki.cert(t, role, "-dc", "dc1")
		tc.https[n.Name] = testutil.FreePort(t)
		return tlsLines(tc.pki.ca(), cert, key, tc.https[n.Name])
	})
	return tc
}

// httpsClient is the official client on n's HTTPS port with the CA and,
// unless withCert is false, the CLI's client certificate.
func (tc *tlsCluster) httpsClient(t testing.TB, n *node, withCert bool) *api.Client {
	t.Helper()
	cfg := api.DefaultConfig()
	cfg.Address, cfg.Scheme, cfg.Token = fmt.Sprintf("127.0.0.1:%d", tc.https[n.Name]), "https", ""
	cfg.TLSConfig = api.TLSConfig{CAFile: tc.pki.ca()}
	if withCert {
		cfg.TLSConfig.CertFile, cfg.TLSConfig.KeyFile = tc.cliCert, tc.cliKey
	}
	c, err := api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cfg.Transport.CloseIdleConnections)
	return c
}

// servedSerial is the serial of the certificate n serves on HTTPS.
func (tc *tlsCluster) servedSerial(t testing.TB, n *node) string {
	t.Helper()
	caPEM, err := os.ReadFile(tc.pki.ca())
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	cert, err := tls.LoadX509KeyPair(tc.cliCert, tc.cliKey)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", fmt.Sprintf("127.0.0.1:%d", tc.https[n.Name]),
		&tls.Config{RootCAs: roots, Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
}

// putEventually writes key through kv, retrying while an election runs.
func putEventually(t testing.TB, kv *api.KV, key, value string) {
	t.Helper()
	var err error
	waitFor(t, "a write of "+key, func() bool {
		_, err = kv.Put(&api.KVPair{Key: key, Value: []byte(value)}, nil)
		return err == nil
	})
}

// hasKey reports whether n's own copy holds key.
func hasKey(t testing.TB, n *node, key string) bool {
	kv, _, err := n.client(t).KV().Get(key, &api.QueryOptions{AllowStale: true})
	return err == nil && kv != nil
}

// Three servers and a client agent with verify_incoming, verify_outgoing
// and verify_server_hostname form a cluster (Raft and RPC over mutual
// TLS), take writes through the client's HTTPS API, fail over, rotate
// certificates by reload and SIGHUP without dropping out, and refuse
// plaintext peers and a server whose certificate names another
// datacenter, saying why in their logs.
func TestTLSCluster(t *testing.T) {
	multiProcess(t)
	tc := newTLSCluster(t, 3, 1)
	c := tc.cluster
	viaClient := tc.httpsClient(t, c.clients[0], true).KV()

	putEventually(t, viaClient, "tls/1", "a")
	waitAll(t, "tls/1 on every server", c.servers, 10*time.Second, func(n *node) bool { return hasKey(t, n, "tls/1") })

	// HTTPS wants a client certificate signed by the CA.
	if _, err := tc.httpsClient(t, c.clients[0], false).Agent().Self(); err == nil || !contains(err.Error(), "certificate required") {
		t.Errorf("HTTPS without a client certificate: %v", err)
	}

	// A plaintext connection to the server port is closed, and the log
	// says why.
	s1 := c.servers[0]
	conn, err := net.DialTimeout("tcp", s1.serverAddr(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	conn.Write([]byte{0x08})
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := conn.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("plaintext rpc: read %d bytes, %v; want the connection closed", n, err)
	}
	conn.Close()
	waitFor(t, "the refusal of plaintext in the log", func() bool {
		out := c.procs[s1].out.String()
		return contains(out, "plaintext rpc connection from 127.0.0.1") && contains(out, "refused: verify_incoming requires TLS")
	})

	// Failover: the leader dies, the others elect one over TLS, and the
	// client agent's writes go on.
	old := c.leader()
	c.kill(old)
	if l := c.leader(); l == old {
		t.Fatal("the killed server still leads")
	}
	putEventually(t, viaClient, "tls/2", "b")
	c.restart(old)
	waitFor(t, "tls/2 on the restarted server", func() bool { return hasKey(t, old, "tls/2") })

	// Rotation by Corefile reload: a new certificate is served, the
	// cluster stays up.
	r := c.servers[1]
	before := tc.servedSerial(t, r)
	cert, key := tc.pki.cert(t, "-server", "-dc", "dc1")
	r.Extra = tlsLines(tc.pki.ca(), cert, key, tc.https[r.Name])
	if err := os.WriteFile(c.procs[r].conf, r.corefile(t), 0o600); err != nil {
		t.Fatal(err)
	}
	c.procs[r].cmd.Process.Signal(syscall.SIGUSR1)
	var afterReload string
	waitFor(t, "the new certificate after SIGUSR1", func() bool {
		afterReload = tc.servedSerial(t, r)
		return afterReload != before
	})
	// Rotation in place: new files at the same paths, SIGHUP.
	nextCert, nextKey := tc.pki.cert(t, "-server", "-dc", "dc1")
	for from, to := range map[string]string{nextCert: cert, nextKey: key} {
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c.procs[r].cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "the new certificate after SIGHUP", func() bool { return tc.servedSerial(t, r) != afterReload })
	putEventually(t, r.client(t).KV(), "tls/3", "c")
	waitAll(t, "tls/3 everywhere", c.all(), 10*time.Second, func(n *node) bool { return hasKey(t, n, "tls/3") })

	// A server with a certificate of another datacenter joins gossip; the
	// servers refuse it Raft.
	bad := newNode(t)
	bad.Name, bad.Bind, bad.DataDir, bad.Expect = "s4", "127.0.0.20", filepath.Join(t.TempDir(), "data"), 3
	for _, s := range c.servers {
		bad.Join = append(bad.Join, s.serfAddr())
	}
	badCert, badKey := tc.pki.cert(t, "-server", "-dc", "dc2")
	bad.Extra = tlsLines(tc.pki.ca(), badCert, badKey, testutil.FreePort(t))
	c.procs[bad] = launch(t, bad)
	waitFor(t, "a server's log refusing s4's certificate", func() bool {
		for _, s := range c.servers {
			out := c.procs[s].out.String()
			if contains(out, "certificate is valid for server.dc2.consul") && contains(out, "not server.dc1.consul") {
				return true
			}
		}
		return false
	})
	putEventually(t, viaClient, "tls/4", "d")
	if hasKey(t, bad, "tls/4") {
		t.Error("the server with a dc2 certificate got the data")
	}
}

// DNS over TLS for .consul through CoreDNS's tls plugin, beside plain
// DNS on the same block.
func TestDNSOverTLS(t *testing.T) {
	multiProcess(t)
	p := newPKI(t)
	n := newNode(t)
	n.DoT = testutil.FreePort(t)
	n.DoTCert, n.DoTKey = p.cert(t, "-server")
	start(t, n)

	caPEM, err := os.ReadFile(p.ca())
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	c := &dns.Client{Net: "tcp-tls", Timeout: 2 * time.Second, TLSConfig: &tls.Config{RootCAs: roots, ServerName: "server.dc1.consul"}}
	r, _, err := c.Exchange(new(dns.Msg).SetQuestion("e2e.node.consul.", dns.TypeA), fmt.Sprintf("127.0.0.1:%d", n.DoT))
	if err != nil {
		t.Fatalf("DoT query: %v", err)
	}
	if len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != "127.0.0.1" {
		t.Fatalf("DoT answer: %v", r)
	}
	// The client checks the server: another CA's client refuses it.
	c.TLSConfig = &tls.Config{RootCAs: x509.NewCertPool(), ServerName: "server.dc1.consul"}
	if _, _, err := c.Exchange(new(dns.Msg).SetQuestion("e2e.node.consul.", dns.TypeA), fmt.Sprintf("127.0.0.1:%d", n.DoT)); err == nil {
		t.Error("a DoT client without the CA accepted the server")
	}
	if got := dnsA(t, n, "e2e.node.consul."); len(got) != 1 {
		t.Errorf("plain DNS beside DoT: %v", got)
	}
}
