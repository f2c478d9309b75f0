package gossip

import (
	"fmt"
	"io"
	"log"
	"maps"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/coredns-coord/coredns-coord/internal/testutil"
)

func TestJoinTagsAndSetTags(t *testing.T) {
	ps := cluster(t, "j", 5, nil)
	for _, p := range ps {
		ms := p.Members()
		if len(ms) != 5 {
			t.Fatalf("%s sees %d members", p.LocalNodeName(), len(ms))
		}
		for _, m := range ms {
			if m.Status != StatusAlive || m.Tags["role"] != "node" || m.Tags["dc"] != "dc1" || m.Tags["id"] != "id-"+m.Name {
				t.Fatalf("%s sees %+v", p.LocalNodeName(), m)
			}
		}
	}
	// Events reach the channel after the member list changes: wait for
	// each pool's join of j3, then check none came twice.
	waitFor(t, 5*time.Second, "a join event for j3 everywhere", func() bool {
		for _, p := range ps {
			if p.rec.count(EventJoin, "j3") == 0 {
				return false
			}
		}
		return true
	})
	for _, p := range ps {
		if n := p.rec.count(EventJoin, "j3"); n != 1 {
			t.Fatalf("%s got %d join events for j3", p.LocalNodeName(), n)
		}
	}
	if lm := ps[2].LocalMember(); lm.Name != "j2" || lm.Port == 0 || lm.Status != StatusAlive {
		t.Fatalf("local member %+v", lm)
	}

	tags := map[string]string{"role": "consul", "id": "id-j2", "port": "8300", "expect": "3"}
	if err := ps[2].SetTags(tags); err != nil {
		t.Fatal(err)
	}
	want := maps.Clone(tags)
	want["dc"] = "dc1"
	waitFor(t, 5*time.Second, "the new tags everywhere", func() bool {
		for _, p := range ps {
			e, ok := p.rec.last(EventUpdate, "j2")
			m, _ := p.Member("j2")
			if !ok || !maps.Equal(e.Member.Tags, want) || !maps.Equal(m.Tags, want) {
				return false
			}
		}
		return true
	})

	if n := gatherGauge(t, "coredns_coord_gossip_members", map[string]string{"pool": "lan", "status": "alive"}); n < 25 {
		t.Fatalf("coredns_coord_gossip_members{status=alive} = %v, want at least 5 pools x 5 members", n)
	}

	if err := ps[1].SetTags(map[string]string{"dc": "dc9"}); err == nil {
		t.Fatal("SetTags with another dc accepted")
	}
	if err := ps[1].SetTags(map[string]string{"big": strings.Repeat("x", 600)}); err == nil || !strings.Contains(err.Error(), "512") {
		t.Fatalf("oversized tags: %v", err)
	}
	if _, err := Create(Config{NodeName: "big", BindAddr: "127.0.0.1", Tags: map[string]string{"x": strings.Repeat("y", 520)}}); err == nil {
		t.Fatal("Create with oversized tags accepted")
	}
}

// failureWatch returns, for each observer, how long after start it saw
// EventFailed for node.
func waitFailed(t testing.TB, observers []*testPool, node string, start time.Time, timeout time.Duration) []time.Duration {
	t.Helper()
	var out []time.Duration
	waitFor(t, timeout, node+" failed everywhere", func() bool {
		out = out[:0]
		for _, p := range observers {
			at, ok := p.rec.first(EventFailed, node)
			if !ok {
				return false
			}
			out = append(out, at.Sub(start))
		}
		return true
	})
	return out
}

