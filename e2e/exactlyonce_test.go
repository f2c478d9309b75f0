package e2e

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
)

// The outcome of one write as its client saw it.
type writeOutcome int

const (
	wrOK       writeOutcome = iota // 200 true: applied
	wrRefused                      // 200 false (a CAS that did not match): not applied
	wrUnknown                      // "Outcome unknown:", another 5xx, or no answer: at most once
	wrNoLeader                     // 500 "No cluster leader": not applied
	wr4xx                          // refused as bad input: not applied
)

func (o writeOutcome) String() string {
	return [...]string{"ok", "refused", "unknown", "no-leader", "4xx"}[o]
}

// exactlyOnceWrite is one write of the workload and what came of it.
type exactlyOnceWrite struct {
	worker   int
	key      string
	value    string // the token (lists) or the number (seq)
	agent    string
	casIndex uint64 // lists: the ModifyIndex the CAS was made at
	sent     time.Duration
	answered time.Duration
	outcome  writeOutcome
	kind     string // unknown: outcome-unknown, 5xx or transport
	detail   string // the error, if any
}

func (w *exactlyOnceWrite) String() string {
	s := fmt.Sprintf("%s %q by w%d via %s, sent %.2fs, answered %.2fs: %s", w.key, w.value, w.worker, w.agent,
		w.sent.Seconds(), w.answered.Seconds(), w.outcome)
	if strings.HasPrefix(w.key, "list/") {
		s += fmt.Sprintf(" (cas=%d)", w.casIndex)
	}
	if w.kind != "" {
		s += " [" + w.kind + "]"
	}
	if w.detail != "" {
		s += ": " + w.detail
	}
	return s
}

// classifyWrite turns a write's error into its outcome (ok or refused are
// decided by the caller when err is nil).
func classifyWrite(err error) (writeOutcome, string) {
	var se api.StatusError
	if errors.As(err, &se) {
		switch {
		case se.Code >= 400 && se.Code < 500:
			return wr4xx, ""
		case se.Code == 500 && strings.HasPrefix(se.Body, "No cluster leader"):
			return wrNoLeader, ""
		case strings.HasPrefix(se.Body, "Outcome unknown:"):
			return wrUnknown, "outcome-unknown"
		default:
			return wrUnknown, "5xx"
		}
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		// Not sent at all (the agent is down), but the client cannot
		// always tell that apart: it stays unknown.
		return wrUnknown, "transport-refused"
	}
	return wrUnknown, "transport"
}

