package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/miekg/dns"

	"github.com/coredns-coord/coredns-coord/internal/testutil"
)

// These tests run the build in-process from a Corefile, as coremain does:
// the composition root (main's init, package agenthost and the plugins)
// end to end, without the binary.

func init() { dnsserver.Quiet = true }

// corefile is a dev agent's consul. block with a coordhealth block.
type corefile struct {
	dns, server, serf, http int
	node, extra, configDir  string
}

func newCorefile(t *testing.T) *corefile {
	dir := t.TempDir()
	def := `{"service": {"name": "defined", "port": 7000}}`
	if err := os.WriteFile(filepath.Join(dir, "defined.json"), []byte(def), 0o600); err != nil {
		t.Fatal(err)
	}
	return &corefile{
		dns: testutil.FreePort(t), server: testutil.FreePort(t), serf: testutil.FreePort(t), http: testutil.FreePort(t),
		node: "n1", configDir: dir,
	}
}

func (f *corefile) input() caddy.Input {
	catalog := fmt.Sprintf("coordcatalog {\n dev\n node %s\n server_port %d\n serf_lan_port %d\n http 127.0.0.1:%d\n %s\n }",
		f.node, f.server, f.serf, f.http, f.extra)
	health := fmt.Sprintf("coordhealth {\n config_dir %s\n }", f.configDir)
	return caddy.CaddyfileInput{
		Contents:       fmt.Appendf(nil, "consul.:%d {\n bind 127.0.0.1\n %s\n %s\n}\n", f.dns, catalog, health),
		Filepath:       "Corefile",
		ServerTypeName: "dns",
	}
}

// start starts CoreDNS and runs its final shutdown when the test ends.
func start(t *testing.T, in caddy.Input) *caddy.Instance {
	t.Helper()
	inst, err := caddy.Start(in)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { shutdown(t, inst) })
	return inst
}

func shutdown(t *testing.T, inst *caddy.Instance) {
	inst.Stop()
	for _, err := range inst.ShutdownCallbacks() {
		t.Errorf("final shutdown: %v", err)
	}
}

func query(t *testing.T, port int, name string) *dns.Msg {
	t.Helper()
	m := new(dns.Msg).SetQuestion(name, dns.TypeA)
	r, err := dns.Exchange(m, fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return r
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s in 20s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func answers(r *dns.Msg) bool { return r.Rcode == dns.RcodeSuccess && len(r.Answer) > 0 }

// The agent starts on startup, serves the HTTP API main gave it, and gets
// coordhealth's definitions, whichever of the two plugins the directive
// list puts first.
func TestStartup(t *testing.T) {
	for _, swap := range []bool{false, true} {
		t.Run(fmt.Sprintf("swapped directives %v", swap), func(t *testing.T) {
			if swap {
				orig := dnsserver.Directives
				swapped := slices.Clone(orig)
				h, c := slices.Index(swapped, "coordhealth"), slices.Index(swapped, "coordcatalog")
				swapped[h], swapped[c] = swapped[c], swapped[h]
				dnsserver.Directives = swapped
				t.Cleanup(func() { dnsserver.Directives = orig })
			}
			f := newCorefile(t)
			start(t, f.input())
			waitFor(t, "node answer", func() bool { return answers(query(t, f.dns, "n1.node.consul.")) })
			waitFor(t, "answer for the defined service", func() bool {
				return answers(query(t, f.dns, "defined.service.consul."))
			})
			resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/v1/status/leader", f.http))
			if err != nil {
				t.Fatalf("HTTP API: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("HTTP API: %s", resp.Status)
			}
		})
	}
}

// A reload keeps the agent and applies DNS settings; one that changes the
// agent's settings fails and the old configuration keeps serving. Final
// shutdown stops the agent.
func TestReload(t *testing.T) {
	f := newCorefile(t)
	inst, err := caddy.Start(f.input())
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "node answer", func() bool { return answers(query(t, f.dns, "n1.node.consul.")) })
	req, _ := http.NewRequest(http.MethodPut, fmt.Sprintf("http://127.0.0.1:%d/v1/kv/survives", f.http), strings.NewReader("reload"))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("KV put: %v %v", resp, err)
	}

	f.extra = "node_ttl 7s"
	inst, err = inst.Restart(f.input())
	if err != nil {
		t.Fatalf("reload: %v", err)
	}
	if r := query(t, f.dns, "n1.node.consul."); !answers(r) || r.Answer[0].Header().Ttl != 7 {
		t.Fatalf("after the reload: %v", r)
	}
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/v1/kv/survives?raw", f.http))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the reload lost the agent's state: %v %v", resp, err)
	}
	resp.Body.Close()

	f.node = "renamed"
	inst, err = inst.Restart(f.input())
	if err == nil || !strings.Contains(err.Error(), "take effect after a restart") {
		t.Fatalf("reload with another node name: %v", err)
	}
	if r := query(t, f.dns, "n1.node.consul."); !answers(r) || r.Answer[0].Header().Ttl != 7 {
		t.Fatalf("the old configuration stopped serving: %v", r)
	}

	shutdown(t, inst)
	if conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", f.http)); err == nil {
		conn.Close()
		t.Fatal("the HTTP API still listens after final shutdown")
	}
}

// An agent that cannot start fails CoreDNS's start with the reason.
func TestStartupErrors(t *testing.T) {
	f := newCorefile(t)
	taken, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", f.http))
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	inst, err := caddy.Start(f.input())
	if err == nil {
		shutdown(t, inst)
		t.Fatal("started with the HTTP port taken")
	}
	if !strings.Contains(err.Error(), "plugin/coordcatalog: ") || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("start error %v", err)
	}

	alone := caddy.CaddyfileInput{
		Contents:       fmt.Appendf(nil, "consul.:%d {\n bind 127.0.0.1\n coordhealth\n}\n", testutil.FreePort(t)),
		ServerTypeName: "dns",
	}
	inst, err = caddy.Start(alone)
	if err == nil {
		shutdown(t, inst)
		t.Fatal("coordhealth started without coordcatalog")
	}
	if !strings.Contains(err.Error(), "plugin/coordhealth: needs a coordcatalog block in the same server block") {
		t.Fatalf("start error %v", err)
	}
}
