package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/coredns-coord/coredns-coord/agent"
	"github.com/coredns-coord/coredns-coord/httpapi"
	"github.com/coredns-coord/coredns-coord/internal/testagent"
)

// runArgs runs a command line as main does, with -http-addr for the test
// agent after the first n words (the agent may be nil: no address).
func (ta *testAgent) runArgs(t *testing.T, n int, args ...string) result {
	t.Helper()
	full := args
	if ta != nil {
		full = append(append(append([]string{}, args[:n]...), "-http-addr", ta.addr), args[n:]...)
	}
	var out, errb bytes.Buffer
	handled, code := Run(full, &out, &errb)
	return result{handled, code, out.String(), errb.String()}
}

// svc runs "services SUB ARGS...".
func (ta *testAgent) svc(t *testing.T, sub string, args ...string) result {
	t.Helper()
	return ta.runArgs(t, 2, append([]string{"services", sub}, args...)...)
}

func writeDef(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestServicesMaintReloadUsageErrors(t *testing.T) {
	var ta *testAgent // no agent: none of these may reach one
	dir := t.TempDir()
	good := writeDef(t, dir, "web.json", `{"service": {"name": "web"}}`)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"services"}, exitUsage, "Usage: coredns-coord services"},
		{[]string{"services", "frobnicate"}, exitUsage, "Unknown services subcommand"},
		{[]string{"services", "register"}, exitUsage, "needs FILE arguments or -name"},
		{[]string{"services", "register", "-id", "x"}, exitUsage, "needs FILE arguments or -name"},
		{[]string{"services", "register", "-name", "web", good}, exitUsage, "not both"},
		{[]string{"services", "register", "-tag", "a", good}, exitUsage, "not both"},
		{[]string{"services", "register", "-name", "web", "-port", "70000"}, exitUsage, "-port 70000 is out of range"},
		{[]string{"services", "register", "-name", "web", "-meta", "novalue"}, exitUsage, `want key=value, got "novalue"`},
		{[]string{"services", "register", "-name", "web", "-port", "x"}, exitUsage, "invalid value"},
		{[]string{"services", "deregister"}, exitUsage, "needs FILE arguments or -id"},
		{[]string{"services", "deregister", "-id", "web", good}, exitUsage, "not both"},
		{[]string{"services", "register", "-h"}, exitOK, "Usage: coredns-coord services register"},
		{[]string{"services", "deregister", "-h"}, exitOK, "Usage: coredns-coord services deregister"},
		{[]string{"maint", "-enable", "-disable"}, exitUsage, "Only one of -enable or -disable"},
		{[]string{"maint", "-reason", "x"}, exitUsage, "-reason may only be given with -enable"},
		{[]string{"maint", "-disable", "-reason", "x"}, exitUsage, "-reason may only be given with -enable"},
		{[]string{"maint", "-service", "web"}, exitUsage, "-service needs -enable or -disable"},
		{[]string{"maint", "-enable", "-service", ""}, exitUsage, "-service needs a service ID"},
		{[]string{"maint", "now"}, exitUsage, "Too many arguments"},
		{[]string{"maint", "-h"}, exitOK, "Usage: coredns-coord maint"},
		{[]string{"reload", "now"}, exitUsage, "Too many arguments"},
		{[]string{"reload", "-h"}, exitOK, "Usage: coredns-coord reload"},
	} {
		r := ta.runArgs(t, 0, tc.args...)
		if !r.handled || r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%q: handled %v, code %d, stderr %q; want code %d and %q", tc.args, r.handled, r.code, r.stderr, tc.code, tc.want)
		}
	}
	// help goes to stdout.
	if r := ta.runArgs(t, 0, "services", "help"); r.code != exitOK || !strings.Contains(r.stdout, "register") {
		t.Errorf("services help: %+v", r)
	}
}

