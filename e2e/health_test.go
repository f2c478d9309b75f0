package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/miekg/dns"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/coredns-coord/coredns-coord/internal/testutil"
)

// flipHTTP is an HTTP target whose status code the test sets.
type flipHTTP struct {
	*httptest.Server
	code atomic.Int32
}

func startFlipHTTP(t testing.TB) *flipHTTP {
	f := &flipHTTP{}
	f.code.Store(200)
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code := int(f.code.Load())
		w.WriteHeader(code)
		fmt.Fprintf(w, "target says %d", code)
	}))
	t.Cleanup(f.Close)
	return f
}

// instances counts the A records DNS gives for a service.
func instances(t testing.TB, n *node, service string) int {
	t.Helper()
	r, err := exchange(n, "udp", service+".service.consul.", dns.TypeA)
	if err != nil {
		t.Fatalf("query %s: %v", service, err)
	}
	return len(r.Answer)
}

// expectHealth waits until the check has status (and output containing
// want) in the catalog and DNS answers with inDNS instances of service.
func expectHealth(t *testing.T, n *node, c *api.Client, service, checkID, status, want string, inDNS int) {
	t.Helper()
	deadline := time.Now().Add(8 * time.Second)
	for {
		st, out := testutil.CheckStatus(t, c, service, checkID)
		got := instances(t, n, service)
		if st == status && strings.Contains(out, want) && got == inDNS {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: status %q output %q, %d in DNS; want %q containing %q, %d in DNS",
				checkID, st, out, got, status, want, inDNS)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func TestHealthChecksDriveDNS(t *testing.T) {
	multiProcess(t)
	web := startFlipHTTP(t)
	tcp := testutil.TCPTarget(t)
	grpcAddr, grpcHealth, _ := testutil.GRPCHealthTarget(t)
	grpcHealth.SetServingStatus("pay", healthpb.HealthCheckResponse_SERVING)
	dir := t.TempDir()
	codeFile := filepath.Join(dir, "code")
	os.WriteFile(codeFile, []byte("0"), 0o600)
	script := filepath.Join(dir, "check.sh")
	os.WriteFile(script, []byte("#!/bin/sh\ncode=$(cat "+codeFile+")\necho \"script exits $code\"\nexit $code\n"), 0o700)

	n := newNode(t)
	n.Health = "enable_script_checks"
	start(t, n)
	c := n.client(t)
	register := func(name string, check *api.AgentServiceCheck) {
		t.Helper()
		check.CheckID = name + "-check"
		if err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{
			Name: name, Port: 80, Address: "127.0.0.10", Check: check,
		}); err != nil {
			t.Fatalf("register %s: %v", name, err)
		}
	}
	register("web", &api.AgentServiceCheck{HTTP: web.URL + "/health", Interval: "1s", Timeout: "1s"})
	register("tcp", &api.AgentServiceCheck{TCP: tcp.Addr().String(), Interval: "1s", Timeout: "1s"})
	register("pay", &api.AgentServiceCheck{GRPC: grpcAddr + "/pay", Interval: "1s", Timeout: "1s"})
	register("job", &api.AgentServiceCheck{Args: []string{script}, Interval: "1s", Timeout: "1s"})
	register("ttl", &api.AgentServiceCheck{TTL: "2s"})
	register("mirror", &api.AgentServiceCheck{AliasService: "web"})

	t.Run("http", func(t *testing.T) {
		expectHealth(t, n, c, "web", "web-check", api.HealthPassing, "target says 200", 1)
		expectHealth(t, n, c, "mirror", "mirror-check", api.HealthPassing, "", 1)
		web.code.Store(429)
		expectHealth(t, n, c, "web", "web-check", api.HealthWarning, "target says 429", 1)
		web.code.Store(500)
		expectHealth(t, n, c, "web", "web-check", api.HealthCritical, "target says 500", 0)
		// The alias follows the service it mirrors.
		expectHealth(t, n, c, "mirror", "mirror-check", api.HealthCritical, "", 0)
		web.code.Store(200)
		expectHealth(t, n, c, "web", "web-check", api.HealthPassing, "target says 200", 1)
		expectHealth(t, n, c, "mirror", "mirror-check", api.HealthPassing, "", 1)
	})
	t.Run("tcp", func(t *testing.T) {
		expectHealth(t, n, c, "tcp", "tcp-check", api.HealthPassing, "Success", 1)
		tcp.Close()
		expectHealth(t, n, c, "tcp", "tcp-check", api.HealthCritical, "refused", 0)
	})
	t.Run("grpc", func(t *testing.T) {
		expectHealth(t, n, c, "pay", "pay-check", api.HealthPassing, "success", 1)
		grpcHealth.SetServingStatus("pay", healthpb.HealthCheckResponse_NOT_SERVING)
		expectHealth(t, n, c, "pay", "pay-check", api.HealthCritical, "NOT_SERVING", 0)
	})
	t.Run("script", func(t *testing.T) {
		expectHealth(t, n, c, "job", "job-check", api.HealthPassing, "script exits 0", 1)
		os.WriteFile(codeFile, []byte("1"), 0o600)
		expectHealth(t, n, c, "job", "job-check", api.HealthWarning, "script exits 1", 1)
		os.WriteFile(codeFile, []byte("2"), 0o600)
		expectHealth(t, n, c, "job", "job-check", api.HealthCritical, "script exits 2", 0)
	})
	t.Run("ttl", func(t *testing.T) {
		if err := c.Agent().PassTTL("ttl-check", "reported in"); err != nil {
			t.Fatal(err)
		}
		expectHealth(t, n, c, "ttl", "ttl-check", api.HealthPassing, "reported in", 1)
		// No report within the TTL: critical, and out of DNS.
		expectHealth(t, n, c, "ttl", "ttl-check", api.HealthCritical, "TTL expired", 0)
	})
	t.Run("metrics", func(t *testing.T) {
		m := n.scrape(t)
		for _, want := range []string{
			`coredns_coordhealth_checks{node="e2e",status="critical",type="tcp"} 1`,
			`coredns_coordhealth_checks{node="e2e",status="passing",type="http"} 1`,
			`coredns_coordhealth_status_transitions_total{from="warning",to="critical",type="http"} 1`,
			`coredns_coordhealth_status_transitions_total{from="passing",to="critical",type="ttl"} 1`,
			`coredns_coordhealth_check_duration_seconds_count{type="grpc"}`,
		} {
			if !strings.Contains(m, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
	})
}

// Script checks run commands: without enable_script_checks they are
// refused over the API, and enable_local_script_checks allows them only
// from definition files.
func TestScriptChecksOffByDefault(t *testing.T) {
	multiProcess(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "job.json"), []byte(`{"service": {"name": "job", "port": 1,
		"check": {"id": "job-check", "args": ["/bin/true"], "interval": "1s"}}}`), 0o600)
	n := newNode(t)
	n.Health = "config_dir " + dir + "\n        enable_local_script_checks"
	start(t, n)
	c := n.client(t)
	err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{
		Name: "remote", Port: 1,
		Check: &api.AgentServiceCheck{Args: []string{"/bin/true"}, Interval: "1s"},
	})
	if err == nil || !strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), "enable_script_checks") {
		t.Fatalf("script check over the API: %v, want 400 naming enable_script_checks", err)
	}
	expectHealth(t, n, c, "job", "job-check", api.HealthPassing, "", 1)
}