// TestFailureDetection: a member that stops is declared failed by every
// other, and no live member is. It runs alone (not in parallel), so that
// load from other tests cannot make a live member miss its probes; how
// long detection takes is BenchmarkFailureDetection's.
func TestFailureDetection(t *testing.T) {
	// f4 comes back at the same port below: one from the reserved test
	// range, which the kernel gives no other (parallel) test's pool
	// meanwhile.
	port := testutil.FreePort(t)
	ps := cluster(t, "f", 5, func(i int, c *Config) {
		if i == 4 {
			c.BindPort = port
		}
	})
	victim := ps[4]
	start := time.Now()
	victim.Shutdown()
	times := waitFailed(t, ps[:4], "f4", start, 15*time.Second)
	slowest := time.Duration(0)
	for _, d := range times {
		slowest = max(slowest, d)
	}
	t.Logf("5 members, default LAN tuning: f4 declared failed after %v (first..all observers: %v)", slowest.Round(time.Millisecond), times)
	for _, p := range ps[:4] {
		if s, _ := statusOf(p.Pool, "f4"); s != StatusFailed {
			t.Errorf("%s sees f4 %s", p.LocalNodeName(), s)
		}
		if p.rec.count(EventLeave, "f4") != 0 {
			t.Errorf("%s saw a leave", p.LocalNodeName())
		}
		for _, q := range ps[:4] {
			if p.rec.count(EventFailed, q.LocalNodeName()) != 0 {
				t.Errorf("%s saw %s fail", p.LocalNodeName(), q.LocalNodeName())
			}
		}
	}

	// The failed member comes back at the same address: it is alive again.
	back := newPool(t, "f4", func(c *Config) { c.BindPort = port })
	if _, err := back.Join([]string{ps[0].addr()}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "f4 alive again everywhere", func() bool {
		for _, p := range ps[:4] {
			if s, _ := statusOf(p.Pool, "f4"); s != StatusAlive || p.rec.count(EventJoin, "f4") != 2 {
				return false
			}
		}
		return aliveCount(back.Pool) == 5
	})
}

// A failed member's name is reserved for its address for
// DeadNodeReclaimTime; after that another agent at another address may
// take it.
func TestFailedNameReclaim(t *testing.T) {
	t.Parallel()
	const reclaim = 2 * time.Second
	mod := func(i int, c *Config) {
		c.Tuning.DeadNodeReclaimTime = reclaim
		c.Tuning.GossipToTheDeadTime = reclaim
	}
	ps := cluster(t, "n", 3, mod)
	ps[2].Shutdown()
	waitFailed(t, ps[:2], "n2", time.Now(), 15*time.Second)
	failedAt := time.Now()

	// Another agent (another node ID) taking the name: a new host.
	other := func(c *Config) { mod(0, c); c.Tags["id"] = "id-new-host-n2" }
	early := newPool(t, "n2", other)
	_, err := early.Join([]string{ps[0].addr()})
	if time.Since(failedAt) < reclaim-500*time.Millisecond {
		if err == nil || !strings.Contains(err.Error(), "failed member") {
			t.Fatalf("early takeover of a failed member's name: %v", err)
		}
		t.Logf("refused: %v", err)
	}
	early.Shutdown()

	late := newPool(t, "n2", other)
	// Retry like retry_join does, until the pool forgets the old address.
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		_, err := late.Join([]string{ps[0].addr()})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("takeover still refused: %v", err)
		}
	}
	t.Logf("name taken over %v after the failure (reclaim time %v)", time.Since(failedAt).Round(time.Millisecond), reclaim)
	waitFor(t, 5*time.Second, "n2 alive at its new address", func() bool {
		for _, p := range ps[:2] {
			if m, _ := p.Member("n2"); m.Status != StatusAlive || m.Address() != late.addr() {
				return false
			}
		}
		return true
	})
}