// Bad files are refused before the agent is contacted (there is none here),
// naming the file and the field.
func TestServicesRegisterBadFiles(t *testing.T) {
	var ta *testAgent
	dir := t.TempDir()
	good := writeDef(t, dir, "good.json", `{"service": {"name": "web"}}`)
	bad := writeDef(t, dir, "bad.hcl", `service { name = "db" check { tcp = "localhost:5432" interval = "10q" } }`)
	checksOnly := writeDef(t, dir, "checks.json", `{"check": {"name": "mem", "ttl": "1m"}}`)
	empty := writeDef(t, dir, "empty.hcl", ``)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"register", good, bad}, bad + `: service.check.interval: invalid duration "10q"`},
		{[]string{"deregister", good, bad}, bad + `: service.check.interval: invalid duration "10q"`},
		{[]string{"register", checksOnly}, checksOnly + ": declares checks but no service"},
		{[]string{"register", empty}, empty + ": declares no service"},
		{[]string{"register", filepath.Join(dir, "missing.json")}, filepath.Join(dir, "missing.json") + ": cannot open"},
		{[]string{"register", filepath.Join(dir, "web.yaml")}, `unknown format ".yaml"`},
	} {
		args := append([]string{"services", tc.args[0], "-http-addr", "127.0.0.1:1"}, tc.args[1:]...)
		r := ta.runArgs(t, 0, args...)
		if r.code != exitFail || !strings.Contains(r.stderr, tc.want) || r.stdout != "" {
			t.Errorf("%q: code %d, stdout %q, stderr %q; want 1 and %q", tc.args, r.code, r.stdout, r.stderr, tc.want)
		}
	}
}

func TestServicesUnreachableAgent(t *testing.T) {
	var ta *testAgent
	for _, args := range [][]string{
		{"services", "register", "-http-addr", "127.0.0.1:1", "-name", "web"},
		{"services", "deregister", "-http-addr", "127.0.0.1:1", "-id", "web"},
		{"maint", "-http-addr", "127.0.0.1:1"},
		{"maint", "-http-addr", "127.0.0.1:1", "-enable"},
		{"reload", "-http-addr", "127.0.0.1:1"},
	} {
		r := ta.runArgs(t, 0, args...)
		if r.code != exitFail || !strings.Contains(r.stderr, "127.0.0.1:1") {
			t.Errorf("%q: code %d, stderr %q; want 1 and the address", args, r.code, r.stderr)
		}
	}
}

func TestServicesRegisterDeregisterFlags(t *testing.T) {
	t.Parallel()
	ta := startAgent(t)
	r := ta.svc(t, "register", "-name", "web", "-id", "web-1", "-address", "10.0.0.7", "-port", "8080",
		"-tag", "v1", "-tag", "primary", "-meta", "version=1.2", "-meta", "expr=a=b")
	expectCode(t, r, exitOK)
	if r.stdout != "Registered service: web\n" {
		t.Fatalf("output %q", r.stdout)
	}
	svcs, err := ta.client.Agent().Services()
	if err != nil {
		t.Fatal(err)
	}
	s := svcs["web-1"]
	if s == nil {
		t.Fatalf("web-1 not registered: %v", svcs)
	}
	if s.Service != "web" || s.Address != "10.0.0.7" || s.Port != 8080 ||
		!reflect.DeepEqual(s.Tags, []string{"v1", "primary"}) ||
		!reflect.DeepEqual(s.Meta, map[string]string{"version": "1.2", "expr": "a=b"}) {
		t.Fatalf("registered %+v", s)
	}

	// Without -id the ID is the name.
	expectCode(t, ta.svc(t, "register", "-name", "db"), exitOK)
	if svcs, _ = ta.client.Agent().Services(); svcs["db"] == nil {
		t.Fatalf("db not registered: %v", svcs)
	}

	r = ta.svc(t, "deregister", "-id", "web-1")
	expectCode(t, r, exitOK)
	if r.stdout != "Deregistered service: web-1\n" {
		t.Fatalf("output %q", r.stdout)
	}
	if svcs, _ = ta.client.Agent().Services(); svcs["web-1"] != nil || svcs["db"] == nil {
		t.Fatalf("after deregister: %v", svcs)
	}
}

