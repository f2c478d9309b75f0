package e2e

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/hashicorp/consul/api"
)

// chaosRequestTimeout bounds one request of the workload: a write waits up
// to 7 s for a leader and 15 s for its last attempt, and 2 s more for the
// agent's own copy.
const chaosRequestTimeout = 25 * time.Second

// outcome is what a client can tell about a write.
type outcome int

const (
	outOK      outcome = iota // applied (for a CAS: answered, true or false)
	outFailed                 // definitely not applied: refused before sending, 4xx, "No cluster leader"
	outUnknown                // a timeout, a cut connection, any other 5xx
)

// classify sorts a write's error. "No cluster leader" is the API's promise
// that nothing was applied: the checker holds it to that.
func classify(err error) outcome {
	if err == nil {
		return outOK
	}
	var se api.StatusError
	if errors.As(err, &se) {
		if se.Code < 500 || strings.HasPrefix(se.Body, "No cluster leader") {
			return outFailed
		}
		return outUnknown
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return outFailed // the agent was down: nothing was sent
	}
	return outUnknown
}

// lockHold is one acknowledged acquire of the lock and when it ended.
type lockHold struct {
	worker   int
	session  string
	acquired time.Duration // when the acquire returned
	// released is when the holder asked to give the lock up (release, or
	// else destroy of the session); zero when neither was acknowledged.
	released time.Duration
	lost     bool // the release answered false: the session had lost it
}

// chaosWorkload runs the clients and records what they saw.
type chaosWorkload struct {
	start   time.Time
	agents  []*node
	clients map[*node]*api.Client

	mu      sync.Mutex
	history []porcupine.Operation
	holds   []lockHold
	counts  map[string]int
	slowOps []string
}

func newChaosWorkload(t testing.TB, agents []*node) *chaosWorkload {
	w := &chaosWorkload{start: time.Now(), agents: agents, clients: map[*node]*api.Client{}, counts: map[string]int{}}
	for _, n := range agents {
		w.clients[n] = boundedClient(t, n, chaosRequestTimeout)
	}
	return w
}

func (w *chaosWorkload) now() int64 { return int64(time.Since(w.start)) }

func (w *chaosWorkload) count(what string) {
	w.mu.Lock()
	w.counts[what]++
	w.mu.Unlock()
}

// record keeps an operation for the checker; a write whose outcome is
// unknown returns at the end of time.
func (w *chaosWorkload) record(client int, in regInput, call int64, out regOutput, ret int64, o outcome) {
	w.count(in.Op + " " + [...]string{"ok", "failed", "unknown"}[o])
	if o == outFailed {
		return // not applied: it did not happen
	}
	if o == outUnknown {
		out.Unknown, ret = true, unknownReturn
	}
	w.mu.Lock()
	w.history = append(w.history, porcupine.Operation{ClientId: client, Input: in, Call: call, Output: out, Return: ret})
	w.mu.Unlock()
}

// read is a ?consistent read, recorded when it answered.
func (w *chaosWorkload) read(client int, kv *api.KV, key string) (string, uint64, bool) {
	call := w.now()
	p, _, err := kv.Get(key, &api.QueryOptions{RequireConsistent: true})
	ret := w.now()
	if err != nil {
		w.count("read failed")
		return "", 0, false
	}
	value, idx := "\x00absent", uint64(0)
	if p != nil {
		value, idx = string(p.Value), p.ModifyIndex
	}
	w.record(client, regInput{Op: "read", Key: key}, call, regOutput{Value: value}, ret, outOK)
	return value, idx, true
}

