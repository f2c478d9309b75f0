package e2e

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/hashicorp/consul/api"
)

var (
	chaosDuration = flag.Duration("chaos.duration", 75*time.Second,
		"how long TestChaos injects faults under load (make chaos: 5m)")
	chaosOnly = flag.String("chaos.only", "", "run only the faults whose name contains this")
)

// chaosReform is how long a cluster may take to take writes on every
// server again after a fault is healed; past it, it is wedged, not slow.
const chaosReform = 30 * time.Second

// chaosFault is one kind of fault: inject breaks the cluster and returns
// what heals it, and the server whose loss should bring a new leader (nil
// when the leader stays).
type chaosFault struct {
	name   string
	inject func(r *chaosRun) (heal func(), lostLeader *node)
}

// chaosRun is a cluster under a workload and the faults done to it.
type chaosRun struct {
	t       *testing.T
	c       *cluster
	w       *chaosWorkload
	probes  map[*node]*api.Client // short timeouts, for probe writes
	polls   map[*node]*api.Client // shorter still: leader polls, timing probes
	figures map[string][]time.Duration
}

// TestChaos runs 3 servers and 2 client agents (data on disk) under a
// workload of ?consistent reads, PUTs, CAS, sessions and a lock, while it
// kills, stops and partitions servers in turn; then it checks the history
// of every key for linearizability (porcupine), that no two clients held
// the lock at once, and that the cluster re-formed after every fault. It
// runs in a network namespace of its own when it can (root, unshare,
// iptables), to partition a leader with iptables; elsewhere it leaves
// partitions out and says so. -chaos.duration sets how long (make test
// runs a slice, make chaos five minutes).
func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process, long: the fault suite runs in make test and make chaos")
	}
	if !inOwnNetns() {
		if ok, why := canPartition(); ok {
			runInNetns(t, "-chaos.duration="+chaosDuration.String(), "-chaos.only="+*chaosOnly)
			return
		} else {
			t.Logf("chaos: partitions left out: %s", why)
		}
	} else {
		netnsUp(t)
	}
	faults := []chaosFault{
		{"kill the leader", killLeader},
		{"kill a follower", killFollower},
		{"stop the leader (SIGSTOP)", stopLeader},
		{"kill two servers", killTwo},
		{"partition the leader", partitionLeader},
		{"restart every server in turn", restartEach},
		{"kill every server", killAll},
	}
	if !inOwnNetns() {
		faults = append(faults[:4], faults[5:]...)
	}
	if *chaosOnly != "" {
		faults = slices.DeleteFunc(faults, func(f chaosFault) bool { return !strings.Contains(f.name, *chaosOnly) })
		if len(faults) == 0 {
			t.Fatalf("no fault matches -chaos.only=%q", *chaosOnly)
		}
	}
	// A server that does not stop is sent SIGABRT: the Go runtime then
	// prints every goroutine.
	t.Setenv("GOTRACEBACK", "all")

	c := newCluster(t, 3, 2, "")
	r := &chaosRun{t: t, c: c, probes: map[*node]*api.Client{}, polls: map[*node]*api.Client{}, figures: map[string][]time.Duration{}}
	for _, n := range c.all() {
		r.probes[n] = boundedClient(t, n, 2*time.Second)
		r.polls[n] = boundedClient(t, n, 500*time.Millisecond)
	}
	// Many keys keep each key's history short, and few writes of unknown
	// outcome in any one of them: the checker's work grows with both.
	var keys []string
	for i := range 16 {
		keys = append(keys, fmt.Sprintf("chaos/k%d", i))
	}
	leader := c.leader()
	for _, k := range keys {
		if _, err := r.probes[leader].KV().Put(&api.KVPair{Key: k, Value: []byte(regInit)}, nil); err != nil {
			t.Fatalf("create %s: %v", k, err)
		}
	}

	r.w = newChaosWorkload(t, c.all())
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Add(1)
		go func() { defer wg.Done(); r.w.kvClient(i, keys, stop) }()
	}
	for i, n := range c.clients {
		wg.Add(1)
		go func() { defer wg.Done(); r.w.lockClient(100+i, n, "chaos/lock", stop) }()
	}
	stopped := false
	stopWorkload := func() {
		if !stopped {
			stopped = true
			close(stop)
			wg.Wait()
		}
	}
	defer stopWorkload()

	go r.w.logRate(t, 30*time.Second, stop)
	time.Sleep(2 * time.Second)
	for i := 0; time.Since(r.w.start) < *chaosDuration; i++ {
		f := faults[i%len(faults)]
		r.runFault(i+1, f)
		if t.Failed() {
			break
		}
		time.Sleep(2 * time.Second)
	}
	elapsed := time.Since(r.w.start)
	stopWorkload()
	if t.Failed() {
		return
	}

	// The final state, read through the leader, is part of the history:
	// every acknowledged write must be in it, after every kill.
	leader = r.waitReformed()
	kv := boundedClient(t, leader, chaosRequestTimeout).KV()
	for _, k := range keys {
		if _, _, ok := r.w.read(99, kv, k); !ok {
			t.Fatalf("final read of %s failed", k)
		}
	}
	r.report(elapsed)
	r.check()
	// CHAOS_DUMP=DIR keeps every agent's output of a passing run too.
	if d := os.Getenv("CHAOS_DUMP"); d != "" {
		for _, n := range c.all() {
			os.WriteFile(d+"/"+n.Name+".log", []byte(c.procs[n].out.String()), 0o644)
		}
	}
}

