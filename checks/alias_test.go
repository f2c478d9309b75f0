package checks

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/coredns-coord/coredns-coord/state"
	"github.com/coredns-coord/coredns-coord/structs"
)

// catalog is a real state store with a writer that keeps Raft indexes
// increasing.
type catalog struct {
	t   *testing.T
	s   *state.Store
	idx uint64
}

func newCatalog(t *testing.T) *catalog { return &catalog{t: t, s: state.NewStore()} }

func (c *catalog) register(req *structs.RegisterRequest) {
	c.t.Helper()
	c.idx++
	if err := c.s.EnsureRegistration(c.idx, req); err != nil {
		c.t.Fatalf("register: %v", err)
	}
}

func (c *catalog) check(node, id, serviceID, status, output string) {
	c.t.Helper()
	c.register(&structs.RegisterRequest{Node: node, SkipNodeUpdate: true,
		Check: &structs.HealthCheck{CheckID: id, Name: id + " name", ServiceID: serviceID, Status: status, Output: output}})
}

func (c *catalog) deregister(req *structs.DeregisterRequest) {
	c.t.Helper()
	c.idx++
	if err := c.s.Deregister(c.idx, req); err != nil {
		c.t.Fatalf("deregister: %v", err)
	}
}

func (c *catalog) opts(local string) Options {
	return Options{Node: local, State: func() *state.Store { return c.s }}
}

func TestAliasService(t *testing.T) {
	cat := newCatalog(t)
	cat.register(&structs.RegisterRequest{Node: "n1", Address: "10.0.0.1",
		Service: &structs.NodeService{ID: "web1", Service: "web", Port: 80},
		Checks: structs.HealthChecks{
			{CheckID: "serfHealth", Name: "Serf", Status: structs.HealthPassing},
			{CheckID: "web-http", Name: "web http", ServiceID: "web1", Status: structs.HealthPassing},
		}})
	cat.register(&structs.RegisterRequest{Node: "n1", SkipNodeUpdate: true,
		Service: &structs.NodeService{ID: "db1", Service: "db", Port: 5432},
		Check:   &structs.HealthCheck{CheckID: "db-tcp", Name: "db tcp", ServiceID: "db1", Status: structs.HealthCritical, Output: "refused"}})

	var r recorder
	start(t, "alias", &structs.CheckType{AliasNode: "n1", AliasService: "web1"}, &r, cat.opts("local"))
	waitLast(t, &r, structs.HealthPassing, equals("All checks passing."))

	// The aliased check fails: the alias follows at once (the watch, not the
	// minute's refresh).
	begin := time.Now()
	cat.check("n1", "web-http", "web1", structs.HealthCritical, "HTTP GET http://x: 500")
	waitLast(t, &r, structs.HealthCritical, equals(`Aliased check "web-http name" failing: HTTP GET http://x: 500`))
	if d := time.Since(begin); d > 2*time.Second {
		t.Fatalf("alias took %s to follow", d)
	}
	cat.check("n1", "web-http", "web1", structs.HealthWarning, "slow")
	waitLast(t, &r, structs.HealthWarning, equals(`Aliased check "web-http name" failing: slow`))
	cat.check("n1", "web-http", "web1", structs.HealthPassing, "")
	waitLast(t, &r, structs.HealthPassing, equals("All checks passing."))

	// A node-level check counts for the service too.
	cat.check("n1", "serfHealth", "", structs.HealthCritical, "agent unreachable")
	waitLast(t, &r, structs.HealthCritical, equals(`Aliased check "serfHealth name" failing: agent unreachable`))
	cat.check("n1", "serfHealth", "", structs.HealthPassing, "")
	waitLast(t, &r, structs.HealthPassing, equals("All checks passing."))

	// Changes that do not move the result report nothing.
	n := r.count()
	cat.register(&structs.RegisterRequest{Node: "n2", Address: "10.0.0.2",
		Check: &structs.HealthCheck{CheckID: "other", Status: structs.HealthCritical}})
	cat.check("n1", "db-tcp", "db1", structs.HealthCritical, "still refused")
	time.Sleep(100 * time.Millisecond)
	if r.count() != n {
		t.Fatalf("unchanged alias reported again: %+v", r.all()[n:])
	}

	// The service goes away.
	cat.deregister(&structs.DeregisterRequest{Node: "n1", ServiceID: "web1"})
	waitLast(t, &r, structs.HealthCritical, equals("Service web1 could not be found on node n1"))
}

