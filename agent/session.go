package agent

import (
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/coredns-coord/coredns-coord/raftstore"
	"github.com/coredns-coord/coredns-coord/state"
	"github.com/coredns-coord/coredns-coord/structs"
)

// SessionCreate validates s, fills Consul's defaults (Node: this agent's
// node; NodeChecks: serfHealth when nil; Behavior release) and creates it
// through Raft. LockDelay is taken as given: 0 means none, and the HTTP
// API fills Consul's 15s default when a request names none. It returns the
// new session's ID. Bad input wraps state.ErrInvalidSession (a 400).
func (w Writer) SessionCreate(s *structs.Session) (string, error) {
	a := w.a
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
	if _, err := apply(w, raftstore.Session, &structs.SessionRequest{Op: structs.SessionCreate, Session: *s}); err != nil {
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
func (w Writer) SessionDestroy(id string) error {
	a := w.a
	_, err := apply(w, raftstore.Session, &structs.SessionRequest{
		Op: structs.SessionDestroy, Session: structs.Session{ID: id}, Cause: state.CauseAPI,
	})
	if err == nil {
		a.sessionsDestroyed.Add(1)
	}
	return err
}

// SessionRenew resets a session's TTL timer on the leader and returns the
// session, or nil when it does not exist (a 404).
func (w Writer) SessionRenew(id string) (*structs.Session, error) {
	return w.a.role.RenewSession(id, w.token)
}
