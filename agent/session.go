package agent

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/go-memdb"

	"github.com/coredns-coord/coredns-coord/raftstore"
	"github.com/coredns-coord/coredns-coord/state"
	"github.com/coredns-coord/coredns-coord/structs"
)

// sessionTTLGrace multiplies a session's TTL into the time it may go
// unrenewed before it is invalidated. Consul allows up to 2x; 1.5x still
// forgives one lost renewal from a client that renews every TTL/2 (as the
// official client does) and hands a dead holder's locks on sooner.
const sessionTTLGrace = 1.5

// SessionCreate validates s, fills Consul's defaults (Node: this agent's
// node; NodeChecks: serfHealth when nil; Behavior release) and creates it
// through Raft. LockDelay is taken as given: 0 means none, and the HTTP
// API fills Consul's 15s default when a request names none. It returns the new session's ID. Bad input
// wraps state.ErrInvalidSession (a 400).
func (a *Agent) SessionCreate(s *structs.Session) (string, error) {
	if s.Node == "" {
		s.Node = a.cfg.NodeName
	}
	if s.NodeChecks == nil {
		s.NodeChecks = []string{structs.SerfCheckID}
	}
	if s.Behavior == "" {
		s.Behavior = structs.SessionRelease
	}
	if err := validateSession(s); err != nil {
		return "", err
	}
	s.ID = uuid.NewString()
	if _, err := apply(a, raftstore.Session, &structs.SessionRequest{Op: structs.SessionCreate, Session: *s}); err != nil {
		return "", err
	}
	return s.ID, nil
}

func validateSession(s *structs.Session) error {
	switch s.Behavior {
	case structs.SessionRelease, structs.SessionDelete:
	default:
		return fmt.Errorf("%w: Behavior %q is not %q or %q", state.ErrInvalidSession, s.Behavior, structs.SessionRelease, structs.SessionDelete)
	}
	if s.LockDelay < 0 || s.LockDelay > structs.MaxLockDelay {
		return fmt.Errorf("%w: LockDelay %s is not between 0s and %s", state.ErrInvalidSession, s.LockDelay, structs.MaxLockDelay)
	}
	if s.TTL != "" {
		ttl, err := time.ParseDuration(s.TTL)
		if err != nil {
			return fmt.Errorf("%w: TTL %q: %v", state.ErrInvalidSession, s.TTL, err)
		}
		if ttl != 0 && (ttl < structs.MinSessionTTL || ttl > structs.MaxSessionTTL) {
			return fmt.Errorf("%w: TTL %s is not between %s and %s", state.ErrInvalidSession, ttl, structs.MinSessionTTL, structs.MaxSessionTTL)
		}
	}
	return nil
}

// SessionDestroy invalidates a session: its locks are released or deleted
// by its Behavior. Destroying a session that does not exist is no error.
func (a *Agent) SessionDestroy(id string) error {
	return a.destroySession(id, state.CauseAPI)
}

func (a *Agent) destroySession(id, cause string) error {
	a.sessions.stop(id)
	_, err := apply(a, raftstore.Session, &structs.SessionRequest{
		Op: structs.SessionDestroy, Session: structs.Session{ID: id}, Cause: cause,
	})
	if err == nil && cause == state.CauseTTL {
		a.invalidatedTTL.Add(1)
	} else if err == nil {
		a.invalidatedAPI.Add(1)
	}
	return err
}

// SessionRenew resets a session's TTL timer on the leader and returns the
// session, or nil when it does not exist (a 404).
func (a *Agent) SessionRenew(id string) (*structs.Session, error) {
	return a.renewSession(id, 0)
}

// sessionTimers invalidate sessions whose TTL lapsed without a renewal.
// They run on the server that leads; a new leader gives every TTL session
// a fresh full period, as Consul does.
type sessionTimers struct {
	mu     sync.Mutex
	timers map[string]*time.Timer
	expire func(id string)
}

func (t *sessionTimers) reset(id string, ttl time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if old, ok := t.timers[id]; ok {
		old.Stop()
	}
	if t.timers == nil {
		t.timers = map[string]*time.Timer{}
	}
	t.timers[id] = time.AfterFunc(time.Duration(float64(ttl)*sessionTTLGrace), func() { t.expire(id) })
}