// runFault injects f, measures until a majority names a new leader (when
// f takes the leader away), heals it, and measures until the cluster takes
// writes on every server again.
func (r *chaosRun) runFault(i int, f chaosFault) {
	r.t.Helper()
	start := time.Now()
	heal, lost := f.inject(r)
	line := fmt.Sprintf("chaos: fault %d, %s", i, f.name)
	if lost != nil {
		if d, ok := r.newLeaderAfter(lost, start, 15*time.Second); ok {
			r.figures[f.name+": new leader"] = append(r.figures[f.name+": new leader"], d)
			line += fmt.Sprintf(": a majority named a new leader after %s", d.Round(time.Millisecond))
		} else {
			line += ": no new leader within 15s"
		}
	}
	if rest := 3*time.Second - time.Since(start); rest > 0 {
		time.Sleep(rest)
	}
	healed := time.Now()
	heal()
	r.waitReformed()
	d := time.Since(healed)
	r.figures[f.name+": re-formed"] = append(r.figures[f.name+": re-formed"], d)
	r.t.Logf("%s; re-formed %s after healing", line, d.Round(time.Millisecond))
}

// servers are the cluster's servers, in order.
func (r *chaosRun) servers() []*node { return r.c.servers }

func (r *chaosRun) pid(n *node) int { return r.c.procs[n].cmd.Process.Pid }

func (r *chaosRun) signal(n *node, sig syscall.Signal) {
	if err := syscall.Kill(r.pid(n), sig); err != nil {
		r.t.Fatalf("%v to %s: %v", sig, n.Name, err)
	}
}

// start runs n again on its data directory; ready waits for it.
func (r *chaosRun) start(n *node) { r.c.procs[n] = launch(r.t, n) }

func (r *chaosRun) ready(nodes ...*node) {
	for _, n := range nodes {
		r.c.procs[n].waitReady()
	}
}

