package agent

import (
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
