package state

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coredns-coord/coredns-coord/structs"
)

// Invalidation causes, for metrics.
const (
	CauseAPI   = "api"
	CauseTTL   = "ttl"
	CauseCheck = "check"
	CauseNode  = "node"
)

// invalidations counts sessions invalidated inside the store, where checks
// turning critical and nodes leaving take their sessions with them.
type invalidations struct {
	check, node atomic.Uint64
}

// SessionInvalidations returns how many sessions this store invalidated
// because a check turned critical or was removed, and because their node
// left.
func (s *Store) SessionInvalidations() (check, node uint64) {
	return s.invalidated.check.Load(), s.invalidated.node.Load()
}

// lockDelays remembers, per key, until when a lock released by an
// invalidated session may not be acquired again. Like Consul's, it lives
// in memory only: after a restart there is no delay to honour.
type lockDelays struct {
	mu     sync.Mutex
	expiry map[string]time.Time
}

func (d *lockDelays) set(key string, until time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.expiry == nil {
		d.expiry = map[string]time.Time{}
	}
	d.expiry[key] = until
}

// KVLockDelay returns until when key may not be acquired; the zero time
// when it may be now.
func (s *Store) KVLockDelay(key string) time.Time {
	d := &s.lockDelay
	d.mu.Lock()
	defer d.mu.Unlock()
	until, ok := d.expiry[key]
	if ok && time.Now().After(until) {
		delete(d.expiry, key)
		return time.Time{}
	}
	return until
}

// SessionCreate stores a new session at idx. Its node must exist and every
// check it names must exist on that node and not be critical.
func (s *Store) SessionCreate(idx uint64, sess *structs.Session) error {
	tx := s.write(idx)
	defer tx.Abort()
	if err := tx.sessionCreate(sess); err != nil {
		return err
	}
	return tx.Commit()
}

func (tx *writeTxn) sessionCreate(sess *structs.Session) error {
	if sess.ID == "" {
		return fmt.Errorf("%w: missing session ID", ErrInvalidSession)
	}
	if n, err := tx.First(tableNodes, indexID, sess.Node); err != nil || n == nil {
		return fmt.Errorf("%w: unknown node %q", ErrInvalidSession, sess.Node)
	}
	if raw, _ := tx.First(tableSessions, indexID, sess.ID); raw != nil {
		return fmt.Errorf("%w: session %q exists", ErrInvalidSession, sess.ID)
	}
	for _, id := range sess.CheckIDs() {
		raw, err := tx.First(tableChecks, indexID, sess.Node, id)
		if err != nil || raw == nil {
			return fmt.Errorf("%w: unknown check %q on node %q", ErrInvalidSession, id, sess.Node)
		}
		if raw.(*structs.HealthCheck).Status == structs.HealthCritical {
			return fmt.Errorf("%w: check %q is in critical state", ErrInvalidSession, id)
		}
		if err := tx.Insert(tableSessionChecks, &sessionCheck{Node: sess.Node, CheckID: id, Session: sess.ID}); err != nil {
			return fmt.Errorf("state: insert session check: %w", err)
		}
	}
	sess.CreateIndex, sess.ModifyIndex = tx.idx, tx.idx
	if err := tx.Insert(tableSessions, sess); err != nil {
		return fmt.Errorf("state: insert session: %w", err)
	}
	tx.touch(tableSessions)
	return nil
}

// SessionDestroy invalidates a session at idx; a missing one is no error.
func (s *Store) SessionDestroy(idx uint64, id string) error {
	tx := s.write(idx)
	defer tx.Abort()
	if err := tx.deleteSession(id); err != nil {
		return err
	}
	return tx.Commit()
}

// deleteSession removes a session and releases or deletes the keys it
// holds, by its Behavior; each such key gets the session's lock-delay.
func (tx *writeTxn) deleteSession(id string) error {
	raw, err := tx.First(tableSessions, indexID, id)
	if err != nil {
		return fmt.Errorf("state: session lookup: %w", err)
	}
	if raw == nil {
		return nil
	}
	sess := raw.(*structs.Session)
	held, err := list[*structs.DirEntry](tx.Txn, nil, tableKVs, indexSession, id)
	if err != nil {
		return err
	}
	until := time.Now().Add(sess.LockDelay)
	for _, e := range held {
		if sess.LockDelay > 0 {
			tx.store.lockDelay.set(e.Key, until)
		}
		if sess.Behavior == structs.SessionDelete {
			err = tx.Delete(tableKVs, e)
		} else {
			released := *e
			released.Session = ""
			released.ModifyIndex = tx.idx
			err = tx.Insert(tableKVs, &released)
		}
		if err != nil {
			return fmt.Errorf("state: release %s: %w", e.Key, err)
		}
		tx.touch(tableKVs)
	}
	if _, err := tx.DeleteAll(tableSessionChecks, indexSession, id); err != nil {
		return fmt.Errorf("state: delete session checks: %w", err)
	}
	if err := tx.Delete(tableSessions, sess); err != nil {
		return fmt.Errorf("state: delete session: %w", err)
	}
	tx.touch(tableSessions)
	return nil
}

// invalidateCheckSessions destroys the sessions bound to a check that
// turned critical or went away.
func (tx *writeTxn) invalidateCheckSessions(node, checkID string) error {
	links, err := list[*sessionCheck](tx.Txn, nil, tableSessionChecks, indexNodeCheck, node, checkID)
	if err != nil {
		return err
	}
	for _, link := range links {
		if err := tx.deleteSession(link.Session); err != nil {
			return err
		}
		tx.invalidated.check++
	}
	return nil
}

// invalidateNodeSessions destroys every session of a node that leaves.
func (tx *writeTxn) invalidateNodeSessions(node string) error {
	sessions, err := list[*structs.Session](tx.Txn, nil, tableSessions, indexNode, node)
	if err != nil {
		return err
	}
	for _, sess := range sessions {
		if err := tx.deleteSession(sess.ID); err != nil {
			return err
		}
		tx.invalidated.node++
	}
	return nil
}
