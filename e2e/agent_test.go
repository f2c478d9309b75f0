package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"text/template"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/miekg/dns"

	"github.com/coredns-coord/coredns-coord/internal/testutil"
)

// node is one agent's ports and options, rendered into a Corefile.
type node struct {
	Name        string
	DNS         int
	HTTP        int
	Raft        int
	Serf        int
	Metrics     int
	Bind        string // address of the server port and gossip (127.0.0.x)
	DataDir     string // empty: dev mode
	Client      bool   // a client agent (with DataDir)
	Expect      int    // bootstrap_expect of a server (with DataDir)
	Join        []string
	Upstream    string // forward target for the . block and reverse names outside the catalog
	ServiceTTL  string
	OnlyPassing bool
	Extra       string   // more coordcatalog lines
	Health      string   // coordhealth block body; empty: no block
	Wrap        []string // command prefix the binary runs under (e.g. nsenter)
	ReadyPort   int      // the ready plugin's port; 0: no ready plugin
	// DoT, when set, adds tls://consul:DoT to the consul block's keys,
	// with CoreDNS's tls plugin serving DoTCert and DoTKey.
	DoT             int
	DoTCert, DoTKey string
}

func newNode(t testing.TB) *node {
	return &node{
		Name: "e2e", DNS: testutil.FreePort(t), HTTP: testutil.FreePort(t), Raft: testutil.FreePort(t),
		Serf: testutil.FreePort(t), Metrics: testutil.FreePort(t), Bind: "127.0.0.1", Expect: 1, Upstream: "127.0.0.1:1",
	}
}

// The consul block also serves the reverse zones: PTR for catalog
// addresses, every other reverse name to its own forward.
var corefileTmpl = template.Must(template.New("corefile").Parse(`consul:{{.DNS}}{{if .DoT}} tls://consul:{{.DoT}}{{end}} in-addr.arpa:{{.DNS}} ip6.arpa:{{.DNS}} {
    bind 127.0.0.1
    {{if .DoT}}tls {{.DoTCert}} {{.DoTKey}}{{end}}
    coordcatalog consul. in-addr.arpa. ip6.arpa. {
        {{if .DataDir}}data_dir {{.DataDir}}{{if not .Client}}
        server
        bootstrap_expect {{.Expect}}{{end}}{{else}}dev{{end}}
        node {{.Name}}
        bind {{.Bind}}
        server_port {{.Raft}}
        serf_lan_port {{.Serf}}{{range .Join}}
        retry_join {{.}}{{end}}
        http 127.0.0.1:{{.HTTP}}
        {{if .ServiceTTL}}service_ttl {{.ServiceTTL}}{{end}}
        {{if .OnlyPassing}}only_passing{{end}}
        {{.Extra}}
    }
    {{if .Health}}coordhealth {
        {{.Health}}
    }{{end}}
    prometheus 127.0.0.1:{{.Metrics}}
    {{if .ReadyPort}}ready 127.0.0.1:{{.ReadyPort}}{{end}}
    forward . {{.Upstream}}
    errors
}
.:{{.DNS}} {
    bind 127.0.0.1
    forward . {{.Upstream}}
    cache 30
    prometheus 127.0.0.1:{{.Metrics}}
    errors
}
`))

func (n *node) corefile(t testing.TB) []byte {
	var b bytes.Buffer
	if err := corefileTmpl.Execute(&b, n); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// proc is a running coredns-coord.
type proc struct {
	t      testing.TB
	n      *node
	conf   string
	cmd    *exec.Cmd
	out    *testutil.SyncBuffer
	exited chan struct{}
}

// start runs the binary with n's Corefile and waits until it answers DNS
// and its agent reports a leader and its own node.
func start(t testing.TB, n *node) *proc {
	t.Helper()
	p := launch(t, n)
	p.waitReady()
	return p
}

// launch runs the binary with n's Corefile without waiting for it.
func launch(t testing.TB, n *node) *proc {
	t.Helper()
	if binary == "" {
		t.Fatal("no coredns-coord binary: a -short run builds none, so a test that starts one calls multiProcess first")
	}
	conf := filepath.Join(t.TempDir(), "Corefile")
	if err := os.WriteFile(conf, n.corefile(t), 0o600); err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, n: n, conf: conf, out: &testutil.SyncBuffer{}, exited: make(chan struct{})}
	argv := append(append([]string{}, n.Wrap...), binary, "-conf", conf)
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("coredns-coord %s output:\n%s", n.Name, p.out.String())
		}
	})
	return p
}

func (p *proc) kill() {
	select {
	case <-p.exited:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

func (p *proc) waitReady() {
	p.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			p.t.Fatalf("coredns-coord exited during start:\n%s", p.out.String())
		default:
		}
		r, err := exchange(p.n, "udp", p.n.Name+".node.consul.", dns.TypeA)
		if err == nil && r.Rcode == dns.RcodeSuccess && len(r.Answer) == 1 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.t.Fatalf("coredns-coord not ready in 30s:\n%s", p.out.String())
}

func exchange(n *node, proto, name string, qtype uint16) (*dns.Msg, error) {
	return exchangeMsg(n, proto, new(dns.Msg).SetQuestion(name, qtype))
}

func exchangeMsg(n *node, proto string, m *dns.Msg) (*dns.Msg, error) {
	c := &dns.Client{Net: proto, Timeout: 2 * time.Second}
	r, _, err := c.Exchange(m, fmt.Sprintf("127.0.0.1:%d", n.DNS))
	return r, err
}

func query(t testing.TB, n *node, proto, name string, qtype uint16) *dns.Msg {
	t.Helper()
	r, err := exchange(n, proto, name, qtype)
	if err != nil {
		t.Fatalf("%s %s over %s: %v", name, dns.TypeToString[qtype], proto, err)
	}
	return r
}

func (n *node) client(t testing.TB) *api.Client {
	t.Helper()
	c, err := api.NewClient(&api.Config{Address: fmt.Sprintf("127.0.0.1:%d", n.HTTP)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (n *node) scrape(t testing.TB) string {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", n.Metrics))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// registerService registers count instances of name, one per node
// <name>-<i> at 10.1.<i/256>.<i%256>, through the catalog API.
func registerService(t testing.TB, c *api.Client, name string, count int, tags ...string) {
	t.Helper()
	for i := 0; i < count; i++ {
		_, err := c.Catalog().Register(&api.CatalogRegistration{
			Node:    fmt.Sprintf("%s-%d", name, i),
			Address: fmt.Sprintf("10.1.%d.%d", i/256, i%256),
			Service: &api.AgentService{Service: name, Port: 8000 + i, Tags: tags},
		}, nil)
		if err != nil {
			t.Fatalf("register %s-%d: %v", name, i, err)
		}
	}
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func splitLines(s string) []string { return strings.Split(s, "\n") }