// Six clients append unique tokens to three shared keys by read and CAS,
// and write 1, 2, 3, ... to a key each, through every agent, while the
// leader is killed (SIGKILL) and restarted three times and stopped
// (SIGSTOP) once. Every write carries a request ID, so an agent re-sending
// a write whose first attempt lost its leader gets the first result:
// nothing is applied twice, nothing acknowledged is lost, a CAS answered
// false was not applied, and an older plain PUT never lands after a newer
// acknowledged one. Before request IDs, a CAS sent to a follower while the
// leader died was answered false although applied, and a PUT was applied
// again after a later acknowledged CAS.
func TestLeaderKillsDuringConcurrentCASApplyEachWriteOnce(t *testing.T) {
	multiProcess(t)
	const (
		workers     = 6
		lists       = 3
		leaderKills = 3
		killEvery   = 5 * time.Second
		downFor     = 1500 * time.Millisecond
		stopFor     = 2 * time.Second
		// A write may wait 7 s for a leader plus up to 15 s for its last
		// attempt, and 2 s more for the local copy: no later than this,
		// a request has an answer or counts as unknown.
		requestTimeout = 25 * time.Second
		// Workers stop on their own by then even if the fault schedule
		// did not finish.
		workloadCap = 45 * time.Second
	)
	c := newCluster(t, 3, 1, "")
	agents := c.all()
	leader := c.leader()
	for i := 0; i < lists; i++ {
		if _, err := boundedClient(t, leader, 10*time.Second).KV().Put(&api.KVPair{Key: fmt.Sprintf("list/%d", i)}, nil); err != nil {
			t.Fatalf("create list/%d: %v", i, err)
		}
	}

	// Every worker has its own clients, one per agent, and picks an agent
	// at random for each request. The ports stay across restarts.
	clients := make([][]*api.Client, workers)
	for w := range clients {
		for _, n := range agents {
			clients[w] = append(clients[w], boundedClient(t, n, requestTimeout))
		}
	}
	listWrites := make([][]*exactlyOnceWrite, workers)
	seqWrites := make([][]*exactlyOnceWrite, workers)
	readErrors := make([]int, workers)

	start := time.Now()
	since := func() time.Duration { return time.Since(start) }
	stop := make(chan struct{})
	var stopOnce sync.Once
	var wg sync.WaitGroup
	stopWorkers := func() {
		stopOnce.Do(func() { close(stop) })
		wg.Wait()
	}
	// A failure of the fault schedule (t.Fatal) still ends every worker
	// before the cleanups kill the processes.
	defer stopWorkers()
	stopped := func() bool {
		select {
		case <-stop:
			return true
		default:
			return since() > workloadCap
		}
	}
	pause := func(d time.Duration) {
		select {
		case <-stop:
		case <-time.After(d):
		}
	}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := clients[w]
			seqKey := fmt.Sprintf("seq/%d", w)
			tokens, seq := 0, 0
			for !stopped() {
				// Append a token to a list: consistent read, CAS at its index.
				key := fmt.Sprintf("list/%d", rand.IntN(lists))
				ra := rand.IntN(len(cl))
				p, _, err := cl[ra].KV().Get(key, &api.QueryOptions{RequireConsistent: true})
				if err == nil && p == nil {
					// It was created, acknowledged, before the workload.
					t.Errorf("%.2fs: consistent read of %s via %s: no such key", since().Seconds(), key, agents[ra].Name)
				}
				if err != nil || p == nil {
					readErrors[w]++
					pause(100 * time.Millisecond)
				} else {
					tokens++
					a := rand.IntN(len(cl))
					wr := &exactlyOnceWrite{worker: w, key: key, value: fmt.Sprintf("w%d-%d", w, tokens), agent: agents[a].Name,
						casIndex: p.ModifyIndex, sent: since()}
					listWrites[w] = append(listWrites[w], wr)
					next := wr.value
					if len(p.Value) > 0 {
						next = string(p.Value) + "," + wr.value
					}
					ok, _, err := cl[a].KV().CAS(&api.KVPair{Key: key, Value: []byte(next), ModifyIndex: p.ModifyIndex}, nil)
					wr.answered = since()
					switch {
					case err != nil:
						wr.outcome, wr.kind = classifyWrite(err)
						wr.detail = err.Error()
					case ok:
						wr.outcome = wrOK
					default:
						wr.outcome = wrRefused
					}
					if err != nil {
						pause(50 * time.Millisecond)
					}
				}
				if stopped() {
					return
				}
				// The next number on this worker's own key.
				seq++
				a := rand.IntN(len(cl))
				wr := &exactlyOnceWrite{worker: w, key: seqKey, value: strconv.Itoa(seq), agent: agents[a].Name, sent: since()}
				seqWrites[w] = append(seqWrites[w], wr)
				_, err = cl[a].KV().Put(&api.KVPair{Key: seqKey, Value: []byte(wr.value)}, nil)
				wr.answered = since()
				if err != nil {
					wr.outcome, wr.kind = classifyWrite(err)
					wr.detail = err.Error()
					pause(50 * time.Millisecond)
				}
				pause(time.Duration(rand.IntN(10)) * time.Millisecond)
			}
		}()
	}

	// The faults, from this goroutine (the helpers may fail the test):
	// SIGKILL of the leader every 5 s, restarted after 1.5 s; then the
	// leader stopped for 2 s.
	var events []string
	event := func(format string, args ...any) {
		events = append(events, fmt.Sprintf("%6.2fs %s", since().Seconds(), fmt.Sprintf(format, args...)))
	}
	// Logged last, whatever ends the test.
	defer func() { t.Logf("faults and phases:\n%s", strings.Join(events, "\n")) }()
	signal := func(n *node, sig syscall.Signal) {
		t.Helper()
		if err := syscall.Kill(c.procs[n].cmd.Process.Pid, sig); err != nil {
			t.Fatalf("%v to %s: %v", sig, n.Name, err)
		}
		event("%v %s", sig, n.Name)
	}
	pause(3 * time.Second)
	for k := 0; k < leaderKills; k++ {
		l := c.leader()
		killed := time.Now()
		c.kill(l)
		event("SIGKILL leader %s (kill %d)", l.Name, k+1)
		time.Sleep(downFor)
		c.restart(l)
		event("%s restarted and ready", l.Name)
		time.Sleep(time.Until(killed.Add(killEvery)))
	}
	// c.leader would hang on a stopped server: pick it first, and resume
	// it even if the test fails in between.
	l := c.leader()
	signal(l, syscall.SIGSTOP)
	resumed := false
	defer func() {
		if !resumed {
			syscall.Kill(c.procs[l].cmd.Process.Pid, syscall.SIGCONT)
		}
	}()
	time.Sleep(stopFor)
	signal(l, syscall.SIGCONT)
	resumed = true
	// The workload goes on a while under the new leader.
	time.Sleep(5 * time.Second)
	event("workload told to stop")
	stopWorkers()
	event("every worker done")
	workload := since()

	// Every process runs and there is a leader.
	if alive := c.alive(); len(alive) != len(agents) {
		for _, n := range agents {
			select {
			case <-c.procs[n].exited:
				t.Errorf("%s is not running; its output ends:\n%s", n.Name, tailLines(c.procs[n].out.String(), 40))
			default:
			}
		}
		t.Fatalf("%d of %d agents running at the end", len(alive), len(agents))
	}
	leader = c.leader()
	event("leader %s", leader.Name)

	var keys []string
	for i := 0; i < lists; i++ {
		keys = append(keys, fmt.Sprintf("list/%d", i))
	}
	for w := 0; w < workers; w++ {
		keys = append(keys, fmt.Sprintf("seq/%d", w))
	}
	final := map[string]*api.KVPair{}
	eventually(t, "consistent reads of every key on the leader "+leader.Name, 15*time.Second, func() (bool, string) {
		kv := boundedClient(t, leader, 5*time.Second).KV()
		for _, k := range keys {
			p, _, err := kv.Get(k, &api.QueryOptions{RequireConsistent: true})
			if err != nil {
				return false, fmt.Sprintf("%s: %v", k, err)
			}
			final[k] = p
		}
		return true, ""
	})

	// 1. The lists: each token at most once, the acknowledged ones exactly
	// once, the refused ones never, and nothing nobody wrote.
	byToken := map[string]*exactlyOnceWrite{}
	for _, ws := range listWrites {
		for _, wr := range ws {
			byToken[wr.value] = wr
		}
	}
	count := map[string]int{}
	where := map[string]string{}
	for i := 0; i < lists; i++ {
		key := keys[i]
		p := final[key]
		if p == nil {
			t.Errorf("%s is gone", key)
			continue
		}
		n := 0
		for _, tok := range strings.Split(string(p.Value), ",") {
			if tok == "" {
				continue
			}
			n++
			count[tok]++
			where[tok] = key
			wr, ok := byToken[tok]
			switch {
			case !ok:
				t.Errorf("%s holds %q, which no worker wrote", key, tok)
			case wr.key != key:
				t.Errorf("%s holds %q, which was written to %s: %s", key, tok, wr.key, wr)
			}
		}
		t.Logf("%s: %d tokens, ModifyIndex %d", key, n, p.ModifyIndex)
	}
	for tok, n := range count {
		if n > 1 {
			t.Errorf("%s holds %q %d times (applied more than once): %v", where[tok], tok, n, byToken[tok])
		}
	}
	type tally struct{ attempted, ok, refused, unknown, noLeader, bad, unknownApplied int }
	var cas, puts tally
	unknownKinds := map[string]int{}
	for _, ws := range listWrites {
		for _, wr := range ws {
			cas.attempted++
			in := count[wr.value] > 0
			switch wr.outcome {
			case wrOK:
				cas.ok++
				if !in {
					t.Errorf("acknowledged token missing: %s", wr)
				}
			case wrRefused:
				cas.refused++
				if in {
					t.Errorf("token answered false (CAS refused) but applied: %s", wr)
				}
			case wrUnknown:
				cas.unknown++
				unknownKinds["cas "+wr.kind]++
				if in {
					cas.unknownApplied++
				}
			case wrNoLeader:
				cas.noLeader++
				if in {
					t.Errorf("token answered No cluster leader (not applied) but applied: %s", wr)
				}
			case wr4xx:
				cas.bad++
				if in {
					t.Errorf("token refused with a 4xx but applied: %s", wr)
				}
			}
		}
	}

	// 2. The sequences: the last acknowledged number, or a later one whose
	// outcome is unknown; never an older one.
	for w := 0; w < workers; w++ {
		key := fmt.Sprintf("seq/%d", w)
		var lastOK *exactlyOnceWrite
		for _, wr := range seqWrites[w] {
			puts.attempted++
			switch wr.outcome {
			case wrOK:
				puts.ok++
				lastOK = wr
			case wrUnknown:
				puts.unknown++
				unknownKinds["put "+wr.kind]++
			case wrNoLeader:
				puts.noLeader++
			case wr4xx:
				puts.bad++
			}
		}
		p := final[key]
		if p == nil {
			if lastOK != nil {
				t.Errorf("%s is gone; last acknowledged: %s", key, lastOK)
			}
			continue
		}
		v, err := strconv.Atoi(string(p.Value))
		if err != nil || v < 1 || v > len(seqWrites[w]) {
			t.Errorf("%s = %q (ModifyIndex %d), not a number worker %d wrote (1..%d)", key, p.Value, p.ModifyIndex, w, len(seqWrites[w]))
			continue
		}
		got := seqWrites[w][v-1]
		last := 0
		if lastOK != nil {
			last, _ = strconv.Atoi(lastOK.value)
		}
		switch {
		case v == last:
		case v > last && got.outcome == wrUnknown:
			puts.unknownApplied++
		case v < last:
			t.Errorf("%s = %d (ModifyIndex %d), older than the last acknowledged write (rolled back or applied twice):\n  final value's write: %s\n  last acknowledged:   %s",
				key, v, p.ModifyIndex, got, lastOK)
		default:
			t.Errorf("%s = %d (ModifyIndex %d), a write answered as not applied:\n  %s\n  last acknowledged: %v", key, v, p.ModifyIndex, got, lastOK)
		}
	}

	// 3. Convergence: every agent's own copy ends up with the leader's
	// values (the restarted servers replayed their logs to the same state).
	for _, n := range agents {
		eventually(t, n.Name+"'s copy equal to the leader's", 15*time.Second, func() (bool, string) {
			kv := boundedClient(t, n, 5*time.Second).KV()
			for _, k := range keys {
				p, _, err := kv.Get(k, &api.QueryOptions{AllowStale: true})
				if err != nil {
					return false, fmt.Sprintf("%s: %v", k, err)
				}
				want := final[k]
				if (p == nil) != (want == nil) || (p != nil && (string(p.Value) != string(want.Value) || p.ModifyIndex != want.ModifyIndex)) {
					return false, fmt.Sprintf("%s differs: %+v, leader %+v", k, p, want)
				}
			}
			return true, ""
		})
	}

	// 4. The figures.
	dedup := map[string]float64{}
	var dedupServers, dedupMax, dedupClients, resends, unknownAnswers float64
	var perServer []string
	for _, n := range agents {
		s := n.scrape(t)
		d := metricSum(s, "coredns_coord_raft_requests_deduplicated_total")
		if n.Client {
			dedupClients += d
		} else {
			dedupServers += d
			dedupMax = max(dedupMax, d)
			perServer = append(perServer, fmt.Sprintf("%s=%g", n.Name, d))
			for _, line := range splitLines(s) {
				if rest, ok := strings.CutPrefix(line, "coredns_coord_raft_requests_deduplicated_total{"); ok {
					labels, val, _ := strings.Cut(rest, "} ")
					f, _ := strconv.ParseFloat(strings.TrimSpace(val), 64)
					dedup[labels] += f
				}
			}
		}
		resends += metricSum(s, "coredns_coord_rpc_write_resends_total")
		unknownAnswers += metricSum(s, "coredns_coord_rpc_writes_outcome_unknown_total")
	}
	var byType []string
	for l, v := range dedup {
		byType = append(byType, fmt.Sprintf("%s: %g", l, v))
	}
	sort.Strings(byType)
	var kinds []string
	for k, v := range unknownKinds {
		kinds = append(kinds, fmt.Sprintf("%s %d", k, v))
	}
	sort.Strings(kinds)
	// The writes whose answer was neither a result nor a refused
	// connection, for the record.
	var odd []string
	for w := 0; w < workers; w++ {
		for _, wr := range append(append([]*exactlyOnceWrite{}, listWrites[w]...), seqWrites[w]...) {
			if (wr.outcome == wrUnknown && wr.kind != "transport-refused") || wr.outcome == wrNoLeader || wr.outcome == wr4xx {
				applied := "not applied"
				if strings.HasPrefix(wr.key, "list/") && count[wr.value] > 0 {
					applied = "applied"
				} else if strings.HasPrefix(wr.key, "seq/") {
					applied = "final value " + string(final[wr.key].Value)
				}
				odd = append(odd, fmt.Sprintf("%s (%s)", wr, applied))
			}
		}
	}
	sort.Strings(odd)
	if len(odd) > 30 {
		odd = append(odd[:30], fmt.Sprintf("... and %d more", len(odd)-30))
	}
	if len(odd) > 0 {
		t.Logf("writes answered neither with a result nor a refused connection:\n%s", strings.Join(odd, "\n"))
	}
	// The longest stretches without an acknowledged write, by when the
	// answers came.
	var acks []time.Duration
	for w := 0; w < workers; w++ {
		for _, wr := range append(append([]*exactlyOnceWrite{}, listWrites[w]...), seqWrites[w]...) {
			if wr.outcome == wrOK || wr.outcome == wrRefused {
				acks = append(acks, wr.answered)
			}
		}
	}
	sort.Slice(acks, func(i, j int) bool { return acks[i] < acks[j] })
	type gap struct{ from, to time.Duration }
	var gaps []gap
	for i := 1; i < len(acks); i++ {
		gaps = append(gaps, gap{acks[i-1], acks[i]})
	}
	sort.Slice(gaps, func(i, j int) bool { return gaps[i].to-gaps[i].from > gaps[j].to-gaps[j].from })
	var longest []string
	for _, g := range gaps[:min(5, len(gaps))] {
		longest = append(longest, fmt.Sprintf("%.2fs-%.2fs (%.2fs)", g.from.Seconds(), g.to.Seconds(), (g.to-g.from).Seconds()))
	}
	var all []*exactlyOnceWrite
	for w := 0; w < workers; w++ {
		all = append(append(all, listWrites[w]...), seqWrites[w]...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].answered-all[i].sent > all[j].answered-all[j].sent })
	var slowest []string
	for _, wr := range all[:min(5, len(all))] {
		slowest = append(slowest, fmt.Sprintf("%.2fs: %s", (wr.answered-wr.sent).Seconds(), wr))
	}
	t.Logf("the slowest writes:\n%s", strings.Join(slowest, "\n"))
	reads := 0
	for _, n := range readErrors {
		reads += n
	}
	t.Logf("exactly-once: %d leader kills + 1 SIGSTOP of %s, workload %.1fs, %d workers, %d consistent reads failed",
		leaderKills, stopFor, workload.Seconds(), workers, reads)
	t.Logf("exactly-once: longest stretches without a definite answer (true or false): %s", strings.Join(longest, ", "))
	t.Logf("exactly-once: CAS appends: %d attempted, %d acknowledged, %d refused (false), %d unknown (%d of them applied), %d no-leader, %d 4xx",
		cas.attempted, cas.ok, cas.refused, cas.unknown, cas.unknownApplied, cas.noLeader, cas.bad)
	t.Logf("exactly-once: plain PUTs: %d attempted, %d acknowledged, %d unknown (%d of them the final value), %d no-leader, %d 4xx",
		puts.attempted, puts.ok, puts.unknown, puts.unknownApplied, puts.noLeader, puts.bad)
	t.Logf("exactly-once: unknown by kind: %s", strings.Join(kinds, ", "))
	// Every server applies the same log, so one re-send answered from the
	// records counts once on each server that applied it.
	t.Logf("exactly-once: deduplicated re-sends: sum over servers %g (%s; by type %s; max %g), client replica %g; a lower bound: a restarted server's counter starts again at 0",
		dedupServers, strings.Join(perServer, " "), strings.Join(byType, ", "), dedupMax, dedupClients)
	t.Logf("exactly-once: write re-sends (all agents) %g; outcome-unknown answers (all agents) %g; both include the agents' own writes (serfHealth, anti-entropy) and hops between agents, and restart at 0 with a process",
		resends, unknownAnswers)
}
