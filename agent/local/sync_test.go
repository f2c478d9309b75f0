package local

import (
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/coredns-coord/coredns-coord/state"
	"github.com/coredns-coord/coredns-coord/structs"
)

// storeCatalog applies the sync's writes straight to a real state store,
// as the FSM would, and counts them.
type storeCatalog struct {
	st     *state.Store
	idx    uint64
	writes int
	checks int // checks carried by register writes
}

func (c *storeCatalog) Register(req *structs.RegisterRequest) error {
	c.idx++
	c.writes++
	c.checks += len(req.AllChecks())
	return c.st.EnsureRegistration(c.idx, req)
}

func (c *storeCatalog) Deregister(req *structs.DeregisterRequest) error {
	c.idx++
	c.writes++
	return c.st.Deregister(c.idx, req)
}

func newCatalog(t *testing.T) *storeCatalog {
	return &storeCatalog{st: newStoreWithNode(t), idx: 1}
}

// newStoreWithNode is a state store holding node n1.
func newStoreWithNode(t testing.TB) *state.Store {
	t.Helper()
	st := state.NewStore()
	if err := st.EnsureRegistration(1, &structs.RegisterRequest{Node: "n1", Address: "127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	return st
}

func svc(id string) *structs.NodeService {
	return &structs.NodeService{ID: id, Service: id, Port: 80}
}

func check(id, serviceID, status string) *structs.HealthCheck {
	return &structs.HealthCheck{CheckID: id, Name: id, ServiceID: serviceID, Status: status, Type: structs.CheckTTL}
}

func catalogChecks(t *testing.T, st *state.Store) map[string]*structs.HealthCheck {
	t.Helper()
	_, checks, err := st.NodeChecks(memdb.NewWatchSet(), "n1")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*structs.HealthCheck{}
	for _, hc := range checks {
		out[hc.CheckID] = hc
	}
	return out
}

func TestSyncSteadyStateWritesNothing(t *testing.T) {
	cat := newCatalog(t)
	l := New("n1")
	for i := range 1000 {
		id := fmt.Sprintf("s%d", i)
		l.AddService(svc(id), SourceAPI)
		l.AddCheck(check("c"+id, id, structs.HealthCritical), nil, SourceAPI)
	}
	if err := l.SyncFull(cat, cat.st); err != nil {
		t.Fatal(err)
	}
	if cat.writes != 1000 {
		t.Fatalf("first sync made %d writes, want one per service (1000)", cat.writes)
	}
	// Every check reports the same result over and over.
	for round := range 3 {
		for i := range 1000 {
			l.UpdateCheck(fmt.Sprintf("cs%d", i), structs.HealthCritical, "")
		}
		before := cat.writes
		if err := l.SyncChanges(cat); err != nil {
			t.Fatal(err)
		}
		if err := l.SyncFull(cat, cat.st); err != nil {
			t.Fatal(err)
		}
		if cat.writes != before {
			t.Fatalf("round %d: steady checks caused %d writes", round, cat.writes-before)
		}
	}
	// A mass status change goes out in bounded batches.
	for i := range 1000 {
		l.UpdateCheck(fmt.Sprintf("cs%d", i), structs.HealthPassing, "ok")
	}
	before := cat.writes
	if err := l.SyncChanges(cat); err != nil {
		t.Fatal(err)
	}
	if got, want := cat.writes-before, (1000+maxChecksPerWrite-1)/maxChecksPerWrite; got != want {
		t.Fatalf("1000 status changes took %d writes, want %d", got, want)
	}
	for id, hc := range catalogChecks(t, cat.st) {
		if hc.Status != structs.HealthPassing {
			t.Fatalf("catalog check %s = %s", id, hc.Status)
		}
	}
	if l.Pending() {
		t.Fatal("still pending after sync")
	}
}

func TestSyncFullReconciles(t *testing.T) {
	cat := newCatalog(t)
	// What an earlier run (or someone using catalog/register on our node)
	// left behind, next to entries that belong to others.
	for _, req := range []*structs.RegisterRequest{
		{Node: "n1", SkipNodeUpdate: true, Service: svc("stale"), Check: check("stale-check", "stale", structs.HealthPassing)},
		{Node: "n1", SkipNodeUpdate: true, Service: svc(structs.ConsulServiceID)},
		{Node: "n1", SkipNodeUpdate: true, Check: &structs.HealthCheck{CheckID: structs.SerfCheckID, Name: "serf", Status: structs.HealthPassing}},
		{Node: "n1", SkipNodeUpdate: true, Service: &structs.NodeService{ID: "web", Service: "web", Port: 1}},
	} {
		if err := cat.Register(req); err != nil {
			t.Fatal(err)
		}
	}
	l := New("n1")
	l.AddService(svc("web"), SourceFile) // differs in port: rewritten
	l.AddCheck(check("web-check", "web", structs.HealthPassing), nil, SourceFile)
	if err := l.SyncFull(cat, cat.st); err != nil {
		t.Fatal(err)
	}
	_, ns, err := cat.st.NodeServices(nil, "n1")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ns.Services["stale"]; ok {
		t.Fatal("stale service survived the full sync")
	}
	if ns.Services[structs.ConsulServiceID] == nil {
		t.Fatal("the server's consul service was removed")
	}
	if w := ns.Services["web"]; w == nil || w.Port != 80 {
		t.Fatalf("web = %+v, want port 80", w)
	}
	checks := catalogChecks(t, cat.st)
	if checks[structs.SerfCheckID] == nil || checks["web-check"] == nil || checks["stale-check"] != nil {
		t.Fatalf("catalog checks after full sync = %v", checks)
	}
	// A second full sync finds nothing to do.
	before := cat.writes
	if err := l.SyncFull(cat, cat.st); err != nil {
		t.Fatal(err)
	}
	if cat.writes != before {
		t.Fatalf("second full sync wrote %d times", cat.writes-before)
	}
}

func TestOutputOnlyChangeIsDeferred(t *testing.T) {
	cat := newCatalog(t)
	l := New("n1")
	l.SetCheckUpdateInterval(200 * time.Millisecond)
	l.AddCheck(check("c", "", structs.HealthPassing), nil, SourceAPI)
	if err := l.SyncChanges(cat); err != nil {
		t.Fatal(err)
	}
	if l.UpdateCheck("c", structs.HealthPassing, "new output") {
		t.Fatal("an output change reported a status change")
	}
	before := cat.writes
	if err := l.SyncChanges(cat); err != nil {
		t.Fatal(err)
	}
	if cat.writes != before {
		t.Fatal("output-only change written before the update interval")
	}
	if got := l.Checks()["c"].Output; got != "new output" {
		t.Fatalf("local output = %q", got)
	}
	// The deferred write is due after the interval: the trigger fires.
	select {
	case <-l.Trigger(): // left over from AddCheck
	default:
	}
	select {
	case <-l.Trigger():
	case <-time.After(5 * time.Second):
		t.Fatal("deferred output never triggered a sync")
	}
	if err := l.SyncChanges(cat); err != nil {
		t.Fatal(err)
	}
	if got := catalogChecks(t, cat.st)["c"].Output; got != "new output" {
		t.Fatalf("catalog output after the interval = %q", got)
	}
	// A status change is never deferred.
	if !l.UpdateCheck("c", structs.HealthCritical, "down") {
		t.Fatal("status change not reported")
	}
	if err := l.SyncChanges(cat); err != nil {
		t.Fatal(err)
	}
	if got := catalogChecks(t, cat.st)["c"]; got.Status != structs.HealthCritical || got.Output != "down" {
		t.Fatalf("catalog after status change = %+v", got)
	}
}

func TestRemoveServiceTakesItsChecks(t *testing.T) {
	cat := newCatalog(t)
	l := New("n1")
	l.AddService(svc("a"), SourceAPI)
	l.AddCheck(check("a1", "a", structs.HealthPassing), nil, SourceAPI)
	l.AddCheck(check("a2", "a", structs.HealthPassing), nil, SourceAPI)
	l.AddCheck(check("node", "", structs.HealthPassing), nil, SourceAPI)
	if err := l.SyncChanges(cat); err != nil {
		t.Fatal(err)
	}
	removed, ok := l.RemoveService("a")
	if !ok || len(removed) != 2 {
		t.Fatalf("RemoveService = %v, %v", removed, ok)
	}
	if _, ok := l.RemoveService("a"); ok {
		t.Fatal("removed twice")
	}
	before := cat.writes
	if err := l.SyncChanges(cat); err != nil {
		t.Fatal(err)
	}
	if cat.writes-before != 1 {
		t.Fatalf("removing a service with two checks took %d writes, want 1", cat.writes-before)
	}
	checks := catalogChecks(t, cat.st)
	if len(checks) != 1 || checks["node"] == nil {
		t.Fatalf("catalog checks = %v", checks)
	}
	if l.Pending() {
		t.Fatal("pending after sync")
	}
}
