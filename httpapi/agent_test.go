package httpapi_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/consul/api"
)

func TestAgentEndpoints(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	ag := s.client.Agent()

	t.Run("self", func(t *testing.T) {
		self, err := ag.Self()
		if err != nil {
			t.Fatal(err)
		}
		cfg, member := self["Config"], self["Member"]
		if cfg["NodeName"] != "node1" || cfg["Datacenter"] != "dc1" || cfg["Server"] != true ||
			cfg["NodeID"] != s.agent.NodeID() || cfg["Version"] == "" {
			t.Fatalf("Config = %v", cfg)
		}
		if member["Name"] != "node1" || member["Addr"] != "127.0.0.1" || member["Status"] != float64(1) {
			t.Fatalf("Member = %v", member)
		}
		name, err := ag.NodeName()
		if err != nil || name != "node1" {
			t.Fatalf("NodeName() = %q, %v", name, err)
		}
	})

	t.Run("register", func(t *testing.T) {
		if err := ag.ServiceRegister(&api.AgentServiceRegistration{
			Name: "redis", Port: 6379, Tags: []string{"cache"}, Meta: map[string]string{"v": "7"},
		}); err != nil {
			t.Fatal(err)
		}
		if err := ag.ServiceRegister(&api.AgentServiceRegistration{
			ID: "redis-2", Name: "redis", Port: 6380, Address: "10.0.0.9",
			Weights: &api.AgentWeights{Passing: 3, Warning: 1},
		}); err != nil {
			t.Fatal(err)
		}
		svcs, err := ag.Services()
		if err != nil {
			t.Fatal(err)
		}
		r1, r2 := svcs["redis"], svcs["redis-2"]
		if r1 == nil || r1.ID != "redis" || r1.Service != "redis" || r1.Port != 6379 ||
			!slices.Equal(r1.Tags, []string{"cache"}) || r1.Meta["v"] != "7" ||
			r1.Weights != (api.AgentWeights{Passing: 1, Warning: 1}) || r1.Datacenter != "dc1" {
			t.Fatalf("redis = %+v", r1)
		}
		if r2 == nil || r2.Address != "10.0.0.9" || r2.Weights.Passing != 3 || r2.Tags == nil {
			t.Fatalf("redis-2 = %+v", r2)
		}
		// The registration is a catalog entry on the agent's node.
		inst, _, err := s.client.Catalog().Service("redis", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(inst) != 2 || inst[0].Node != "node1" || inst[1].Node != "node1" {
			t.Fatalf("catalog redis = %+v", inst)
		}
		filtered, err := ag.ServicesWithFilter(`Port == 6380`)
		if err != nil {
			t.Fatal(err)
		}
		if len(filtered) != 1 || filtered["redis-2"] == nil {
			t.Fatalf("services filtered on port = %v", filtered)
		}
	})

	t.Run("register with checks", func(t *testing.T) {
		err := ag.ServiceRegister(&api.AgentServiceRegistration{
			Name: "checked", Port: 1,
			Checks: api.AgentServiceChecks{{TTL: "10s", CheckID: "checked-ttl"}, {TTL: "10s", Status: api.HealthPassing}},
		})
		if err != nil {
			t.Fatal(err)
		}
		err = ag.ServiceRegister(&api.AgentServiceRegistration{
			Name: "bad", Port: 1,
			Checks: api.AgentServiceChecks{{TTL: "10s"}, {HTTP: "ftp://x", Interval: "1s"}},
		})
		if !isStatus(err, 400) || !strings.Contains(err.Error(), "http://") {
			t.Fatalf("register with a bad check: %v, want 400", err)
		}
		svcs, err := ag.Services()
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := svcs["bad"]; ok {
			t.Fatal("refused registration was applied")
		}
		entries, _, err := s.client.Health().Service("checked", "", false, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 || len(entries[0].Checks) != 3 {
			t.Fatalf("health of checked = %+v", entries)
		}
	})

	t.Run("register needs a name", func(t *testing.T) {
		err := ag.ServiceRegister(&api.AgentServiceRegistration{ID: "anon", Port: 1})
		if !isStatus(err, 400) || !strings.Contains(err.Error(), "Missing service name") {
			t.Fatalf("register without name: %v", err)
		}
	})

	t.Run("checks", func(t *testing.T) {
		checks, err := ag.Checks()
		if err != nil {
			t.Fatal(err)
		}
		// Local checks only: serfHealth belongs to the cluster, not the
		// agent, as in Consul.
		ttl, second := checks["checked-ttl"], checks["service:checked:2"]
		if len(checks) != 2 || ttl == nil || second == nil || ttl.Status != api.HealthCritical ||
			second.Status != api.HealthPassing || ttl.ServiceID != "checked" || ttl.Type != "ttl" || ttl.Node != "node1" {
			t.Fatalf("checks = %v", checks)
		}
		critical, err := ag.ChecksWithFilter(`Status == "critical"`)
		if err != nil {
			t.Fatal(err)
		}
		if len(critical) != 1 || critical["checked-ttl"] == nil {
			t.Fatalf("critical checks = %v", critical)
		}
	})

	t.Run("deregister", func(t *testing.T) {
		if err := ag.ServiceDeregister("redis"); err != nil {
			t.Fatal(err)
		}
		svcs, err := ag.Services()
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := svcs["redis"]; ok || svcs["redis-2"] == nil {
			t.Fatalf("services after deregister = %v", svcs)
		}
		err = ag.ServiceDeregister("redis")
		if !isStatus(err, 404) || !strings.Contains(err.Error(), "Unknown service ID") {
			t.Fatalf("deregister unknown: %v, want 404", err)
		}
	})
}

func TestStatus(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	leader, err := s.client.Status().Leader()
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.agent.Config()
	if leader != cfg.RaftAddr() {
		t.Fatalf("leader = %q, want %q", leader, cfg.RaftAddr())
	}
	peers, err := s.client.Status().Peers()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(peers, []string{cfg.RaftAddr()}) {
		t.Fatalf("peers = %v", peers)
	}
}