// writeDef writes one definition file.
func writeDef(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func servicePort(t *testing.T, c *api.Client, name string) int {
	t.Helper()
	inst, _, err := c.Catalog().Service(name, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(inst) != 1 {
		return -len(inst)
	}
	return inst[0].ServicePort
}

func TestDefinitionReload(t *testing.T) {
	multiProcess(t)
	dir := t.TempDir()
	writeDef(t, dir, "web.json", `{"service": {"name": "web", "port": 80, "check": {"id": "web-ttl", "ttl": "1h"}}}`)
	writeDef(t, dir, "db.hcl", `service {
  name = "db"
  port = 5432
  check {
    id  = "db-ttl"
    ttl = "1h"
  }
}`)
	writeDef(t, dir, "keep.json", `{"service": {"name": "keep", "port": 1, "check": {"id": "keep-ttl", "ttl": "1h"}}}`)
	n := newNode(t)
	n.Health = "config_dir " + dir
	p := start(t, n)
	c := n.client(t)
	waitFor(t, "definitions loaded", func() bool {
		return servicePort(t, c, "web") == 80 && servicePort(t, c, "db") == 5432 && servicePort(t, c, "keep") == 1
	})
	// The unchanged service's check learns something that a reload must
	// not reset.
	if err := c.Agent().PassTTL("keep-ttl", "learned"); err != nil {
		t.Fatal(err)
	}

	// Add, change, remove; SIGHUP re-reads the directory.
	writeDef(t, dir, "cache.json", `{"services": [{"name": "cache", "port": 11211}]}`)
	writeDef(t, dir, "db.hcl", `service {
  name = "db"
  port = 6432
  check {
    id  = "db-ttl"
    ttl = "1h"
  }
}`)
	os.Remove(filepath.Join(dir, "web.json"))
	p.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "add, change and remove after SIGHUP", func() bool {
		return servicePort(t, c, "cache") == 11211 && servicePort(t, c, "db") == 6432 && servicePort(t, c, "web") == 0
	})
	if st, out := testutil.CheckStatus(t, c, "keep", "keep-ttl"); st != api.HealthPassing || out != "learned" {
		t.Fatalf("unchanged service's check after reload: %s %q, want passing \"learned\"", st, out)
	}

	// A broken file is reported with its name and field; the others still
	// load, and nothing file-defined is removed while a file is broken.
	writeDef(t, dir, "broken.json", `{"service": {"name": "broken", "prot": 1}}`)
	writeDef(t, dir, "queue.json", `{"service": {"name": "queue", "port": 5672}}`)
	os.Remove(filepath.Join(dir, "cache.json"))
	p.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "queue loaded next to a broken file", func() bool { return servicePort(t, c, "queue") == 5672 })
	waitFor(t, "the broken file reported", func() bool {
		out := p.out.String()
		return strings.Contains(out, "broken.json") && strings.Contains(out, "prot")
	})
	if servicePort(t, c, "cache") != 11211 {
		t.Fatal("cache removed while another file was broken")
	}

	// A Corefile reload re-reads the directory too.
	writeDef(t, dir, "broken.json", `{"service": {"name": "fixed", "port": 2}}`)
	p.cmd.Process.Signal(syscall.SIGUSR1)
	waitFor(t, "fixed file loaded and cache removed after a Corefile reload", func() bool {
		return servicePort(t, c, "fixed") == 2 && servicePort(t, c, "cache") == 0
	})
	if st, _ := testutil.CheckStatus(t, c, "keep", "keep-ttl"); st != api.HealthPassing {
		t.Fatalf("keep-ttl after Corefile reload: %s", st)
	}
	// agent/reload does the same over HTTP.
	os.Remove(filepath.Join(dir, "broken.json"))
	if err := c.Agent().Reload(); err != nil {
		t.Fatal(err)
	}
	if servicePort(t, c, "fixed") != 0 {
		t.Fatal("fixed still registered after agent/reload")
	}
}

