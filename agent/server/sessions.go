package server

import (
	"sync"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/coredns-coord/coredns-coord/agent/cluster"
	"github.com/coredns-coord/coredns-coord/raftstore"
	"github.com/coredns-coord/coredns-coord/state"
	"github.com/coredns-coord/coredns-coord/structs"
)

// sessionTTLGrace multiplies a session's TTL into the time it may go
// unrenewed before it is invalidated. Consul allows up to 2x; 1.5x still
// forgives one lost renewal from a client that renews every TTL/2 (as the
// official client does) and hands a dead holder's locks on sooner.
const sessionTTLGrace = 1.5

// sessionTimers invalidate sessions whose TTL lapsed without a renewal.
// They run on the server that leads; a new leader gives every TTL session
// a fresh full period, as Consul does.
type sessionTimers struct {
	mu     sync.Mutex
	timers map[string]*time.Timer
	expire func(id string)
}

// reset gives the session a full period: its TTL times the grace.
func (t *sessionTimers) reset(id string, ttl time.Duration) {
	t.after(id, time.Duration(float64(ttl)*sessionTTLGrace))
}

// after (re)arms the session's timer to fire in d.
func (t *sessionTimers) after(id string, d time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if old, ok := t.timers[id]; ok {
		old.Stop()
	}
	if t.timers == nil {
		t.timers = map[string]*time.Timer{}
	}
	t.timers[id] = time.AfterFunc(d, func() { t.expire(id) })
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

func (t *sessionTimers) stopAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id, timer := range t.timers {
		timer.Stop()
		delete(t.timers, id)
	}
}

// expireSession is a TTL timer firing: invalidate the session, unless the
// agent stops, this server no longer leads (renewals go to the new leader,
// whose timers decide), or the session is gone already (destroyed through
// the API while its timer was due). A failed write tries again shortly:
// the timer stays in the map, so nothing else would re-arm it.
func (s *Server) expireSession(id string) {
	if s.ctx.Err() != nil || !s.raft.IsLeader() {
		return
	}
	if _, sess, err := s.State().SessionGet(nil, id); err == nil && sess == nil {
		return
	}
	_, err := cluster.Apply(s.write, raftstore.Session, &structs.SessionRequest{
		Op: structs.SessionDestroy, Session: structs.Session{ID: id}, Cause: state.CauseTTL,
	})
	if err != nil {
		agentLog.Errorf("invalidate session %s after its TTL: %v (trying again in %s)", id, err, expireRetry)
		s.sessions.after(id, expireRetry)
		return
	}
	s.sessionsExpired.Add(1)
}

// expireRetry is how soon a failed TTL invalidation is tried again.
const expireRetry = time.Second

// syncSessionTimers arms a timer (a full TTL) for every TTL session that
// has none and drops the timers of sessions that are gone; the leader runs
// it whenever the sessions table changes. It returns the channel that
// closes on the next change.
func (s *Server) syncSessionTimers() <-chan struct{} {
	ws := memdb.NewWatchSet()
	_, sessions, err := s.State().SessionList(ws)
	if err != nil {
		agentLog.Errorf("session timers: %v", err)
		return nil
	}
	live := make(map[string]time.Duration, len(sessions))
	for _, sess := range sessions {
		if ttl := sess.TTLDuration(); ttl > 0 {
			live[sess.ID] = ttl
		}
	}
	s.sessions.sync(live)
	for ch := range ws {
		return ch
	}
	return nil
}

// renewSession resets a session's TTL timer on the leader, which runs the
// timers; anywhere else it is forwarded there. The leader checks a
// renewal that came over the server port (forwarded) with its token.
func (s *Server) renewSession(id, token string, hops int, forwarded bool) (*structs.Session, error) {
	if !s.raft.IsLeader() {
		return s.fwd.RenewSession(id, token, hops)
	}
	if forwarded && s.cfg.AuthorizeSession != nil {
		if err := s.cfg.AuthorizeSession(token, id); err != nil {
			return nil, err
		}
	}
	_, sess, err := s.State().SessionGet(nil, id)
	if err != nil || sess == nil {
		return nil, err
	}
	if ttl := sess.TTLDuration(); ttl > 0 {
		s.sessions.reset(id, ttl)
	}
	return sess, nil
}
