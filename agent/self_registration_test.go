package agent

import (
	"maps"
	"testing"
	"time"

	"github.com/coredns-coord/coredns-coord/internal/testutil"
	"github.com/coredns-coord/coredns-coord/structs"
)

// The agent's own node carries the configured meta plus the keys a Consul
// agent sets, and the four tagged addresses; the configuration is not
// changed by it.
func TestSelfRegistrationMeta(t *testing.T) {
	t.Parallel()
	cfgMeta := map[string]string{"rack": "r1"}
	a, err := Start(Config{
		Dev: true, Server: true, BootstrapExpect: 1, NodeName: "self", Datacenter: "dc1",
		BindAddr: "127.0.0.1", ServerPort: testutil.FreePort(t), NodeMeta: cfgMeta,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Stop() })
	a.StartSync()
	waitUntil(t, 20*time.Second, "the agent to be ready", a.Ready)

	_, n, err := a.State().GetNode(nil, "self")
	if err != nil || n == nil {
		t.Fatalf("own node = %+v, %v", n, err)
	}
	want := map[string]string{"rack": "r1", MetaSegmentKey: "", MetaConsulVersionKey: ConsulVersion}
	if !maps.Equal(n.Meta, want) {
		t.Fatalf("meta = %v, want %v", n.Meta, want)
	}
	wantAddrs := map[string]string{"lan": "127.0.0.1", "lan_ipv4": "127.0.0.1", "wan": "127.0.0.1", "wan_ipv4": "127.0.0.1"}
	if !maps.Equal(n.TaggedAddresses, wantAddrs) {
		t.Fatalf("tagged addresses = %v, want %v", n.TaggedAddresses, wantAddrs)
	}
	if len(cfgMeta) != 1 || len(a.Config().NodeMeta) != 1 {
		t.Fatalf("the configured meta was changed: %v", a.Config().NodeMeta)
	}
}

// A failed member's serfHealth update carries the node's fields (so that
// a node removed meanwhile would come back with its address, not bare)
// but leaves an existing node as it is.
func TestMemberFailedKeepsNodeWhole(t *testing.T) {
	t.Parallel()
	a := startTestServer(t, "leader1")
	m := a.LocalMember()
	m.Name = "gone"
	if err := a.Register(&structs.RegisterRequest{Node: "gone", Address: m.Addr.String(),
		NodeMeta: map[string]string{"k": "v"}}); err != nil {
		t.Fatal(err)
	}
	if err := a.memberFailed(m); err != nil {
		t.Fatal(err)
	}
	_, n, _ := a.State().GetNode(nil, "gone")
	if n == nil || n.Meta["k"] != "v" {
		t.Fatalf("failed member's node = %+v, want it unchanged", n)
	}
	if hc := a.serfCheck("gone"); hc == nil || hc.Status != structs.HealthCritical {
		t.Fatalf("serfHealth = %+v, want critical", hc)
	}
}

// The leader's write for an alive member never overwrites what the agent
// registered itself: a node it read as missing may be there by the time
// the write applies (the agent registering its own), and a node at a new
// address keeps its meta.
func TestAliveRegistrationKeepsTheAgentsNode(t *testing.T) {
	t.Parallel()
	a := startTestServer(t, "leader2")
	m := a.LocalMember()
	m.Name = "member"
	own := &structs.RegisterRequest{Node: "member", Address: m.Addr.String(),
		NodeMeta: map[string]string{MetaConsulVersionKey: ConsulVersion, "rack": "r1"}}

	// Read as missing, registered by the agent before the leader's write.
	req := a.aliveRegistration(m, nil)
	if err := a.Register(own); err != nil {
		t.Fatal(err)
	}
	if err := a.Register(req); err != nil {
		t.Fatal(err)
	}
	_, n, _ := a.State().GetNode(nil, "member")
	if n == nil || !maps.Equal(n.Meta, own.NodeMeta) {
		t.Fatalf("node after the leader's write = %+v, want the agent's meta %v", n, own.NodeMeta)
	}

	// Still missing when the write applies: the write creates it.
	m.Name = "fresh"
	if err := a.Register(a.aliveRegistration(m, nil)); err != nil {
		t.Fatal(err)
	}
	if _, n, _ := a.State().GetNode(nil, "fresh"); n == nil || n.Address != m.Addr.String() {
		t.Fatalf("missing member's node = %+v", n)
	}

	// A new address replaces the old one and keeps the meta.
	m.Name = "member"
	moved := *n
	moved.Address = "10.9.9.9"
	if err := a.Register(a.aliveRegistration(m, &moved)); err != nil {
		t.Fatal(err)
	}
	_, n, _ = a.State().GetNode(nil, "member")
	if n.Address != m.Addr.String() || !maps.Equal(n.Meta, own.NodeMeta) {
		t.Fatalf("node after an address change = %+v", n)
	}
}
