package state

import (
	"fmt"
	"sync/atomic"

	"github.com/hashicorp/go-memdb"
)

// Store is the in-memory state. Writes come only from the Raft FSM (or from
// tests); reads are lock-free memdb snapshots.
type Store struct {
	db *memdb.MemDB

	// catalogIndex is the highest index that changed a catalog table; the
	// DNS answer cache compares it instead of opening a transaction.
	catalogIndex atomic.Uint64

	lockDelay   lockDelays
	invalidated invalidations
	// requests are the FSM's recently applied request IDs (servers).
	requests *requestTable
}

// NewStore returns an empty store.
func NewStore() *Store {
	return &Store{db: newDB(), requests: newRequestTable()}
}

// CatalogIndex is the Raft index of the last change to nodes, services or
// checks.
func (s *Store) CatalogIndex() uint64 { return s.catalogIndex.Load() }

// LastIndex is the highest index that changed anything in the store.
func (s *Store) LastIndex() uint64 {
	tx := s.db.Txn(false)
	defer tx.Abort()
	return maxIndex(tx, snapshotTables...)
}

// maxIndex is the highest change index of the given tables.
func maxIndex(tx *memdb.Txn, tables ...string) uint64 {
	var max uint64
	for _, t := range tables {
		raw, err := tx.First(tableIndex, indexID, t)
		if err != nil || raw == nil {
			continue
		}
		if v := raw.(*IndexEntry).Value; v > max {
			max = v
		}
	}
	return max
}

// writeTxn wraps a memdb write transaction and remembers which tables it
// touched, so that commit stamps their index entries once.
type writeTxn struct {
	*memdb.Txn
	store   *Store
	idx     uint64
	touched map[string]bool
	// invalidated counts sessions this transaction invalidated; they reach
	// the store's counters only if it commits.
	invalidated struct{ check, node uint64 }
}

func (s *Store) write(idx uint64) *writeTxn {
	return &writeTxn{Txn: s.db.Txn(true), store: s, idx: idx, touched: map[string]bool{}}
}

func (tx *writeTxn) touch(table string) { tx.touched[table] = true }

// Commit stamps the touched tables with the transaction's index and commits.
func (tx *writeTxn) Commit() error {
	catalog := false
	for table := range tx.touched {
		if err := tx.Insert(tableIndex, &IndexEntry{Key: table, Value: tx.idx}); err != nil {
			tx.Abort()
			return fmt.Errorf("state: update index of %s: %w", table, err)
		}
		if table != tableKVs {
			catalog = true
		}
	}
	tx.Txn.Commit()
	tx.store.invalidated.check.Add(tx.invalidated.check)
	tx.store.invalidated.node.Add(tx.invalidated.node)
	if catalog {
		tx.store.catalogIndex.Store(tx.idx)
	}
	return nil
}

// txn opens a read transaction: a consistent, lock-free snapshot.
func (s *Store) txn() *memdb.Txn { return s.db.Txn(false) }

// drain collects an iterator's rows.
func drain[T any](it memdb.ResultIterator) []T {
	out := []T{}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(T))
	}
	return out
}

// list reads the rows of table that match index and args, and adds the
// iterator's watch channel to ws.
func list[T any](tx *memdb.Txn, ws memdb.WatchSet, table, index string, args ...any) ([]T, error) {
	it, err := tx.Get(table, index, args...)
	if err != nil {
		return nil, fmt.Errorf("state: %s by %s: %w", table, index, err)
	}
	ws.Add(it.WatchCh())
	return drain[T](it), nil
}
