package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/coredns-coord/coredns-coord/agent"
	"github.com/coredns-coord/coredns-coord/internal/testutil"
)

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not reached within %s; last: %s", what, d, state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestAgentTTLCheck(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	ag := s.client.Agent()
	if err := ag.ServiceRegister(&api.AgentServiceRegistration{
		Name: "web", Port: 80,
		Check: &api.AgentServiceCheck{CheckID: "web-ttl", TTL: "30s"},
	}); err != nil {
		t.Fatal(err)
	}
	// Registered checks start critical (Consul's default) and the write
	// lands before the call returns.
	if st, _ := testutil.CheckStatus(t, s.client, "web", "web-ttl"); st != api.HealthCritical {
		t.Fatalf("initial status %q, want critical", st)
	}
	passing := func() int {
		e, _, err := s.client.Health().Service("web", "", true, nil)
		if err != nil {
			t.Fatal(err)
		}
		return len(e)
	}
	if n := passing(); n != 0 {
		t.Fatalf("passing instances = %d before the first report", n)
	}

	for _, c := range []struct {
		update func() error
		status string
		output string
	}{
		{func() error { return ag.PassTTL("web-ttl", "all good") }, api.HealthPassing, "all good"},
		{func() error { return ag.WarnTTL("web-ttl", "slow") }, api.HealthWarning, "slow"},
		{func() error { return ag.FailTTL("web-ttl", "down") }, api.HealthCritical, "down"},
		{func() error { return ag.UpdateTTL("web-ttl", "back", api.HealthPassing) }, api.HealthPassing, "back"},
	} {
		if err := c.update(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 2*time.Second, "catalog "+c.status, func() (bool, string) {
			st, out := testutil.CheckStatus(t, s.client, "web", "web-ttl")
			return st == c.status && out == c.output, st + " " + out
		})
		local, err := ag.Checks()
		if err != nil {
			t.Fatal(err)
		}
		if lc := local["web-ttl"]; lc == nil || lc.Status != c.status || lc.Output != c.output {
			t.Fatalf("agent/checks web-ttl = %+v, want %s %q", lc, c.status, c.output)
		}
	}
	if n := passing(); n != 1 {
		t.Fatalf("passing instances = %d after pass, want 1", n)
	}

	// Bad updates are refused and change nothing.
	s.expect(t, "PUT", "/v1/agent/check/update/web-ttl", `{"Status":"fine"}`, 400, "Invalid check status")
	s.expect(t, "PUT", "/v1/agent/check/pass/nosuch", "", 404, `Unknown check ID "nosuch"`)
	if st, _ := testutil.CheckStatus(t, s.client, "web", "web-ttl"); st != api.HealthPassing {
		t.Fatalf("status after refused update = %s", st)
	}
}

func TestAgentCheckRegisterDeregister(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	ag := s.client.Agent()
	var code atomic.Int32
	code.Store(200)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(int(code.Load()))
		w.Write([]byte("hello from target"))
	}))
	t.Cleanup(target.Close)

	if err := ag.ServiceRegister(&api.AgentServiceRegistration{ID: "api-1", Name: "api", Port: 8080}); err != nil {
		t.Fatal(err)
	}
	if err := ag.CheckRegister(&api.AgentCheckRegistration{
		ID: "api-http", Name: "api over http", ServiceID: "api",
		AgentServiceCheck: api.AgentServiceCheck{HTTP: target.URL + "/health", Interval: "1s", Timeout: "500ms"},
	}); err == nil {
		t.Fatal("check on an unknown service ID (api is the name) was accepted")
	} else if !isStatus(err, 404) {
		t.Fatalf("check on unknown service: %v, want 404", err)
	}
	if err := ag.CheckRegister(&api.AgentCheckRegistration{
		ID: "api-http", Name: "api over http", ServiceID: "api-1",
		AgentServiceCheck: api.AgentServiceCheck{HTTP: target.URL + "/health", Interval: "1s", Timeout: "500ms"},
	}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "http check passing", func() (bool, string) {
		st, out := testutil.CheckStatus(t, s.client, "api", "api-http")
		return st == api.HealthPassing && strings.Contains(out, "hello from target"), st + " " + out
	})
	code.Store(429)
	waitFor(t, 5*time.Second, "http check warning on 429", func() (bool, string) {
		st, out := testutil.CheckStatus(t, s.client, "api", "api-http")
		return st == api.HealthWarning, st + " " + out
	})

	if err := ag.CheckDeregister("api-http"); err != nil {
		t.Fatal(err)
	}
	if st, _ := testutil.CheckStatus(t, s.client, "api", "api-http"); st != "absent" {
		t.Fatalf("deregistered check still in the catalog: %s", st)
	}
	s.expect(t, "PUT", "/v1/agent/check/deregister/api-http", "", 404, "Unknown check ID")

	// Bad definitions: 400 with the reason, nothing applied.
	s.expect(t, "PUT", "/v1/agent/check/register", `{"ID":"x"}`, 400, "Missing check name")
	s.expect(t, "PUT", "/v1/agent/check/register", `{"Name":"x","TCP":"nohostport","Interval":"1s"}`, 400, "host:port")
	s.expect(t, "PUT", "/v1/agent/check/register", `{"Name":"x","TTL":"5s","Interval":"1s"}`, 400, "cannot both")
	s.expect(t, "PUT", "/v1/agent/check/register", `{"Name":"x","HTTP":"http://127.0.0.1:1/","Interval":"soon"}`, 400, "invalid duration")
	s.expect(t, "PUT", "/v1/agent/check/register", `{"Name":"_node_maintenance","ID":"_node_maintenance","TTL":"5s"}`, 400, "reserved")
	if checks, err := ag.Checks(); err != nil || len(checks) != 0 {
		t.Fatalf("checks after refused registrations = %v, %v", checks, err)
	}
}

