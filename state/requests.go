package state

import (
	"sync"
	"time"

	"github.com/coredns-coord/coredns-coord/structs"
)

// RequestRetention is how long the FSM remembers the result of a request
// ID, in the leaders' append time (raft.Log.AppendedAt, the same on every
// replica). A write is re-sent with its ID for at most the agent's hold
// time plus one call's timeout (7 s + 15 s) after it was first sent; the
// other 38 s cover a slow apply queue and clock skew between servers.
const RequestRetention = 60 * time.Second

// Request is the FSM's record of one applied request ID: the log index
// and append time it was applied at, and its result (nil, a KV bool, or a
// *structs.TxnResponse).
type Request struct {
	ID     structs.RequestID
	Index  uint64
	Time   time.Time
	Result any
}

// requestTable remembers recent request IDs in log order. Every replica
// applies the same entries with the same append times, so every replica
// forgets the same IDs at the same index, and a new leader answers a
// re-send as the old one would have.
type requestTable struct {
	mu    sync.Mutex
	byID  map[structs.RequestID]*Request
	order []*Request // oldest first; head is where the live ones start
	head  int
	// clock is the append time of the last entry applied. It follows the
	// current leader's clock, even backwards: a leader whose clock runs
	// ahead evicts early only while it leads, and records it appended stay
	// at the head (in log order) until the clock passes them.
	clock time.Time
}

func newRequestTable() *requestTable {
	return &requestTable{byID: map[structs.RequestID]*Request{}}
}

// RequestResult returns the result the request id had when it was applied,
// if it was applied within the retention.
func (s *Store) RequestResult(id structs.RequestID) (any, bool) {
	rt := s.requests
	rt.mu.Lock()
	defer rt.mu.Unlock()
	r, ok := rt.byID[id]
	if !ok {
		return nil, false
	}
	return r.Result, true
}

// RememberRequest records that id was applied at idx (appended at
// appended) with result. A zero appended time (an entry of an older raft)
// counts as the clock. ExpireRequests, which the FSM calls after every
// entry, forgets what is older than the retention.
func (s *Store) RememberRequest(id structs.RequestID, idx uint64, appended time.Time, result any) {
	rt := s.requests
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if appended.IsZero() {
		appended = rt.clock
	}
	r := &Request{ID: id, Index: idx, Time: appended, Result: result}
	rt.byID[id] = r
	rt.order = append(rt.order, r)
}

// ExpireRequests moves the eviction clock to appended (the entry just
// applied) and forgets what it passed.
func (s *Store) ExpireRequests(appended time.Time) {
	if appended.IsZero() {
		return
	}
	rt := s.requests
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.clock = appended
	rt.expireLocked()
}

func (rt *requestTable) expireLocked() {
	cutoff := rt.clock.Add(-RequestRetention)
	for rt.head < len(rt.order) && rt.order[rt.head].Time.Before(cutoff) {
		r := rt.order[rt.head]
		delete(rt.byID, r.ID)
		rt.order[rt.head] = nil
		rt.head++
	}
	// Compact once the dead prefix is half the slice, so that the
	// backing array does not grow without bound.
	if rt.head > 1024 && rt.head*2 >= len(rt.order) {
		n := copy(rt.order, rt.order[rt.head:])
		clear(rt.order[n:])
		rt.order = rt.order[:n]
		rt.head = 0
	}
}

// Requests lists the remembered requests, oldest first.
func (s *Store) Requests() []Request {
	rt := s.requests
	rt.mu.Lock()
	defer rt.mu.Unlock()
	out := make([]Request, 0, len(rt.order)-rt.head)
	for _, r := range rt.order[rt.head:] {
		out = append(out, *r)
	}
	return out
}

// replace swaps in the requests of a restored snapshot and its clock.
func (rt *requestTable) replace(reqs []*Request, clock time.Time) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.byID = make(map[structs.RequestID]*Request, len(reqs))
	rt.order, rt.head, rt.clock = reqs, 0, clock
	for _, r := range reqs {
		rt.byID[r.ID] = r
	}
}
