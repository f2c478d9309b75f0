package local

import (
	"maps"
	"testing"

	"github.com/coredns-coord/coredns-coord/state"
	"github.com/coredns-coord/coredns-coord/structs"
)

// The sync's writes carry the node's own fields: they leave an existing
// node alone, and a node that was removed comes back whole, not as a bare
// name without an address.
func TestSyncRecreatesTheNodeWhole(t *testing.T) {
	cat := newCatalog(t)
	l := New("n1")
	info := &structs.RegisterRequest{ID: "0b3a9c2e-6a1f-4a40-9b0e-6c4b3d2a1f00", Address: "127.0.0.1", Datacenter: "dc1",
		TaggedAddresses: map[string]string{"lan": "127.0.0.1"}, NodeMeta: map[string]string{"consul-version": "1.16.1"}}
	l.SetNodeInfo(info)

	// An existing node is not touched: its meta stays as the catalog has it.
	if err := cat.st.EnsureRegistration(2, &structs.RegisterRequest{Node: "n1", Address: "127.0.0.1",
		NodeMeta: map[string]string{"set": "elsewhere"}}); err != nil {
		t.Fatal(err)
	}
	cat.idx = 2
	l.AddService(svc("web"), SourceAPI)
	if err := l.SyncChanges(cat); err != nil {
		t.Fatal(err)
	}
	_, n, _ := cat.st.GetNode(nil, "n1")
	if n.Meta["set"] != "elsewhere" || n.ModifyIndex != 2 {
		t.Fatalf("sync changed an existing node: %+v", n)
	}

	// The node is removed (with its services); the next write recreates it.
	cat.idx++
	if err := cat.st.Deregister(cat.idx, &structs.DeregisterRequest{Node: "n1"}); err != nil {
		t.Fatal(err)
	}
	l.AddCheck(check("ttl", "", structs.HealthPassing), nil, SourceAPI)
	if err := l.SyncChanges(cat); err != nil {
		t.Fatal(err)
	}
	_, n, _ = cat.st.GetNode(nil, "n1")
	if n == nil || n.Address != info.Address || n.ID != info.ID || !maps.Equal(n.Meta, info.NodeMeta) ||
		!maps.Equal(n.TaggedAddresses, info.TaggedAddresses) {
		t.Fatalf("recreated node = %+v, want the agent's fields %+v", n, info)
	}
}

// A service that differs only in a field the catalog keeps (tagged
// addresses, socket path, locality, Connect blocks) is a change to sync.
func TestSameServiceSeesEveryKeptField(t *testing.T) {
	base := func() *structs.NodeService {
		return &structs.NodeService{ID: "web", Service: "web", Port: 80,
			TaggedAddresses: map[string]structs.ServiceAddress{"lan": {Address: "10.0.0.1", Port: 80}},
			SocketPath:      "/run/web.sock", Locality: &structs.Locality{Region: "r"},
			Proxy: structs.RawObject(`{"a":1}`), Connect: structs.RawObject(`{"Native":true}`)}
	}
	if !SameService(base(), base()) {
		t.Fatal("identical services differ")
	}
	for name, change := range map[string]func(*structs.NodeService){
		"tagged address": func(s *structs.NodeService) {
			s.TaggedAddresses["lan"] = structs.ServiceAddress{Address: "10.0.0.2", Port: 80}
		},
		"socket path": func(s *structs.NodeService) { s.SocketPath = "" },
		"locality":    func(s *structs.NodeService) { s.Locality = nil },
		"proxy":       func(s *structs.NodeService) { s.Proxy = structs.RawObject(`{"a":2}`) },
		"connect":     func(s *structs.NodeService) { s.Connect = nil },
	} {
		other := base()
		change(other)
		if SameService(base(), other) {
			t.Errorf("a different %s is the same service", name)
		}
	}
	// The catalog's copy of a synced service is the same service.
	st := state.NewStore()
	if err := st.EnsureRegistration(1, &structs.RegisterRequest{Node: "n1", Address: "127.0.0.1", Service: base()}); err != nil {
		t.Fatal(err)
	}
	_, ns, _ := st.NodeServices(nil, "n1")
	if !SameService(base(), ns.Services["web"]) {
		t.Fatalf("catalog copy %+v differs from %+v", ns.Services["web"], base())
	}
}
