package state

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/coredns-coord/coredns-coord/structs"
)

func register(t *testing.T, s *Store, idx uint64, req *structs.RegisterRequest) {
	t.Helper()
	if err := s.EnsureRegistration(idx, req); err != nil {
		t.Fatalf("register at %d: %v", idx, err)
	}
}

func TestRegistrationIndexes(t *testing.T) {
	s := NewStore()
	req := &structs.RegisterRequest{Node: "n1", Address: "10.0.0.1",
		Service: &structs.NodeService{Service: "web", Port: 80, Tags: []string{"a"}},
		Check:   &structs.HealthCheck{Name: "web alive", ServiceID: "web", Status: structs.HealthPassing}}
	register(t, s, 5, req)

	_, n, _ := s.GetNode(nil, "N1")
	if n == nil || n.CreateIndex != 5 || n.ModifyIndex != 5 {
		t.Fatalf("node after first registration: %+v", n)
	}
	// The same registration again changes nothing, so nothing moves.
	register(t, s, 6, req)
	if idx := s.MaxIndex(TableNodes, TableServices, TableChecks); idx != 5 {
		t.Fatalf("identical re-registration moved the index to %d", idx)
	}
	if s.CatalogIndex() != 5 {
		t.Fatalf("catalog index %d, want 5", s.CatalogIndex())
	}
	// A changed port bumps the service only.
	req.Service.Port = 81
	register(t, s, 7, req)
	_, svcs, _ := s.ServiceNodes(nil, "web", nil)
	if len(svcs) != 1 || svcs[0].ServicePort != 81 || svcs[0].CreateIndex != 5 || svcs[0].ModifyIndex != 7 {
		t.Fatalf("service after change: %+v", svcs)
	}
	_, n, _ = s.GetNode(nil, "n1")
	if n.ModifyIndex != 5 {
		t.Fatalf("node ModifyIndex moved to %d on a service change", n.ModifyIndex)
	}
	_, checks, _ := s.ServiceChecks(nil, "web")
	if len(checks) != 1 || checks[0].CheckID != "web alive" || checks[0].ServiceName != "web" {
		t.Fatalf("service checks: %+v", checks)
	}
}

func TestRegistrationErrors(t *testing.T) {
	s := NewStore()
	cases := map[string]struct {
		req  *structs.RegisterRequest
		want error
	}{
		"no node":         {&structs.RegisterRequest{Address: "1.2.3.4"}, ErrMissingNode},
		"no address":      {&structs.RegisterRequest{Node: "n"}, ErrMissingAddress},
		"no service name": {&structs.RegisterRequest{Node: "n", Address: "1.2.3.4", Service: &structs.NodeService{ID: "x"}}, ErrMissingService},
		"bad status":      {&structs.RegisterRequest{Node: "n", Address: "1.2.3.4", Check: &structs.HealthCheck{CheckID: "c", Status: "sick"}}, ErrBadCheckStatus},
		"unknown service": {&structs.RegisterRequest{Node: "n", Address: "1.2.3.4", Check: &structs.HealthCheck{CheckID: "c", ServiceID: "nope"}}, ErrUnknownService},
		"skip-update, check on a service that is not there": {&structs.RegisterRequest{Node: "ghost", SkipNodeUpdate: true,
			Check: &structs.HealthCheck{CheckID: "c", ServiceID: "nope"}}, ErrUnknownService},
	}
	for name, tc := range cases {
		if err := s.EnsureRegistration(1, tc.req); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", name, err, tc.want)
		}
	}
	// A failed registration leaves nothing behind, not even the node.
	if _, nodes, _ := s.Nodes(nil); len(nodes) != 0 {
		t.Fatalf("failed registrations left %d nodes", len(nodes))
	}
}