func TestServicesRegisterDeregisterFiles(t *testing.T) {
	t.Parallel()
	ta := startAgent(t)
	dir := t.TempDir()
	jsonFile := writeDef(t, dir, "web.json", `{"services": [
  {"id": "web-1", "name": "web", "port": 80, "tags": ["a"], "meta": {"Owner": "team-x"}},
  {"id": "web-2", "name": "web", "port": 81, "weights": {"passing": 3, "warning": 1}}
]}`)
	hclFile := writeDef(t, dir, "db.hcl", `
service {
  name                = "db"
  port                = 5432
  enable_tag_override = true
}`)
	r := ta.svc(t, "register", jsonFile, hclFile)
	expectCode(t, r, exitOK)
	if want := "Registered service: web\nRegistered service: web\nRegistered service: db\n"; r.stdout != want {
		t.Fatalf("output %q, want %q", r.stdout, want)
	}
	svcs, err := ta.client.Agent().Services()
	if err != nil {
		t.Fatal(err)
	}
	ids := slices.Sorted(func(yield func(string) bool) {
		for id := range svcs {
			if !yield(id) {
				return
			}
		}
	})
	if !reflect.DeepEqual(ids, []string{"db", "web-1", "web-2"}) {
		t.Fatalf("services %v", ids)
	}
	if s := svcs["web-1"]; s.Port != 80 || s.Meta["Owner"] != "team-x" {
		t.Errorf("web-1: %+v", s)
	}
	if s := svcs["web-2"]; s.Weights.Passing != 3 {
		t.Errorf("web-2 weights: %+v", s.Weights)
	}
	if s := svcs["db"]; !s.EnableTagOverride || s.Port != 5432 {
		t.Errorf("db: %+v", s)
	}

	r = ta.svc(t, "deregister", jsonFile, hclFile)
	expectCode(t, r, exitOK)
	if want := "Deregistered service: web-1\nDeregistered service: web-2\nDeregistered service: db\n"; r.stdout != want {
		t.Fatalf("output %q, want %q", r.stdout, want)
	}
	if svcs, _ = ta.client.Agent().Services(); len(svcs) != 0 {
		t.Fatalf("left: %v", svcs)
	}

	// Standalone checks beside a service are reported and not registered.
	mixed := writeDef(t, dir, "mixed.json", `{"service": {"name": "cache"}, "check": {"name": "mem", "ttl": "1m"}}`)
	r = ta.svc(t, "register", mixed)
	expectCode(t, r, exitOK)
	if !strings.Contains(r.stderr, "1 standalone check(s) ignored") {
		t.Errorf("no warning: %q", r.stderr)
	}
	if checks, _ := ta.client.Agent().Checks(); checks["mem"] != nil {
		t.Errorf("standalone check registered: %+v", checks["mem"])
	}
}

// Needs agent/service/register with checks.
func TestServicesRegisterWithChecks(t *testing.T) {
	t.Parallel()
	ta := startAgent(t)
	dir := t.TempDir()
	file := writeDef(t, dir, "api.hcl", `
service {
  id   = "api-1"
  name = "api"
  port = 9090
  check {
    id    = "api-ttl"
    name  = "API heartbeat"
    ttl   = "30s"
    notes = "pushed by the app"
  }
  checks = [
    { id = "api-ttl-2", name = "second", ttl = "1m", status = "passing" },
  ]
}`)
	r := ta.svc(t, "register", file)
	expectCode(t, r, exitOK)
	checks, err := ta.client.Agent().Checks()
	if err != nil {
		t.Fatal(err)
	}
	c1, c2 := checks["api-ttl"], checks["api-ttl-2"]
	if c1 == nil || c2 == nil {
		t.Fatalf("checks %v", checks)
	}
	if c1.ServiceID != "api-1" || c1.Name != "API heartbeat" || c1.Notes != "pushed by the app" {
		t.Errorf("api-ttl: %+v", c1)
	}
	if c2.ServiceID != "api-1" || c2.Status != "passing" {
		t.Errorf("api-ttl-2: %+v", c2)
	}

	// Deregistering the service takes its checks.
	expectCode(t, ta.svc(t, "deregister", file), exitOK)
	waitFor(t, 5*time.Second, "checks to go", func() bool {
		checks, err := ta.client.Agent().Checks()
		return err == nil && checks["api-ttl"] == nil && checks["api-ttl-2"] == nil
	})
}