// kvClient appends to the history until stop closes: ?consistent reads,
// PUTs of unique values, and CAS at the ModifyIndex of a read, each through
// an agent picked at random.
func (w *chaosWorkload) kvClient(id int, keys []string, stop <-chan struct{}) {
	rng := rand.New(rand.NewPCG(uint64(id), uint64(w.start.UnixNano())))
	for n := 0; ; n++ {
		select {
		case <-stop:
			return
		default:
		}
		agent := w.agents[rng.IntN(len(w.agents))]
		kv := w.clients[agent].KV()
		key := keys[rng.IntN(len(keys))]
		value := fmt.Sprintf("c%d-%d", id, n)
		opStart := time.Now()
		op := rng.IntN(3)
		switch op {
		case 0:
			w.read(id, kv, key)
		case 1:
			call := w.now()
			_, err := kv.Put(&api.KVPair{Key: key, Value: []byte(value)}, nil)
			w.record(id, regInput{Op: "write", Key: key, Value: value}, call, regOutput{}, w.now(), classify(err))
		case 2:
			if expected, idx, ok := w.read(id, kv, key); ok {
				call := w.now()
				applied, _, err := kv.CAS(&api.KVPair{Key: key, Value: []byte(value), ModifyIndex: idx}, nil)
				w.record(id, regInput{Op: "cas", Key: key, Value: value, Expected: expected}, call, regOutput{OK: applied}, w.now(), classify(err))
			}
		}
		if d := time.Since(opStart); d > 5*time.Second {
			w.slow(fmt.Sprintf("%s via %s took %s (started at %s)", []string{"read", "write", "cas"}[op], agent.Name, d.Round(time.Millisecond), opStart.Sub(w.start).Round(time.Millisecond)))
		}
		if rng.IntN(5) == 0 {
			time.Sleep(time.Duration(rng.IntN(5)) * time.Millisecond)
		}
	}
}

// slow keeps a line about an operation that took long (the first 20).
func (w *chaosWorkload) slow(line string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.slowOps) < 20 {
		w.slowOps = append(w.slowOps, line)
	}
}

// lockClient takes the lock key in turns with the other lock clients,
// through agent: a session (on agent's node), acquire, hold a moment,
// release, destroy the session.
func (w *chaosWorkload) lockClient(id int, agent *node, key string, stop <-chan struct{}) {
	c := w.clients[agent]
	rng := rand.New(rand.NewPCG(uint64(id), 7))
	for {
		select {
		case <-stop:
			return
		default:
		}
		sid, _, err := c.Session().Create(&api.SessionEntry{Name: "chaos", LockDelay: time.Millisecond, Behavior: api.SessionBehaviorRelease}, nil)
		if err != nil {
			w.count("session-create failed")
			time.Sleep(50 * time.Millisecond)
			continue
		}
		w.count("session-create ok")
		ok, _, err := c.KV().Acquire(&api.KVPair{Key: key, Value: []byte(sid), Session: sid}, nil)
		acquired := time.Since(w.start)
		if err == nil && ok {
			w.count("acquire ok")
			h := lockHold{worker: id, session: sid, acquired: acquired}
			time.Sleep(time.Duration(10+rng.IntN(40)) * time.Millisecond)
			released := time.Since(w.start)
			rok, _, rerr := c.KV().Release(&api.KVPair{Key: key, Session: sid}, nil)
			switch {
			case rerr == nil && rok:
				h.released = released
			case rerr == nil:
				h.lost = true
			}
			destroyed := time.Since(w.start)
			if _, err := c.Session().Destroy(sid, nil); err == nil && h.released == 0 {
				h.released = destroyed
			}
			w.mu.Lock()
			w.holds = append(w.holds, h)
			w.mu.Unlock()
			continue
		}
		w.count("acquire refused or failed")
		c.Session().Destroy(sid, nil)
		time.Sleep(time.Duration(rng.IntN(20)) * time.Millisecond)
	}
}

// overlappingHolds are the pairs of acknowledged lock holds that certainly
// overlapped: each had its acquire answered before the other asked to give
// the lock up. A hold whose release found the lock already lost (its
// session was invalidated) is left out: another may rightly hold it then.
func overlappingHolds(holds []lockHold) []string {
	end := func(h lockHold) time.Duration {
		if h.released == 0 {
			return time.Duration(1<<62 - 1)
		}
		return h.released
	}
	var out []string
	for i, a := range holds {
		for _, b := range holds[i+1:] {
			if a.lost || b.lost {
				continue
			}
			if max(a.acquired, b.acquired) < min(end(a), end(b)) {
				out = append(out, fmt.Sprintf("client %d (session %s, acquired by %s, released %s) and client %d (session %s, acquired by %s, released %s)",
					a.worker, a.session, a.acquired, a.released, b.worker, b.session, b.acquired, b.released))
			}
		}
	}
	return out
}

// logRate logs the operations finished in each period until stop closes.
func (w *chaosWorkload) logRate(t testing.TB, period time.Duration, stop <-chan struct{}) {
	tick := time.NewTicker(period)
	defer tick.Stop()
	last := 0
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		w.mu.Lock()
		n := 0
		for _, c := range w.counts {
			n += c
		}
		w.mu.Unlock()
		t.Logf("chaos: %.0f operations/s in the last %s", float64(n-last)/period.Seconds(), period)
		last = n
	}
}
