package state

import (
	"errors"
	"fmt"

	"github.com/hashicorp/go-memdb"

	"github.com/coredns-coord/coredns-coord/structs"
)

// Errors the HTTP API answers with 400 (invalid) or a refused lock.
var (
	ErrInvalidSession = errors.New("invalid session")
	ErrInvalidTxn     = errors.New("invalid transaction")
	// ErrLockRefused: an acquire or release that cannot happen (unknown
	// session, lock-delay, another holder). The API answers false with
	// the reason, as Consul answers false.
	ErrLockRefused = errors.New("lock refused")
)

// sessionCheck links a check to a session bound to it.
type sessionCheck struct {
	Node    string
	CheckID string
	Session string
}

// SessionGet returns one session, or nil.
func (s *Store) SessionGet(ws memdb.WatchSet, id string) (uint64, *structs.Session, error) {
	tx := s.txn()
	defer tx.Abort()
	ch, raw, err := tx.FirstWatch(tableSessions, indexID, id)
	if err != nil {
		return 0, nil, fmt.Errorf("state: session lookup: %w", err)
	}
	ws.Add(ch)
	idx := maxIndex(tx, tableSessions)
	if raw == nil {
		return idx, nil, nil
	}
	return idx, raw.(*structs.Session), nil
}

// SessionList returns every session.
func (s *Store) SessionList(ws memdb.WatchSet) (uint64, []*structs.Session, error) {
	return s.sessionsBy(ws, indexID)
}

// NodeSessions returns the sessions of a node.
func (s *Store) NodeSessions(ws memdb.WatchSet, node string) (uint64, []*structs.Session, error) {
	return s.sessionsBy(ws, indexNode, node)
}

func (s *Store) sessionsBy(ws memdb.WatchSet, index string, args ...any) (uint64, []*structs.Session, error) {
	tx := s.txn()
	defer tx.Abort()
	out, err := list[*structs.Session](tx, ws, tableSessions, index, args...)
	if err != nil {
		return 0, nil, err
	}
	return maxIndex(tx, tableSessions), out, nil
}
