package server

import (
	"maps"
	"testing"

	"github.com/coredns-coord/coredns-coord/structs"
)

// A failed member's serfHealth update carries the node's fields (so that
// a node removed meanwhile would come back with its address, not bare)
// but leaves an existing node as it is.
func TestMemberFailedKeepsNodeWhole(t *testing.T) {
	a, pool := startServer(t, "leader1")
	m := pool.LocalMember()
	m.Name = "gone"
	if err := a.register(&structs.RegisterRequest{Node: "gone", Address: m.Addr.String(),
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
	a, pool := startServer(t, "leader2")
	m := pool.LocalMember()
	m.Name = "member"
	own := &structs.RegisterRequest{Node: "member", Address: m.Addr.String(),
		NodeMeta: map[string]string{"consul-version": "1.16.1", "rack": "r1"}}

	// Read as missing, registered by the agent before the leader's write.
	req := a.aliveRegistration(m, nil)
	if err := a.register(own); err != nil {
		t.Fatal(err)
	}
	if err := a.register(req); err != nil {
		t.Fatal(err)
	}
	_, n, _ := a.State().GetNode(nil, "member")
	if n == nil || !maps.Equal(n.Meta, own.NodeMeta) {
		t.Fatalf("node after the leader's write = %+v, want the agent's meta %v", n, own.NodeMeta)
	}

	// Still missing when the write applies: the write creates it.
	m.Name = "fresh"
	if err := a.register(a.aliveRegistration(m, nil)); err != nil {
		t.Fatal(err)
	}
	if _, n, _ := a.State().GetNode(nil, "fresh"); n == nil || n.Address != m.Addr.String() {
		t.Fatalf("missing member's node = %+v", n)
	}

	// A new address replaces the old one and keeps the meta.
	m.Name = "member"
	moved := *n
	moved.Address = "10.9.9.9"
	if err := a.register(a.aliveRegistration(m, &moved)); err != nil {
		t.Fatal(err)
	}
	_, n, _ = a.State().GetNode(nil, "member")
	if n.Address != m.Addr.String() || !maps.Equal(n.Meta, own.NodeMeta) {
		t.Fatalf("node after an address change = %+v", n)
	}
}