func TestAliasServiceWithoutChecks(t *testing.T) {
	cat := newCatalog(t)
	cat.register(&structs.RegisterRequest{Node: "n1", Address: "10.0.0.1",
		Service: &structs.NodeService{ID: "web1", Service: "web"}})
	var r recorder
	start(t, "alias", &structs.CheckType{AliasNode: "n1", AliasService: "web1"}, &r, cat.opts("local"))
	waitLast(t, &r, structs.HealthPassing, equals("No checks found."))

	var missing recorder
	start(t, "alias-missing", &structs.CheckType{AliasNode: "n1", AliasService: "nope"}, &missing, cat.opts("local"))
	waitLast(t, &missing, structs.HealthCritical, equals("Service nope could not be found on node n1"))

	var unknownNode recorder
	start(t, "alias-ghost", &structs.CheckType{AliasNode: "ghost", AliasService: "web1"}, &unknownNode, cat.opts("local"))
	waitLast(t, &unknownNode, structs.HealthCritical, equals("Service web1 could not be found on node ghost"))
}

// With no AliasService the alias follows the node's node-level checks, as
// Consul's does; the node's service checks do not count.
func TestAliasNode(t *testing.T) {
	cat := newCatalog(t)
	cat.register(&structs.RegisterRequest{Node: "n1", Address: "10.0.0.1",
		Service: &structs.NodeService{ID: "web1", Service: "web"},
		Check:   &structs.HealthCheck{CheckID: "web-http", ServiceID: "web1", Status: structs.HealthCritical}})

	var r recorder
	start(t, "alias", &structs.CheckType{AliasNode: "n1"}, &r, cat.opts("local"))
	waitLast(t, &r, structs.HealthPassing, equals("No checks found."))
	cat.check("n1", "mem", "", structs.HealthPassing, "")
	waitLast(t, &r, structs.HealthPassing, equals("All checks passing."))
	cat.check("n1", "disk", "", structs.HealthWarning, "80% full")
	waitLast(t, &r, structs.HealthWarning, equals(`Aliased check "disk name" failing: 80% full`))
	cat.check("n1", "mem", "", structs.HealthCritical, "OOM")
	waitLast(t, &r, structs.HealthCritical, equals(`Aliased check "mem name" failing: OOM`))
	cat.deregister(&structs.DeregisterRequest{Node: "n1", CheckID: "mem"})
	waitLast(t, &r, structs.HealthWarning, equals(`Aliased check "disk name" failing: 80% full`))
}

// AliasNode defaults to the agent's node, and the alias check does not
// count its own entry in the catalog.
func TestAliasLocalNodeIgnoresItself(t *testing.T) {
	cat := newCatalog(t)
	cat.register(&structs.RegisterRequest{Node: "me", Address: "10.0.0.9",
		Service: &structs.NodeService{ID: "api", Service: "api"},
		Checks: structs.HealthChecks{
			{CheckID: "api-alias", ServiceID: "api", Status: structs.HealthCritical},
			{CheckID: "me-alias", Name: "me-alias", Status: structs.HealthCritical},
		}})

	var svc, node recorder
	start(t, "api-alias", &structs.CheckType{AliasService: "api"}, &svc, cat.opts("me"))
	start(t, "me-alias", &structs.CheckType{AliasNode: "me"}, &node, cat.opts("me"))
	// api-alias sees me-alias (node-level, critical) but not itself.
	waitLast(t, &svc, structs.HealthCritical, equals(`Aliased check "me-alias" failing: `))
	waitLast(t, &node, structs.HealthPassing, equals("No checks found."))
	cat.check("me", "me-alias", "", structs.HealthPassing, "")
	waitLast(t, &svc, structs.HealthPassing, equals("All checks passing."))
}

// The alias waits for a store that is not there yet.
func TestAliasWaitsForStore(t *testing.T) {
	old := aliasRetry
	aliasRetry = 10 * time.Millisecond
	t.Cleanup(func() { aliasRetry = old })

	cat := newCatalog(t)
	cat.register(&structs.RegisterRequest{Node: "n1", Address: "10.0.0.1"})
	var ready atomic.Bool
	opts := Options{Node: "n1", State: func() *state.Store {
		if !ready.Load() {
			return nil
		}
		return cat.s
	}}
	var r recorder
	start(t, "alias", &structs.CheckType{AliasNode: "n1"}, &r, opts)
	time.Sleep(50 * time.Millisecond)
	if r.count() != 0 {
		t.Fatalf("reported without a store: %+v", r.all())
	}
	ready.Store(true)
	waitLast(t, &r, structs.HealthPassing, equals("No checks found."))
}