// metricSum adds up every sample of a metric family in a scrape.
func metricSum(scrape, name string) float64 {
	var sum float64
	for _, line := range splitLines(scrape) {
		if !strings.HasPrefix(line, name) || (len(line) > len(name) && line[len(name)] != '{' && line[len(name)] != ' ') {
			continue
		}
		var v float64
		fields := strings.Fields(line)
		fmt.Sscan(fields[len(fields)-1], &v)
		sum += v
	}
	return sum
}

func TestSteadyChecksWriteNothing(t *testing.T) {
	multiProcess(t)
	tcp := testutil.TCPTarget(t)
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString(`{"services": [`)
	for i := range 1000 {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"name": "svc%d", "port": %d, "check": {"tcp": %q, "interval": "1s"}}`, i, 1000+i, tcp.Addr().String())
	}
	b.WriteString(`]}`)
	writeDef(t, dir, "many.json", b.String())
	n := newNode(t)
	n.Health = "config_dir " + dir
	start(t, n)
	c := n.client(t)
	waitFor(t, "1000 checks passing", func() bool {
		checks, _, err := c.Health().State(api.HealthPassing, nil)
		return err == nil && len(checks) >= 1000+1 // + serfHealth
	})
	before := n.scrape(t)
	time.Sleep(3500 * time.Millisecond) // three intervals and a half
	after := n.scrape(t)
	if runs := metricSum(after, "coredns_coordhealth_check_duration_seconds_count") - metricSum(before, "coredns_coordhealth_check_duration_seconds_count"); runs < 2000 {
		t.Fatalf("only %.0f check runs in 3.5 s, want at least 2000", runs)
	}
	for _, m := range []string{"coredns_coordhealth_catalog_sync_writes_total", "coredns_coord_raft_applies_total"} {
		if d := metricSum(after, m) - metricSum(before, m); d != 0 {
			t.Fatalf("%s grew by %.0f while 1000 checks held steady", m, d)
		}
	}
}

// A service the agent no longer defines is removed from the catalog when
// the agent comes back; API registrations survive the restart.
func TestRestartReconciles(t *testing.T) {
	multiProcess(t)
	dir := t.TempDir()
	writeDef(t, dir, "web.json", `{"service": {"name": "web", "port": 80}}`)
	n := newNode(t)
	n.DataDir = t.TempDir()
	n.Health = "config_dir " + dir
	p := start(t, n)
	c := n.client(t)
	if err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{
		Name: "api", Port: 8080, Check: &api.AgentServiceCheck{CheckID: "api-ttl", TTL: "1h", Status: api.HealthPassing},
	}); err != nil {
		t.Fatal(err)
	}
	if err := c.Agent().EnableNodeMaintenance("patching"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "web loaded", func() bool { return servicePort(t, c, "web") == 80 })
	p.kill()

	os.Remove(filepath.Join(dir, "web.json"))
	start(t, n)
	waitFor(t, "web removed after the restart", func() bool { return servicePort(t, c, "web") == 0 })
	if servicePort(t, c, "api") != 8080 {
		t.Fatal("API-registered service lost in the restart")
	}
	checks, err := c.Agent().Checks()
	if err != nil {
		t.Fatal(err)
	}
	if checks["api-ttl"] == nil || checks["_node_maintenance"] == nil || checks["_node_maintenance"].Notes != "patching" {
		t.Fatalf("checks after restart = %v", checks)
	}
}
