package e2e

import (
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
)

// TestSessionTTLReleasesLock: a session nobody renews is invalidated after
// its TTL (within the documented 1.5x grace) and its lock is released; a
// session that is renewed lives on.
func TestSessionTTLReleasesLock(t *testing.T) {
	multiProcess(t)
	n := newNode(t)
	start(t, n)
	c := n.client(t)

	lapsing, _, err := c.Session().Create(&api.SessionEntry{Name: "lapsing", TTL: "10s", LockDelay: time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	renewed, _, err := c.Session().Create(&api.SessionEntry{Name: "renewed", TTL: "10s"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ok, _, err := c.KV().Acquire(&api.KVPair{Key: "ttl/lock", Value: []byte("holder"), Session: lapsing}, nil)
	if err != nil || !ok {
		t.Fatalf("acquire: %v %v", ok, err)
	}
	created := time.Now()

	deadline := created.Add(25 * time.Second)
	var released time.Time
	for time.Now().Before(deadline) {
		if _, _, err := c.Session().Renew(renewed, nil); err != nil {
			t.Fatalf("renew: %v", err)
		}
		pair, _, err := c.KV().Get("ttl/lock", nil)
		if err != nil {
			t.Fatal(err)
		}
		if pair.Session == "" {
			released = time.Now()
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if released.IsZero() {
		t.Fatal("lock still held 25s after a 10s session stopped renewing")
	}
	if held := released.Sub(created); held < 10*time.Second {
		t.Fatalf("lock released after %s, before the 10s TTL", held)
	}
	if info, _, _ := c.Session().Info(lapsing, nil); info != nil {
		t.Fatal("lapsed session still exists")
	}
	if info, _, _ := c.Session().Info(renewed, nil); info == nil {
		t.Fatal("a renewed session was invalidated")
	}
	if entry, _, err := c.Session().Renew(lapsing, nil); err != nil || entry != nil {
		t.Fatalf("renewing a lapsed session: %v, %v (want nil, not found)", entry, err)
	}
}

// TestCriticalCheckInvalidatesSession: a session bound to a check is
// invalidated when the check turns critical, and its lock is released.
func TestCriticalCheckInvalidatesSession(t *testing.T) {
	multiProcess(t)
	n := newNode(t)
	start(t, n)
	c := n.client(t)
	check := func(status string) {
		t.Helper()
		_, err := c.Catalog().Register(&api.CatalogRegistration{Node: n.Name, Address: "127.0.0.1", SkipNodeUpdate: true,
			Check: &api.AgentCheck{CheckID: "db-alive", Name: "db alive", Status: status}}, nil)
		if err != nil {
			t.Fatal(err)
		}
	}
	check(api.HealthPassing)
	id, _, err := c.Session().Create(&api.SessionEntry{Name: "bound", Checks: []string{"serfHealth", "db-alive"}, LockDelay: time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _, err := c.KV().Acquire(&api.KVPair{Key: "bound/lock", Session: id}, nil); err != nil || !ok {
		t.Fatalf("acquire: %v %v", ok, err)
	}
	check(api.HealthCritical)
	if info, _, _ := c.Session().Info(id, nil); info != nil {
		t.Fatal("session bound to a critical check survived")
	}
	pair, _, err := c.KV().Get("bound/lock", nil)
	if err != nil || pair == nil || pair.Session != "" {
		t.Fatalf("lock after invalidation: %+v, %v", pair, err)
	}
	// A session cannot be created on a critical check.
	if _, _, err := c.Session().Create(&api.SessionEntry{Checks: []string{"db-alive"}}, nil); err == nil {
		t.Fatal("created a session bound to a critical check")
	}
	if body := n.scrape(t); !contains(body, `coredns_coord_session_invalidations_total{cause="check",node="e2e"} 1`) {
		t.Errorf("metrics lack the check invalidation:\n%s", grep(body, "coord_session"))
	}
}

func grep(s, sub string) string {
	out := ""
	for _, line := range splitLines(s) {
		if contains(line, sub) {
			out += line + "\n"
		}
	}
	return out
}