// An interval under a second and a timeout over the interval are clamped,
// as in Consul: the check runs, it does not fail to register.
func TestAgentCheckClamped(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	ln := testutil.TCPTarget(t)
	if err := s.client.Agent().CheckRegister(&api.AgentCheckRegistration{
		Name:              "tcp fast",
		AgentServiceCheck: api.AgentServiceCheck{TCP: ln.Addr().String(), Interval: "100ms", Timeout: "1m"},
	}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "tcp check passing", func() (bool, string) {
		hc := s.client.Health()
		checks, _, err := hc.Node("node1", nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range checks {
			if c.CheckID == "tcp fast" {
				return c.Status == api.HealthPassing, c.Status + " " + c.Output
			}
		}
		return false, "absent"
	})
}

func TestAgentMaintenance(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	ag := s.client.Agent()
	if err := ag.ServiceRegister(&api.AgentServiceRegistration{Name: "db", Port: 5432}); err != nil {
		t.Fatal(err)
	}
	passing := func(service string) int {
		e, _, err := s.client.Health().Service(service, "", true, nil)
		if err != nil {
			t.Fatal(err)
		}
		return len(e)
	}
	if passing("db") != 1 {
		t.Fatal("db not passing before maintenance")
	}

	if err := ag.EnableServiceMaintenance("db", "upgrading"); err != nil {
		t.Fatal(err)
	}
	checks, err := ag.Checks()
	if err != nil {
		t.Fatal(err)
	}
	mc := checks["_service_maintenance:db"]
	if mc == nil || mc.Status != api.HealthCritical || mc.Notes != "upgrading" || mc.ServiceID != "db" {
		t.Fatalf("service maintenance check = %+v", mc)
	}
	if passing("db") != 0 {
		t.Fatal("db still passing in maintenance")
	}
	if err := ag.DisableServiceMaintenance("db"); err != nil {
		t.Fatal(err)
	}
	if passing("db") != 1 {
		t.Fatal("db not passing after maintenance")
	}

	if err := ag.EnableNodeMaintenance(""); err != nil {
		t.Fatal(err)
	}
	checks, _ = ag.Checks()
	if nm := checks["_node_maintenance"]; nm == nil || !strings.Contains(nm.Notes, "no reason was provided") {
		t.Fatalf("node maintenance check = %+v", nm)
	}
	if passing("db") != 0 {
		t.Fatal("db passing while its node is in maintenance")
	}
	if err := ag.DisableNodeMaintenance(); err != nil {
		t.Fatal(err)
	}
	if passing("db") != 1 {
		t.Fatal("db not passing after node maintenance")
	}

	s.expect(t, "PUT", "/v1/agent/maintenance", "", 400, "Missing value for enable")
	s.expect(t, "PUT", "/v1/agent/maintenance?enable=maybe", "", 400, "Invalid value for enable")
	s.expect(t, "PUT", "/v1/agent/service/maintenance/nosuch?enable=true", "", 404, "Unknown service ID")
}

func TestAgentServiceReplaceChecks(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	ag := s.client.Agent()
	reg := &api.AgentServiceRegistration{
		Name: "cache", Port: 11211,
		Checks: api.AgentServiceChecks{
			{CheckID: "a", TTL: "30s"},
			{CheckID: "b", TTL: "30s"},
		},
	}
	if err := ag.ServiceRegister(reg); err != nil {
		t.Fatal(err)
	}
	if err := ag.PassTTL("a", "ok"); err != nil {
		t.Fatal(err)
	}
	// Re-registering the same definition keeps what the checks learned.
	reg.Checks = reg.Checks[:1]
	if err := ag.ServiceRegister(reg); err != nil {
		t.Fatal(err)
	}
	checks, _ := ag.Checks()
	if checks["a"] == nil || checks["a"].Status != api.HealthPassing || checks["b"] == nil {
		t.Fatalf("checks after plain re-register = %v", checks)
	}
	if err := ag.ServiceRegisterOpts(reg, api.ServiceRegisterOpts{ReplaceExistingChecks: true}); err != nil {
		t.Fatal(err)
	}
	checks, _ = ag.Checks()
	if checks["a"] == nil || checks["a"].Status != api.HealthPassing || checks["b"] != nil {
		t.Fatalf("checks after replace-existing-checks = %v", checks)
	}
	if st, _ := testutil.CheckStatus(t, s.client, "cache", "b"); st != "absent" {
		t.Fatalf("replaced check b in the catalog: %s", st)
	}
}

// deregister_critical_service_after removes the service once its check has
// been critical that long, and not while the check passes.
func TestDeregisterCriticalServiceAfter(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	ag := s.client.Agent()
	for _, name := range []string{"doomed", "healthy"} {
		if err := ag.ServiceRegister(&api.AgentServiceRegistration{
			Name: name, Port: 1,
			Check: &api.AgentServiceCheck{CheckID: name + "-ttl", TTL: "1h", DeregisterCriticalServiceAfter: "1s"},
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := ag.PassTTL("healthy-ttl", ""); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	waitFor(t, 5*time.Second, "doomed removed", func() (bool, string) {
		svcs, err := ag.Services()
		if err != nil {
			t.Fatal(err)
		}
		_, ok := svcs["doomed"]
		return !ok, "still registered"
	})
	if d := time.Since(start); d < 500*time.Millisecond {
		t.Fatalf("removed after %s, before the 1s deadline", d)
	}
	// The agent drops the service first and then writes the catalog.
	waitFor(t, 5*time.Second, "doomed's check out of the catalog", func() (bool, string) {
		st, _ := testutil.CheckStatus(t, s.client, "doomed", "doomed-ttl")
		return st == "absent", "still " + st
	})
	svcs, err := ag.Services()
	if err != nil || svcs["healthy"] == nil {
		t.Fatalf("healthy service removed: %v, %v", svcs, err)
	}
}

// A Docker check (TestAPI_AgentChecks_Docker's registration) is refused
// while script checks are off, as in Consul, and listed with type docker
// once they are on. No engine listens here, so it turns critical saying
// so.
func TestAgentDockerCheck(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "docker.sock")
	t.Setenv("DOCKER_HOST", "unix://"+sock)
	s := startServer(t)
	ag := s.client.Agent()
	if err := ag.ServiceRegister(&api.AgentServiceRegistration{Name: "redis"}); err != nil {
		t.Fatal(err)
	}
	reg := &api.AgentCheckRegistration{
		Name: "redischeck", ServiceID: "redis",
		AgentServiceCheck: api.AgentServiceCheck{DockerContainerID: "f972c95ebf0e", Args: []string{"/bin/true"}, Shell: "/bin/bash", Interval: "1s"},
	}
	if err := ag.CheckRegister(reg); !isStatus(err, 400) || !strings.Contains(err.Error(), "Docker checks are disabled") || !strings.Contains(err.Error(), "enable_script_checks") {
		t.Fatalf("Docker check with scripts off: %v, want 400 naming enable_script_checks", err)
	}
	if checks, err := ag.Checks(); err != nil || len(checks) != 0 {
		t.Fatalf("checks after a refused registration = %v, %v", checks, err)
	}
	s.expect(t, "PUT", "/v1/agent/check/register", `{"Name":"x","DockerContainerID":"c","Interval":"1s"}`, 400, "docker_container_id needs args")

	s.agent.ConfigureHealth(agent.HealthConfig{EnableScripts: true})
	if err := ag.CheckRegister(reg); err != nil {
		t.Fatal(err)
	}
	checks, err := ag.Checks()
	if err != nil {
		t.Fatal(err)
	}
	if c := checks["redischeck"]; c == nil || c.Type != "docker" || c.ServiceID != "redis" {
		t.Fatalf("agent/checks redischeck = %+v, want type docker on redis", c)
	}
	waitFor(t, 5*time.Second, "docker check critical", func() (bool, string) {
		st, out := testutil.CheckStatus(t, s.client, "redis", "redischeck")
		return st == api.HealthCritical && strings.Contains(out, "cannot reach the Docker engine at unix://"+sock), st + " " + out
	})
}
