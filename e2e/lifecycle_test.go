package e2e

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/hashicorp/consul/api"
	"github.com/miekg/dns"
)

// TestKill9KeepsAcknowledgedWrites: every write the API acknowledged is
// there after kill -9 and a restart on the same data_dir.
func TestKill9KeepsAcknowledgedWrites(t *testing.T) {
	multiProcess(t)
	n := newNode(t)
	n.DataDir = t.TempDir()
	p := start(t, n)
	c := n.client(t)
	registerService(t, c, "pay", 2, "v2")
	for i := 0; i < 50; i++ {
		if _, err := c.KV().Put(&api.KVPair{Key: fmt.Sprintf("cfg/%02d", i), Value: []byte(fmt.Sprint(i)), Flags: uint64(i)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	p.kill()

	busy(t) // a loaded machine replays the log slowly
	start(t, n)
	c = n.client(t)
	pairs, _, err := c.KV().List("cfg/", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(pairs) != 50 {
		t.Fatalf("%d keys after kill -9 and restart, want 50", len(pairs))
	}
	for i, p := range pairs {
		if string(p.Value) != fmt.Sprint(i) || p.Flags != uint64(i) {
			t.Errorf("%s = %q flags %d after restart", p.Key, p.Value, p.Flags)
		}
	}
	if r := query(t, n, "udp", "_pay._v2.service.consul.", dns.TypeSRV); len(r.Answer) != 2 {
		t.Fatalf("pay SRV after restart: %d answers, want 2", len(r.Answer))
	}
	// And the restarted server takes writes.
	if _, err := c.KV().Put(&api.KVPair{Key: "after", Value: []byte("x")}, nil); err != nil {
		t.Fatal(err)
	}
}

// TestReloadKeepsAgent: a Corefile reload (SIGUSR1) re-runs setup; the dev
// agent and its in-memory state must survive it, and DNS options change.
func TestReloadKeepsAgent(t *testing.T) {
	multiProcess(t)
	n := newNode(t)
	p := start(t, n)
	c := n.client(t)
	registerService(t, c, "api", 1)
	if _, err := c.KV().Put(&api.KVPair{Key: "survives", Value: []byte("reload")}, nil); err != nil {
		t.Fatal(err)
	}

	n.ServiceTTL = "7s"
	if err := os.WriteFile(p.conf, n.corefile(t), 0o600); err != nil {
		t.Fatal(err)
	}
	p.cmd.Process.Signal(syscall.SIGUSR1)
	waitFor(t, "service_ttl 7s after reload", func() bool {
		r, err := exchange(n, "udp", "api.service.consul.", dns.TypeA)
		return err == nil && len(r.Answer) == 1 && r.Answer[0].Header().Ttl == 7
	})
	pair, _, err := c.KV().Get("survives", nil)
	if err != nil || pair == nil || string(pair.Value) != "reload" {
		t.Fatalf("KV after reload: %v, %v", pair, err)
	}

	// A reload that changes what a running agent cannot change is refused
	// and the old configuration keeps serving.
	n.Name = "renamed"
	os.WriteFile(p.conf, n.corefile(t), 0o600)
	p.cmd.Process.Signal(syscall.SIGUSR1)
	waitFor(t, "the refused reload to be logged", func() bool {
		return strings.Contains(p.out.String(), "take effect after a restart")
	})
	if r := query(t, n, "udp", "e2e.node.consul.", dns.TypeA); len(r.Answer) != 1 {
		t.Fatalf("old configuration stopped serving after a refused reload: %v", r)
	}
}

func TestMetrics(t *testing.T) {
	multiProcess(t)
	n := newNode(t)
	start(t, n)
	c := n.client(t)
	registerService(t, c, "m", 3)
	c.KV().Put(&api.KVPair{Key: "k", Value: []byte("v")}, nil)
	query(t, n, "udp", "m.service.consul.", dns.TypeA)
	query(t, n, "udp", "nosuch.service.consul.", dns.TypeA)

	body := n.scrape(t)
	for _, want := range []string{
		`coredns_coordcatalog_responses_total{rcode="NOERROR",server="dns://127.0.0.1:` + fmt.Sprint(n.DNS) + `",type="A"}`,
		`coredns_coordcatalog_responses_total{rcode="NXDOMAIN",server="dns://127.0.0.1:` + fmt.Sprint(n.DNS) + `",type="A"}`,
		`coredns_coord_catalog_service_instances{node="e2e"} 4`, // 3 of m, and consul,
		`coredns_coord_catalog_nodes{node="e2e"} 4`,
		`coredns_coord_catalog_kv_keys{node="e2e"} 1`,
		`coredns_coord_raft_applies_total{result="ok",type="kv"} 1`,
		`coredns_coord_raft_apply_duration_seconds_count{type="register"}`,
		`coredns_coord_raft_fsm_apply_duration_seconds_count{type="kv"} 1`,
		`coredns_coord_http_requests_total{`,
		`coredns_coord_http_request_duration_seconds_bucket{`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