// currentLeader is the server a majority of the servers name, or nil.
func (r *chaosRun) currentLeader() *node {
	names := map[string]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, s := range r.servers() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := r.polls[s].Status().Leader()
			if err == nil && l != "" {
				mu.Lock()
				names[l]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for addr, votes := range names {
		if votes*2 > len(r.servers()) {
			for _, s := range r.servers() {
				if s.serverAddr() == addr {
					return s
				}
			}
		}
	}
	return nil
}

func (r *chaosRun) leader() *node {
	r.t.Helper()
	deadline := time.Now().Add(chaosReform)
	for time.Now().Before(deadline) {
		if l := r.currentLeader(); l != nil {
			return l
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.t.Fatalf("no leader that a majority names within %s", chaosReform)
	return nil
}

// newLeaderAfter is how long after since a majority named a leader other
// than old.
func (r *chaosRun) newLeaderAfter(old *node, since time.Time, limit time.Duration) (time.Duration, bool) {
	for time.Since(since) < limit {
		if l := r.currentLeader(); l != nil && l != old {
			return time.Since(since), true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return 0, false
}

// waitReformed waits until every server runs, a majority names a leader,
// and a write through every server succeeds; past chaosReform the cluster
// is wedged and the test fails. It returns the leader.
func (r *chaosRun) waitReformed() *node {
	r.t.Helper()
	deadline := time.Now().Add(chaosReform)
	for {
		leader, why := r.currentLeader(), ""
		if leader == nil {
			why = "no leader"
		}
		for _, s := range r.servers() {
			if why != "" {
				break
			}
			if _, err := r.probes[s].KV().Put(&api.KVPair{Key: "chaos/probe", Value: []byte(s.Name)}, nil); err != nil {
				why = fmt.Sprintf("a write through %s: %v", s.Name, err)
			}
		}
		if why == "" {
			return leader
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("BUG: the cluster has not re-formed %s after healing (wedged): %s", chaosReform, why)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func killLeader(r *chaosRun) (func(), *node) {
	l := r.leader()
	r.c.kill(l)
	return func() { r.start(l); r.ready(l) }, l
}

func killFollower(r *chaosRun) (func(), *node) {
	f := r.c.followers(r.leader())[0]
	r.c.kill(f)
	return func() { r.start(f); r.ready(f) }, nil
}

func stopLeader(r *chaosRun) (func(), *node) {
	l := r.leader()
	r.signal(l, syscall.SIGSTOP)
	r.t.Cleanup(func() { syscall.Kill(r.pid(l), syscall.SIGCONT) })
	return func() { r.signal(l, syscall.SIGCONT) }, l
}

// killTwo kills the leader and a follower: the quorum is gone until they
// restart.
func killTwo(r *chaosRun) (func(), *node) {
	l := r.leader()
	f := r.c.followers(l)[0]
	r.c.kill(l)
	r.c.kill(f)
	return func() { r.start(l); r.start(f); r.ready(l, f) }, nil
}

// partitionLeader cuts the leader off from every other agent; it measures
// how soon a write through the majority side succeeds.
func partitionLeader(r *chaosRun) (func(), *node) {
	l := r.leader()
	isolate(r.t, l.Bind)
	start := time.Now()
	r.t.Cleanup(func() { healNetwork(r.t) })
	majority := r.c.followers(l)[0]
	for time.Since(start) < 15*time.Second {
		if _, err := r.polls[majority].KV().Put(&api.KVPair{Key: "chaos/majority", Value: []byte("x")}, nil); err == nil {
			r.figures["partition the leader: writes on the majority side"] = append(r.figures["partition the leader: writes on the majority side"], time.Since(start))
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	return func() { healNetwork(r.t) }, l
}

// restartEach stops every server in turn (SIGTERM) and starts it again,
// waiting until the cluster re-forms between them.
func restartEach(r *chaosRun) (func(), *node) {
	for _, s := range r.servers() {
		r.signal(s, syscall.SIGTERM)
		select {
		case <-r.c.procs[s].exited:
		case <-time.After(15 * time.Second):
			r.signal(s, syscall.SIGABRT)
			select {
			case <-r.c.procs[s].exited:
			case <-time.After(5 * time.Second):
			}
			r.t.Errorf("BUG: %s did not stop within 15s of SIGTERM:\n%s", s.Name, r.c.procs[s].out.String())
			r.c.kill(s)
		}
		r.start(s)
		r.ready(s)
		r.waitReformed()
	}
	return func() {}, nil
}

func killAll(r *chaosRun) (func(), *node) {
	for _, s := range r.servers() {
		r.c.kill(s)
	}
	return func() {
		for _, s := range r.servers() {
			r.start(s)
		}
		r.ready(r.servers()...)
	}, nil
}

// report logs the figures: operations, and per fault kind the time to a
// new leader and to re-form (median and worst).
func (r *chaosRun) report(elapsed time.Duration) {
	w := r.w
	total := 0
	var counts []string
	for what, n := range w.counts {
		total += n
		counts = append(counts, fmt.Sprintf("%s %d", what, n))
	}
	sort.Strings(counts)
	for _, line := range w.slowOps {
		r.t.Logf("chaos: slow: %s", line)
	}
	r.t.Logf("chaos: %d operations in %s (%.0f/s): %s", total, elapsed.Round(time.Second), float64(total)/elapsed.Seconds(), strings.Join(counts, ", "))
	var names []string
	for name := range r.figures {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		ds := append([]time.Duration(nil), r.figures[name]...)
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		r.t.Logf("chaos: %s: median %s, worst %s (%d times)", name, ds[(len(ds)-1)/2].Round(time.Millisecond), ds[len(ds)-1].Round(time.Millisecond), len(ds))
	}
}

// check runs the checkers over what the workload saw.
func (r *chaosRun) check() {
	w := r.w
	unknown := 0
	for _, op := range w.history {
		if op.Return == unknownReturn {
			unknown++
		}
	}
	start := time.Now()
	res, path, err := checkLinearizable(w.history, 5*time.Minute)
	switch {
	case err != nil:
		r.t.Errorf("linearizability check: %v", err)
	case res == porcupine.Illegal:
		r.t.Errorf("BUG: the history of %d operations is not linearizable; porcupine's visualization: %s", len(w.history), path)
	case res == porcupine.Unknown:
		r.t.Errorf("the linearizability check did not finish in 5 minutes (%d operations, %d unknown); partial visualization: %s", len(w.history), unknown, path)
	default:
		r.t.Logf("chaos: %d operations (%d with unknown outcomes) linearizable, checked in %s", len(w.history), unknown, time.Since(start).Round(time.Millisecond))
	}
	if overlaps := overlappingHolds(w.holds); len(overlaps) > 0 {
		r.t.Errorf("BUG: two clients held the lock at once, %d times; first: %s", len(overlaps), overlaps[0])
	} else {
		r.t.Logf("chaos: %d lock holds, never two at once", len(w.holds))
	}
}