// Needs agent/maintenance and agent/service/maintenance/:id.
func TestMaint(t *testing.T) {
	t.Parallel()
	ta := startAgent(t)
	expectCode(t, ta.svc(t, "register", "-name", "web", "-id", "web-1"), exitOK)
	expectCode(t, ta.svc(t, "register", "-name", "db"), exitOK)

	r := ta.cli(t, "maint")
	expectCode(t, r, exitOK)
	if r.stdout != "" {
		t.Fatalf("nothing in maintenance, got %q", r.stdout)
	}

	r = ta.cli(t, "maint", "-enable", "-reason", "kernel upgrade")
	expectCode(t, r, exitOK)
	if r.stdout != "Node maintenance is now enabled\n" {
		t.Fatalf("output %q", r.stdout)
	}
	r = ta.cli(t, "maint", "-enable", "-service", "web-1", "-reason", "draining")
	expectCode(t, r, exitOK)
	if r.stdout != "Service maintenance is now enabled for \"web-1\"\n" {
		t.Fatalf("output %q", r.stdout)
	}
	expectCode(t, ta.cli(t, "maint", "-enable", "-service", "db", "-reason", "backup"), exitOK)

	checks, err := ta.client.Agent().Checks()
	if err != nil {
		t.Fatal(err)
	}
	if c := checks["_node_maintenance"]; c == nil || c.Status != "critical" || c.Notes != "kernel upgrade" {
		t.Fatalf("node maintenance check: %+v", c)
	}
	if c := checks["_service_maintenance:web-1"]; c == nil || c.ServiceID != "web-1" || c.Notes != "draining" {
		t.Fatalf("service maintenance check: %+v", c)
	}

	r = ta.cli(t, "maint")
	expectCode(t, r, exitOK)
	want := `Node:
  Name:   cli-test
  Reason: kernel upgrade

Service:
  ID:     db
  Reason: backup

Service:
  ID:     web-1
  Reason: draining

`
	if r.stdout != want {
		t.Fatalf("listing\n%s\nwant\n%s", r.stdout, want)
	}

	r = ta.cli(t, "maint", "-disable", "-service", "web-1")
	expectCode(t, r, exitOK)
	if r.stdout != "Service maintenance is now disabled for \"web-1\"\n" {
		t.Fatalf("output %q", r.stdout)
	}
	r = ta.cli(t, "maint", "-disable")
	expectCode(t, r, exitOK)
	if r.stdout != "Node maintenance is now disabled\n" {
		t.Fatalf("output %q", r.stdout)
	}
	r = ta.cli(t, "maint")
	if want := "Service:\n  ID:     db\n  Reason: backup\n\n"; r.stdout != want {
		t.Fatalf("listing %q, want %q", r.stdout, want)
	}

	// A service the agent does not have.
	r = ta.cli(t, "maint", "-enable", "-service", "nope")
	if r.code != exitFail || !strings.Contains(r.stderr, `"nope"`) {
		t.Fatalf("unknown service: code %d stderr %q", r.code, r.stderr)
	}
}

// Needs agent/reload.
func TestReload(t *testing.T) {
	t.Parallel()
	ta := startAgent(t)
	r := ta.cli(t, "reload")
	expectCode(t, r, exitOK)
	if r.stdout != "Configuration reload triggered\n" {
		t.Fatalf("output %q", r.stdout)
	}
}

// Needs agent/reload and the agent reading definition dirs
// (agent.HealthConfig.ConfigDirs, set by the coordhealth Corefile block).
func TestReloadLoadsDefinitionFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a := testagent.Start(t, testagent.DevConfig(t, "cli-test", "127.0.0.1:0"), httpapi.New)
	a.ConfigureHealth(agent.HealthConfig{ConfigDirs: []string{dir}})
	cfg := api.DefaultConfig()
	cfg.Address, cfg.Token, cfg.TokenFile = a.HTTPAddr().String(), "", ""
	client, err := api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cfg.Transport.CloseIdleConnections)
	ta := &testAgent{addr: cfg.Address, client: client}

	writeDef(t, dir, "web.json", `{"service": {"id": "web-1", "name": "web", "port": 80, "check": {"id": "web-ttl", "ttl": "1m"}}}`)
	writeDef(t, dir, "db.hcl", `service { name = "db" port = 5432 }`)
	r := ta.cli(t, "reload")
	expectCode(t, r, exitOK)
	if r.stdout != "Configuration reload triggered\n" {
		t.Fatalf("output %q", r.stdout)
	}
	waitFor(t, 5*time.Second, "web-1, db and web-ttl", func() bool {
		svcs, err1 := client.Agent().Services()
		checks, err2 := client.Agent().Checks()
		return err1 == nil && err2 == nil && svcs["web-1"] != nil && svcs["db"] != nil && checks["web-ttl"] != nil
	})

	// A broken file: the agent reports it, naming the file and the field.
	bad := writeDef(t, dir, "bad.json", `{"service": {"name": "x", "prot": 1}}`)
	r = ta.cli(t, "reload")
	if r.code != exitFail || !strings.Contains(r.stderr, bad+": service.prot: unknown field") {
		t.Fatalf("broken file: code %d, stderr %q", r.code, r.stderr)
	}
}