func TestGracefulLeave(t *testing.T) {
	t.Parallel()
	ps := cluster(t, "l", 4, nil)
	if err := ps[3].Leave(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	if s, _ := statusOf(ps[3].Pool, "l3"); s != StatusLeft {
		t.Fatalf("the leaver sees itself %s", s)
	}
	waitFor(t, 5*time.Second, "l3 left everywhere", func() bool {
		for _, p := range ps[:3] {
			if s, _ := statusOf(p.Pool, "l3"); s != StatusLeft || p.rec.count(EventLeave, "l3") != 1 {
				return false
			}
		}
		return true
	})
	ps[3].Shutdown()
	for _, p := range ps[:3] {
		if n := p.rec.count(EventFailed, "l3"); n != 0 {
			t.Errorf("%s saw l3 fail", p.LocalNodeName())
		}
	}
	if err := ps[3].UserEvent("x", nil); err == nil {
		t.Error("user event after shutdown accepted")
	}
}

func TestForceLeave(t *testing.T) {
	t.Parallel()
	ps := cluster(t, "fl", 4, nil)
	if err := ps[0].ForceLeave("nobody", false); err == nil || !strings.Contains(err.Error(), "nobody") {
		t.Fatalf("force-leave of an unknown node: %v", err)
	}
	if err := ps[0].ForceLeave("fl0", false); err == nil {
		t.Fatal("force-leave of self accepted")
	}
	ps[3].Shutdown()
	waitFailed(t, ps[:3], "fl3", time.Now(), 15*time.Second)

	if err := ps[0].ForceLeave("fl3", false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "fl3 force-left everywhere", func() bool {
		for _, p := range ps[:3] {
			if s, _ := statusOf(p.Pool, "fl3"); s != StatusLeft || p.rec.count(EventLeave, "fl3") != 1 {
				return false
			}
		}
		return true
	})

	if err := ps[1].ForceLeave("fl3", true); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "fl3 pruned everywhere", func() bool {
		for _, p := range ps[:3] {
			if _, ok := p.Member("fl3"); ok || p.rec.count(EventReap, "fl3") != 1 {
				return false
			}
		}
		return true
	})
	if err := ps[0].ForceLeave("fl3", true); err == nil {
		t.Fatal("force-leave of a pruned member accepted")
	}

	// Force-leave of a live member: it refutes and stays alive.
	if err := ps[0].ForceLeave("fl2", false); err != nil {
		t.Fatal(err)
	}
	// The refutation is gossiped over UDP; if the machine is loaded enough
	// to drop it, the next push/pull (every 30 s at most) still converges.
	waitFor(t, 35*time.Second, "fl2 to refute the force-leave", func() bool {
		for _, p := range ps[:3] {
			if s, _ := statusOf(p.Pool, "fl2"); s != StatusAlive {
				return false
			}
		}
		return true
	})
}

