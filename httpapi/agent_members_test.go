package httpapi_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/consul/api"
)

// agent/self's DebugConfig carries the addresses in use, as Consul's: the
// gossip address it names can be joined.
func TestAgentSelfDebugConfig(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	self, err := s.client.Agent().Self()
	if err != nil {
		t.Fatal(err)
	}
	dc := self["DebugConfig"]
	port := int(s.agent.LocalMember().Port)
	wantSerf := "tcp://127.0.0.1:" + strconv.Itoa(port)
	if dc["SerfAdvertiseAddrLAN"] != wantSerf || dc["SerfBindAddrLAN"] != wantSerf || dc["SerfPortLAN"] != float64(port) {
		t.Fatalf("serf addresses in %v, want %s", dc, wantSerf)
	}
	if dc["NodeName"] != "node1" || dc["ServerMode"] != true || dc["Datacenter"] != "dc1" ||
		dc["RPCAdvertiseAddr"] != "tcp://127.0.0.1:"+strconv.Itoa(s.agent.Config().ServerPort) {
		t.Fatalf("DebugConfig %v", dc)
	}
	if https, _ := dc["HTTPAddrs"].([]any); len(https) != 1 || https[0] != "tcp://"+s.agent.HTTPAddr().String() {
		t.Fatalf("HTTPAddrs %v", dc["HTTPAddrs"])
	}
	addr, _ := strings.CutPrefix(wantSerf, "tcp://")
	if err := s.client.Agent().Join(addr, false); err != nil {
		t.Fatalf("join %s: %v", addr, err)
	}
}

// agent/members takes ?filter and ?segment (the default one or all);
// ?wan stays refused.
func TestAgentMembersOptions(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	ag := s.client.Agent()
	members := func(opts api.MembersOpts) []*api.AgentMember {
		t.Helper()
		m, err := ag.MembersOpts(opts)
		if err != nil {
			t.Fatalf("members %+v: %v", opts, err)
		}
		return m
	}
	if m := members(api.MembersOpts{}); len(m) != 1 || m[0].Name != "node1" {
		t.Fatalf("members %v", m)
	}
	if m := members(api.MembersOpts{Segment: api.AllSegments}); len(m) != 1 {
		t.Fatalf("members of all segments %v", m)
	}
	if m := members(api.MembersOpts{Filter: `Tags["dc"] == "dc1" and Name == "node1"`}); len(m) != 1 {
		t.Fatalf("filtered members %v", m)
	}
	if m := members(api.MembersOpts{Filter: `Tags["dc"] == "dc9"`}); len(m) != 0 {
		t.Fatalf("members of dc9 %v", m)
	}
	s.expect(t, "GET", "/v1/agent/members?filter="+`Tags["dc"]%20==%20not-valid`, "", 400, "Failed to create filter")
	s.expect(t, "GET", "/v1/agent/members?filter=Nope==1", "", 400, "Failed to apply filter")
	s.expect(t, "GET", "/v1/agent/members?segment=alpha", "", 400, "Network segments are not supported")
	s.expect(t, "GET", "/v1/agent/members?wan=1", "", 400, "no WAN pool")
}

// Force-leave of the agent's own node is accepted, as Consul's (the node
// refutes it), with or without ?prune; it stays alive.
func TestAgentForceLeaveSelf(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	ag := s.client.Agent()
	if err := ag.ForceLeave("node1"); err != nil {
		t.Fatal(err)
	}
	if err := ag.ForceLeavePrune("node1"); err != nil {
		t.Fatal(err)
	}
	if err := ag.ForceLeaveOptions("node1", api.ForceLeaveOpts{Prune: true}, &api.QueryOptions{Token: "t"}); err != nil {
		t.Fatal(err)
	}
	m, err := ag.Members(false)
	if err != nil || len(m) != 1 || m[0].Status != 1 {
		t.Fatalf("after force-leave of itself: %v, %v", m, err)
	}
	if err := ag.ForceLeave("nobody"); !isStatus(err, 404) {
		t.Fatalf("force-leave of an unknown node: %v, want 404", err)
	}
}