// sync keeps exactly the timers of live, arming missing ones.
func (t *sessionTimers) sync(live map[string]time.Duration) {
	t.mu.Lock()
	for id, timer := range t.timers {
		if _, ok := live[id]; !ok {
			timer.Stop()
			delete(t.timers, id)
		}
	}
	var missing []string
	for id := range live {
		if _, ok := t.timers[id]; !ok {
			missing = append(missing, id)
		}
	}
	t.mu.Unlock()
	for _, id := range missing {
		t.reset(id, live[id])
	}
}

func (t *sessionTimers) stop(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if old, ok := t.timers[id]; ok {
		old.Stop()
		delete(t.timers, id)
	}
}

func (t *sessionTimers) stopAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id, timer := range t.timers {
		timer.Stop()
		delete(t.timers, id)
	}
}

// expireSession is a TTL timer firing: invalidate, unless the agent stops.
func (a *Agent) expireSession(id string) {
	select {
	case <-a.stopCh:
		return
	default:
	}
	if err := a.destroySession(id, state.CauseTTL); err != nil {
		agentLog.Errorf("invalidate session %s after its TTL: %v", id, err)
	}
}

// syncSessionTimers arms a timer (a full TTL) for every TTL session that
// has none and drops the timers of sessions that are gone; the leader runs
// it whenever the sessions table changes. It returns the channel that
// closes on the next change.
func (a *Agent) syncSessionTimers() <-chan struct{} {
	ws := memdb.NewWatchSet()
	_, sessions, err := a.State().SessionList(ws)
	if err != nil {
		agentLog.Errorf("session timers: %v", err)
		return nil
	}
	live := make(map[string]time.Duration, len(sessions))
	for _, s := range sessions {
		if ttl := s.TTLDuration(); ttl > 0 {
			live[s.ID] = ttl
		}
	}
	a.sessions.sync(live)
	for ch := range ws {
		return ch
	}
	return nil
}

// lockRefusedEarly refuses an acquire the leader can already tell will
// fail (lock-delay, unknown session, another holder), so that contending
// clients do not fill the Raft log with refusals.
func (a *Agent) lockRefusedEarly(req *structs.KVRequest) error {
	if req.Op != structs.KVLock {
		return nil
	}
	st := a.State()
	if until := st.KVLockDelay(req.DirEnt.Key); !until.IsZero() {
		return fmt.Errorf("%w: key %q is in lock-delay for %s", state.ErrLockRefused, req.DirEnt.Key, time.Until(until).Round(time.Millisecond))
	}
	if _, s, err := st.SessionGet(nil, req.DirEnt.Session); err != nil || s == nil {
		return fmt.Errorf("%w: invalid session %q", state.ErrLockRefused, req.DirEnt.Session)
	}
	if _, e, _ := st.KVGet(nil, req.DirEnt.Key); e != nil && e.Session != "" && e.Session != req.DirEnt.Session {
		return fmt.Errorf("%w: key %q is held by another session", state.ErrLockRefused, req.DirEnt.Key)
	}
	return nil
}

// Txn runs a transaction: read-only ones from local state, others through
// Raft, all or nothing. A failed transaction returns a response with
// Errors and writes nothing; malformed ones wrap state.ErrInvalidTxn.
func (a *Agent) Txn(ops structs.TxnOps) (*structs.TxnResponse, error) {
	if err := state.ValidateTxn(ops); err != nil {
		return nil, err
	}
	// Lock-delay is wall-clock state of the leader, so it is checked here
	// and not by the FSM, which must apply the same way on every server.
	for i, op := range ops {
		if op.KV == nil || op.KV.Verb != structs.KVLock {
			continue
		}
		if until := a.State().KVLockDelay(op.KV.DirEnt.Key); !until.IsZero() {
			return &structs.TxnResponse{Errors: []*structs.TxnError{{
				OpIndex: i, What: fmt.Sprintf("key %q is in lock-delay for %s", op.KV.DirEnt.Key, time.Until(until).Round(time.Millisecond)),
			}}}, nil
		}
	}
	if state.IsReadOnlyTxn(ops) {
		return a.State().Txn(0, ops)
	}
	resp, err := apply(a, raftstore.Txn, &structs.TxnRequest{Ops: ops})
	if err != nil {
		return nil, err
	}
	if resp == nil {
		return nil, errors.New("agent: txn returned no response")
	}
	return resp, nil
}
