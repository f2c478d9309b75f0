package httpapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
)

// The autopilot configuration through the official client: the first
// leader wrote the Corefile's, a set replaces it, a check-and-set only
// wins at the current index, and bad input writes nothing.
func TestOperatorAutopilotConfiguration(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	op := s.client.Operator()
	var conf *api.AutopilotConfiguration
	waitUntil(t, "the first leader's configuration", func() bool {
		c, err := op.AutopilotGetConfiguration(nil)
		conf = c
		return err == nil && c.ModifyIndex > 0
	})
	if conf.CleanupDeadServers != s.agent.Config().CleanupDeadServers || conf.LastContactThreshold.Duration() != 2*time.Second || conf.MaxTrailingLogs != 250 {
		t.Fatalf("initial configuration: %+v", conf)
	}

	if ok, err := op.AutopilotCASConfiguration(&api.AutopilotConfiguration{MinQuorum: 3, ModifyIndex: conf.ModifyIndex - 1}, nil); err != nil || ok {
		t.Fatalf("CAS at a stale index: %v, %v", ok, err)
	}
	if ok, err := op.AutopilotCASConfiguration(&api.AutopilotConfiguration{
		MinQuorum: 3, MaxTrailingLogs: 100, LastContactThreshold: api.NewReadableDuration(time.Second), ModifyIndex: conf.ModifyIndex,
	}, nil); err != nil || !ok {
		t.Fatalf("CAS at the current index: %v, %v", ok, err)
	}
	got, err := op.AutopilotGetConfiguration(nil)
	if err != nil || got.MinQuorum != 3 || got.MaxTrailingLogs != 100 || got.LastContactThreshold.Duration() != time.Second ||
		got.CleanupDeadServers || got.CreateIndex != conf.CreateIndex || got.ModifyIndex <= conf.ModifyIndex {
		t.Fatalf("after CAS: %+v, %v", got, err)
	}
	if err := op.AutopilotSetConfiguration(&api.AutopilotConfiguration{CleanupDeadServers: true}, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := op.AutopilotGetConfiguration(nil); !got.CleanupDeadServers || got.MinQuorum != 0 {
		t.Fatalf("after set: %+v", got)
	}

	before, _ := op.AutopilotGetConfiguration(nil)
	s.expect(t, "PUT", "/v1/operator/autopilot/configuration", `{"CleanupDeadServers": "yes"}`, http.StatusBadRequest, "decode")
	s.expect(t, "PUT", "/v1/operator/autopilot/configuration?cas=x", `{}`, http.StatusBadRequest, "")
	s.expect(t, "PUT", "/v1/operator/autopilot/configuration", `{"LastContactThreshold": "-1s"}`, http.StatusBadRequest, "negative")
	if after, _ := op.AutopilotGetConfiguration(nil); after.ModifyIndex != before.ModifyIndex {
		t.Fatalf("bad input changed the configuration: %+v", after)
	}
}

// autopilot/state keys the one server by its ID, as leader and voter.
func TestOperatorAutopilotState(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	var st *api.AutopilotState
	waitUntil(t, "a healthy autopilot state", func() bool {
		var err error
		st, err = s.client.Operator().AutopilotState(nil)
		return err == nil && st.Healthy
	})
	id := s.agent.NodeID()
	srv, ok := st.Servers[id]
	if !ok || srv.Name != "node1" || srv.Status != api.AutopilotServerLeader || srv.NodeType != api.AutopilotTypeVoter ||
		st.Leader != id || len(st.Voters) != 1 || st.Voters[0] != id || srv.LastContact == nil {
		t.Fatalf("state: %+v", st)
	}
}

// operator/usage counts services, instances, Connect kinds and billable
// instances as Consul does.
func TestOperatorUsage(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.registerNode(t, "n1", "10.0.0.1", nil, &api.AgentService{ID: "web1", Service: "web", Port: 80}, "")
	s.registerNode(t, "n1", "10.0.0.1", nil, &api.AgentService{ID: "web2", Service: "web", Port: 81}, "")
	s.registerNode(t, "n2", "10.0.0.2", nil, &api.AgentService{ID: "p", Service: "web-proxy", Kind: api.ServiceKindConnectProxy, Port: 90,
		Proxy: &api.AgentServiceConnectProxyConfig{DestinationServiceName: "web"}}, "")
	s.registerNode(t, "n2", "10.0.0.2", nil, &api.AgentService{ID: "nat", Service: "native", Port: 91, Connect: &api.AgentServiceConnect{Native: true}}, "")
	u, meta, err := s.client.Operator().Usage(nil)
	if err != nil {
		t.Fatal(err)
	}
	dc := u.Usage["dc1"]
	// consul, web, web-proxy, native; node1 runs consul.
	if dc.Nodes != 3 || dc.Services != 4 || dc.ServiceInstances != 5 || dc.BillableServiceInstances != 3 ||
		dc.ConnectServiceInstances["connect-proxy"] != 1 || dc.ConnectServiceInstances["connect-native"] != 1 ||
		dc.ConnectServiceInstances["mesh-gateway"] != 0 || meta.LastIndex == 0 {
		t.Fatalf("usage: %+v, index %d", dc, meta.LastIndex)
	}
}

// A lone server has nobody to hand leadership to: the transfer fails
// and it keeps leading.
func TestOperatorTransferLeaderAlone(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	if _, err := s.client.Operator().RaftLeaderTransfer("", nil); err == nil {
		t.Fatal("a lone server transferred leadership")
	}
	if _, err := s.client.Operator().RaftLeaderTransfer("no-such-id", nil); err == nil {
		t.Fatal("a transfer to an unknown server succeeded")
	}
	if l, err := s.client.Status().Leader(); err != nil || l == "" {
		t.Fatalf("leader after the failed transfers: %q, %v", l, err)
	}
}

// Profiles exist only with enable_debug, at Consul's path and under /v1.
func TestDebugPprof(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/heap", "/v1/debug/pprof/goroutine"} {
		s.expect(t, "GET", path, "", http.StatusNotFound, "")
	}
	s.agent.SetDebugEndpoints(true)
	s.expect(t, "GET", "/debug/pprof/", "", http.StatusOK, "goroutine")
	s.expect(t, "GET", "/v1/debug/pprof/goroutine?debug=1", "", http.StatusOK, "goroutine profile")
	if raw, err := s.client.Debug().Heap(); err != nil || len(raw) == 0 {
		t.Fatalf("the official client's Debug().Heap: %d bytes, %v", len(raw), err)
	}
	s.agent.SetDebugEndpoints(false)
	s.expect(t, "GET", "/debug/pprof/heap", "", http.StatusNotFound, "")
}

// agent/self's Stats are what `consul info` prints.
func TestAgentSelfStats(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	self, err := s.client.Agent().Self()
	if err != nil {
		t.Fatal(err)
	}
	stats, _ := self["Stats"]
	raft, _ := stats["raft"].(map[string]any)
	consul, _ := stats["consul"].(map[string]any)
	if raft["state"] != "Leader" || consul["server"] != "true" || consul["leader"] != "true" {
		t.Fatalf("stats: %v", stats)
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