func TestDeregister(t *testing.T) {
	s := NewStore()
	register(t, s, 1, &structs.RegisterRequest{Node: "n1", Address: "10.0.0.1",
		Service: &structs.NodeService{ID: "web1", Service: "web"},
		Checks: structs.HealthChecks{
			{CheckID: "node-ok", Status: structs.HealthPassing},
			{CheckID: "web-ok", ServiceID: "web1", Status: structs.HealthPassing},
		}})
	register(t, s, 2, &structs.RegisterRequest{Node: "n1", Address: "10.0.0.1",
		Service: &structs.NodeService{ID: "db1", Service: "db"}})

	if err := s.Deregister(3, &structs.DeregisterRequest{Node: "n1", ServiceID: "web1"}); err != nil {
		t.Fatal(err)
	}
	_, checks, _ := s.NodeChecks(nil, "n1")
	if len(checks) != 1 || checks[0].CheckID != "node-ok" {
		t.Fatalf("service deregistration must take its checks and only them: %+v", checks)
	}
	if err := s.Deregister(4, &structs.DeregisterRequest{Node: "n1"}); err != nil {
		t.Fatal(err)
	}
	_, all, _ := s.AllServiceNodes(nil)
	_, checks, _ = s.ChecksInState(nil, structs.HealthAny)
	if len(all) != 0 || len(checks) != 0 {
		t.Fatalf("node deregistration left %d services, %d checks", len(all), len(checks))
	}
}

func TestCheckServiceNodesHealth(t *testing.T) {
	s := NewStore()
	register(t, s, 1, &structs.RegisterRequest{Node: "n1", Address: "10.0.0.1",
		Service: &structs.NodeService{Service: "web", Tags: []string{"Blue"}},
		Check:   &structs.HealthCheck{CheckID: "serfHealth", Status: structs.HealthCritical}})
	register(t, s, 2, &structs.RegisterRequest{Node: "n2", Address: "10.0.0.2",
		Service: &structs.NodeService{Service: "web"}})
	_, csn, err := s.CheckServiceNodes(nil, "WEB", nil)
	if err != nil || len(csn) != 2 {
		t.Fatalf("CheckServiceNodes: %v, %d entries", err, len(csn))
	}
	for _, e := range csn {
		want := structs.HealthPassing
		if e.Node.Node == "n1" {
			want = structs.HealthCritical
		}
		if got := e.Checks.AggregatedStatus(); got != want {
			t.Errorf("%s: status %s, want %s (node checks apply to instances)", e.Node.Node, got, want)
		}
	}
	_, tagged, _ := s.CheckServiceNodes(nil, "web", []string{"blue"})
	if len(tagged) != 1 || tagged[0].Node.Node != "n1" {
		t.Fatalf("tag filter (case-insensitive): %+v", tagged)
	}
}

func TestWatchFiresOnlyForWatchedService(t *testing.T) {
	s := NewStore()
	register(t, s, 1, &structs.RegisterRequest{Node: "n1", Address: "10.0.0.1", Service: &structs.NodeService{Service: "web"}})
	register(t, s, 2, &structs.RegisterRequest{Node: "n1", Address: "10.0.0.1", Service: &structs.NodeService{Service: "db"}})
	ws := memdb.NewWatchSet()
	if _, _, err := s.ServiceNodes(ws, "web", nil); err != nil {
		t.Fatal(err)
	}
	register(t, s, 3, &structs.RegisterRequest{Node: "n1", Address: "10.0.0.1", Service: &structs.NodeService{Service: "db", Port: 1}})
	if timedOut := ws.Watch(time.After(50 * time.Millisecond)); !timedOut {
		t.Fatal("a change to db woke a watcher of web")
	}
	register(t, s, 4, &structs.RegisterRequest{Node: "n1", Address: "10.0.0.1", Service: &structs.NodeService{Service: "web", Port: 1}})
	if timedOut := ws.Watch(time.After(5 * time.Second)); timedOut {
		t.Fatal("a change to web did not wake its watcher")
	}
}

func TestWatchLimitFallsBackToTables(t *testing.T) {
	s := NewStore()
	for i := 0; i < 1200; i++ {
		register(t, s, uint64(i+1), &structs.RegisterRequest{Node: fmt.Sprintf("n%d", i), Address: "10.0.0.1",
			Service: &structs.NodeService{Service: "web"}})
	}
	register(t, s, 5000, &structs.RegisterRequest{Node: "other", Address: "10.0.0.2"})
	ws := memdb.NewWatchSet()
	if _, _, err := s.CheckServiceNodes(ws, "web", nil); err != nil {
		t.Fatal(err)
	}
	if len(ws) > watchLimit+8 {
		t.Fatalf("watch set holds %d channels, limit %d", len(ws), watchLimit)
	}
	// The last instance's node is no longer watched by itself; a change to
	// it must still wake the query through the table watch.
	register(t, s, 5001, &structs.RegisterRequest{Node: "n1199", Address: "10.0.0.9"})
	if timedOut := ws.Watch(time.After(5 * time.Second)); timedOut {
		t.Fatal("a change past the watch limit did not wake the query")
	}
}