func TestReap(t *testing.T) {
	t.Parallel()
	ps := cluster(t, "r", 4, func(i int, c *Config) {
		c.ReconnectTimeout = 2 * time.Second
		c.TombstoneTimeout = time.Second
	})
	ps[2].Shutdown()
	start := time.Now()
	if err := ps[3].Leave(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	ps[3].Shutdown()
	waitFailed(t, ps[:2], "r2", start, 15*time.Second)
	waitFor(t, 10*time.Second, "r2 and r3 reaped", func() bool {
		for _, p := range ps[:2] {
			for _, name := range []string{"r2", "r3"} {
				if _, ok := p.Member(name); ok || p.rec.count(EventReap, name) != 1 {
					return false
				}
			}
		}
		return true
	})
	t.Logf("r2 failed and reaped %v after shutdown (reconnect timeout 2s)", time.Since(start).Round(time.Millisecond))
	for name, want := range map[string]Status{"r2": StatusFailed, "r3": StatusLeft} {
		if e, _ := ps[0].rec.last(EventReap, name); e.Member.Status != want {
			t.Fatalf("reaped %s with status %s", name, e.Member.Status)
		}
	}
	if n := len(ps[0].Members()); n != 2 {
		t.Fatalf("%d members after reap", n)
	}
}

func TestWrongDatacenterRefused(t *testing.T) {
	ps := cluster(t, "east", 2, nil)
	other := newPool(t, "west1", func(c *Config) { c.Datacenter = "west" })
	n, err := other.Join([]string{ps[0].addr()})
	if err == nil || n != 0 {
		t.Fatalf("join across datacenters: n=%d err=%v", n, err)
	}
	if !strings.Contains(err.Error(), `"west"`) || !strings.Contains(err.Error(), `"dc1"`) {
		t.Fatalf("error does not name both datacenters: %v", err)
	}
	t.Logf("refused: %v", err)
	// And the other way round.
	if n, err := ps[1].Join([]string{other.addr()}); err == nil || n != 0 {
		t.Fatalf("join of a dc1 member into west: n=%d err=%v", n, err)
	}
	for _, p := range ps {
		if _, ok := p.Member("west1"); ok {
			t.Fatalf("%s accepted west1", p.LocalNodeName())
		}
	}
	if len(other.Members()) != 1 {
		t.Fatalf("west1 sees %v", other.Members())
	}
}

func TestDuplicateNameRefused(t *testing.T) {
	ps := cluster(t, "d", 3, nil)
	orig := ps[1].addr()
	// Another agent (another node ID) taking the name.
	dup := newPool(t, "d1", func(c *Config) { c.Tags["id"] = "id-another-d1" })
	n, err := dup.Join([]string{ps[0].addr()})
	if err == nil || n != 0 {
		t.Fatalf("join with a taken name: n=%d err=%v", n, err)
	}
	if !strings.Contains(err.Error(), "already in use") || !strings.Contains(err.Error(), orig) {
		t.Fatalf("unclear error: %v", err)
	}
	t.Logf("refused: %v", err)
	// Joining through the member whose name it takes is refused too.
	if n, err := dup.Join([]string{orig}); err == nil || n != 0 {
		t.Fatalf("join through the original: n=%d err=%v", n, err)
	}
	for _, p := range ps {
		if m, _ := p.Member("d1"); m.Address() != orig || m.Status != StatusAlive {
			t.Fatalf("%s sees d1 as %+v", p.LocalNodeName(), m)
		}
		if aliveCount(p.Pool) != 3 {
			t.Fatalf("%s: %v", p.LocalNodeName(), p.Members())
		}
	}
	if len(dup.Members()) != 1 {
		t.Fatalf("the newcomer sees %v", dup.Members())
	}
}

// The same agent (same node ID) back at another address is not a
// duplicate: the pool takes its new address.
func TestSameAgentAtNewAddressAccepted(t *testing.T) {
	// memberlist itself keeps a dead member's name for its address this
	// long; the merge delegate must not refuse anything on top of it.
	reclaim := func(c *Config) { c.Tuning.DeadNodeReclaimTime = time.Second }
	ps := cluster(t, "m", 2, func(_ int, c *Config) { reclaim(c) })
	if err := ps[1].Shutdown(); err != nil {
		t.Fatal(err)
	}
	moved := newPool(t, "m1", reclaim) // same name and id tag, a new port
	// m0's state still holds m1 at its old address: the merge must take it.
	if n, err := moved.Join([]string{ps[0].addr()}); err != nil || n != 1 {
		t.Fatalf("the agent back at a new address: n=%d err=%v", n, err)
	}
	// Once memberlist on m0 has declared the old address dead and its
	// reclaim time passed, a join (retry_join does them) moves the name.
	waitFor(t, 15*time.Second, "m0 to see m1 alive at its new address", func() bool {
		moved.Join([]string{ps[0].addr()})
		m, ok := ps[0].Member("m1")
		return ok && m.Status == StatusAlive && m.Address() == moved.addr()
	})
}

func TestUserEvents(t *testing.T) {
	t.Parallel()
	ps := cluster(t, "u", 5, nil)
	const perMember = 3
	want := map[string]bool{}
	for i, p := range ps {
		for j := range perMember {
			name := fmt.Sprintf("deploy-%d-%d", i, j)
			want[name] = true
			if err := p.UserEvent(name, []byte("payload "+name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitFor(t, 30*time.Second, "every event everywhere", func() bool {
		for _, p := range ps {
			if len(p.rec.userEvents()) < len(want) {
				return false
			}
		}
		return true
	})
	// Let the re-gossip die out, then check that nothing came twice.
	waitFor(t, 30*time.Second, "the broadcast queues to drain", func() bool {
		for _, p := range ps {
			if queued(p.Pool) != 0 {
				return false
			}
		}
		return true
	})
	for _, p := range ps {
		seen := map[string]int{}
		for _, e := range p.rec.userEvents() {
			seen[e.Name]++
			if string(e.Payload) != "payload "+e.Name || e.ID == "" {
				t.Fatalf("%s got %+v", p.LocalNodeName(), e)
			}
		}
		for name := range want {
			if seen[name] != 1 {
				t.Errorf("%s got %q %d times", p.LocalNodeName(), name, seen[name])
			}
		}
		if len(seen) != len(want) {
			t.Errorf("%s got unexpected events: %v", p.LocalNodeName(), seen)
		}
	}

	// An agent that joins does not replay the events its contact had seen
	// when it joined, even those still being gossiped.
	if err := ps[1].UserEvent("before-join", nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "u0 to get before-join", func() bool {
		return len(ps[0].rec.userEvents()) == len(want)+1
	})
	late := newPool(t, "u-late", nil)
	if _, err := late.Join([]string{ps[0].addr()}); err != nil {
		t.Fatal(err)
	}
	if err := ps[0].UserEvent("after-join", nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "after-join delivered and the queues drained", func() bool {
		if len(late.rec.userEvents()) == 0 {
			return false
		}
		for _, p := range append(ps, late) {
			if queued(p.Pool) != 0 {
				return false
			}
		}
		return true
	})
	if evs := late.rec.userEvents(); len(evs) != 1 || evs[0].Name != "after-join" {
		t.Fatalf("the late joiner got %+v", evs)
	}

	if err := ps[0].UserEvent("big", make([]byte, 510)); err == nil || !strings.Contains(err.Error(), "512") {
		t.Fatalf("oversized event: %v", err)
	}
	if err := ps[0].UserEvent("ok", make([]byte, 510)); err != nil {
		t.Fatalf("event of exactly 512 bytes: %v", err)
	}
	waitFor(t, 10*time.Second, "the 512-byte event everywhere", func() bool {
		for _, p := range ps {
			evs := p.rec.userEvents()
			if len(evs) == 0 || evs[len(evs)-1].Name != "ok" || len(evs[len(evs)-1].Payload) != 510 {
				return false
			}
		}
		return true
	})
	if err := ps[0].UserEvent("", nil); err == nil {
		t.Fatal("event without a name accepted")
	}
}

func TestEventsNeverBlock(t *testing.T) {
	a := newPool(t, "eb0", func(c *Config) { c.EventBuffer = 1 })
	// A second pool whose channels nobody reads.
	b, err := Create(Config{NodeName: "eb1", BindAddr: "127.0.0.1", EventBuffer: 1, Logger: log.New(io.Discard, "", 0)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Shutdown() })
	if _, err := b.Join([]string{a.addr()}); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := b.UserEvent(fmt.Sprint("e", i), nil); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 5*time.Second, "a to see b", func() bool { return aliveCount(a.Pool) == 2 })
	if b.DroppedEvents() == 0 {
		t.Fatal("no events counted as dropped")
	}
}

func TestStrings(t *testing.T) {
	for s, want := range map[Status]string{StatusAlive: "alive", StatusLeaving: "leaving", StatusLeft: "left", StatusFailed: "failed"} {
		if s.String() != want {
			t.Errorf("%d: %s", s, s)
		}
	}
	if EventReap.String() != "member-reap" {
		t.Error(EventReap)
	}
}

func gatherGauge(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue metrics
				}
			}
			total += m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	return total
}

// A member that comes back at the address where it failed, without joining
// anyone (a server restarted while the others were down too), is joined
// again by the pool's reconnect loop: the pool does not stay split.
func TestReconnectToFailedMember(t *testing.T) {
	t.Parallel()
	fast := func(_ int, c *Config) { c.ReconnectInterval = 200 * time.Millisecond }
	// r0 dials r1's port every 200ms while r1 is down: a port from the
	// reserved test range, which the kernel gives no other (parallel)
	// test's pool meanwhile.
	port := testutil.FreePort(t)
	ps := cluster(t, "r", 2, func(i int, c *Config) {
		fast(i, c)
		if i == 1 {
			c.BindPort = port
		}
	})
	ps[1].Shutdown()
	waitFailed(t, ps[:1], "r1", time.Now(), 15*time.Second)

	back := newPool(t, "r1", func(c *Config) { fast(0, c); c.BindPort = port })
	waitFor(t, 10*time.Second, "both pools to see each other alive again", func() bool {
		a, _ := statusOf(ps[0].Pool, "r1")
		b, _ := statusOf(back.Pool, "r0")
		return a == StatusAlive && b == StatusAlive
	})
}

// A WAN pool takes servers of every datacenter, each named <node>.<dc>.
func TestWANPool(t *testing.T) {
	t.Parallel()
	wan := func(node, dc string) func(*Config) {
		return func(c *Config) {
			c.WAN, c.Datacenter, c.NodeName, c.Tuning = true, dc, WANMemberName(node, dc), DefaultWANTuning()
		}
	}
	a := newPool(t, "", wan("s1", "dc1"))
	b := newPool(t, "", wan("s1", "dc2"))
	if _, err := b.Join([]string{a.addr()}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "both datacenters' servers in the WAN pool", func() bool {
		return aliveCount(a.Pool) == 2 && aliveCount(b.Pool) == 2
	})
	if m, _ := a.Member("s1.dc2"); m.Tags["dc"] != "dc2" || a.cfg.poolName() != "wan" {
		t.Fatalf("a sees %+v in pool %q", m, a.cfg.poolName())
	}
	if _, err := tryPool(t, "s3", func(c *Config) { c.WAN = true }); err == nil {
		t.Fatal("a WAN member named without its datacenter was created")
	}
	lan := newPool(t, "x", func(c *Config) { c.Datacenter = "dc3" })
	if n, err := lan.Join([]string{a.addr()}); err == nil || n != 0 || !strings.Contains(err.Error(), "<node>.<dc>") && !strings.Contains(err.Error(), "datacenter") {
		t.Fatalf("a LAN member joined the WAN pool: n=%d err=%v", n, err)
	}
	if _, ok := a.Member("x"); ok {
		t.Fatal("the WAN pool accepted x")
	}
}

// With a snapshot, a member restarted after a failure joins the members it
// last saw alive by itself, and does not deliver again the user events it
// had delivered before.
func TestSnapshotRejoin(t *testing.T) {
	t.Parallel()
	port := testutil.FreePort(t)
	snap := filepath.Join(t.TempDir(), "serf", "local.snapshot")
	withSnapshot := func(c *Config) { c.BindPort, c.SnapshotPath = port, snap }
	// a does not reconnect on its own during the test: b must.
	a := newPool(t, "sn-a", func(c *Config) { c.ReconnectInterval = time.Hour })
	b := newPool(t, "sn-b", withSnapshot)
	if _, err := b.Join([]string{a.addr()}); err != nil {
		t.Fatal(err)
	}
	if err := a.UserEvent("before", nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "b to get the event", func() bool { return len(b.rec.userEvents()) == 1 })
	b.Shutdown()
	waitFailed(t, []*testPool{a}, "sn-b", time.Now(), 15*time.Second)

	back := newPool(t, "sn-b", withSnapshot)
	waitFor(t, 10*time.Second, "b back in the pool without a Join", func() bool {
		s, _ := statusOf(a.Pool, "sn-b")
		return s == StatusAlive && aliveCount(back.Pool) == 2
	})
	if err := a.UserEvent("after", nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the restarted b to get the new event", func() bool { return len(back.rec.userEvents()) > 0 })
	if evs := back.rec.userEvents(); len(evs) != 1 || evs[0].Name != "after" {
		t.Fatalf("the restarted member got %+v", evs)
	}
}
