package state

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/go-memdb"

	"github.com/coredns-coord/coredns-coord/structs"
)

// ErrMissingKey refuses a KV write without a key.
var ErrMissingKey = errors.New("missing key name")

// KVGet returns one entry (or nil) and the index to block on: the entry's
// ModifyIndex, or the table's index when the key does not exist.
func (s *Store) KVGet(ws memdb.WatchSet, key string) (uint64, *structs.DirEntry, error) {
	tx := s.txn()
	defer tx.Abort()
	ch, raw, err := tx.FirstWatch(tableKVs, indexID, key)
	if err != nil {
		return 0, nil, fmt.Errorf("state: kv lookup: %w", err)
	}
	ws.Add(ch)
	if raw == nil {
		return maxIndex(tx, tableKVs), nil, nil
	}
	e := raw.(*structs.DirEntry)
	return e.ModifyIndex, e, nil
}

// KVList returns every entry under prefix, sorted by key.
func (s *Store) KVList(ws memdb.WatchSet, prefix string) (uint64, []*structs.DirEntry, error) {
	tx := s.txn()
	defer tx.Abort()
	out, err := list[*structs.DirEntry](tx, ws, tableKVs, indexID+"_prefix", prefix)
	if err != nil {
		return 0, nil, err
	}
	return maxIndex(tx, tableKVs), out, nil
}

// KVKeys lists the keys under prefix; with a separator, keys below the next
// separator collapse into one "dir/" entry, as Consul's ?keys&separator=.
func (s *Store) KVKeys(ws memdb.WatchSet, prefix, separator string) (uint64, []string, error) {
	idx, entries, err := s.KVList(ws, prefix)
	if err != nil {
		return 0, nil, err
	}
	keys := []string{}
	last := ""
	for _, e := range entries {
		key := e.Key
		if separator != "" {
			if i := strings.Index(key[len(prefix):], separator); i >= 0 {
				key = key[:len(prefix)+i+len(separator)]
			}
		}
		if key != last {
			keys = append(keys, key)
			last = key
		}
	}
	return idx, keys, nil
}

// KVCount is the number of keys, for metrics.
func (s *Store) KVCount() int {
	tx := s.txn()
	defer tx.Abort()
	it, err := tx.Get(tableKVs, indexID)
	if err != nil {
		return 0
	}
	n := 0
	for raw := it.Next(); raw != nil; raw = it.Next() {
		n++
	}
	return n
}

// KVApply applies one KV write at Raft index idx. It returns false when a
// check-and-set did not match; nothing is written then.
func (s *Store) KVApply(idx uint64, req *structs.KVRequest) (bool, error) {
	if req.DirEnt.Key == "" && req.Op != structs.KVDeleteTree {
		return false, ErrMissingKey
	}
	tx := s.write(idx)
	defer tx.Abort()
	ok, err := tx.kvApply(req)
	if err != nil || !ok {
		return false, err
	}
	return true, tx.Commit()
}

func (tx *writeTxn) kvApply(req *structs.KVRequest) (bool, error) {
	e := req.DirEnt
	raw, err := tx.First(tableKVs, indexID, e.Key)
	if err != nil {
		return false, fmt.Errorf("state: kv lookup: %w", err)
	}
	var existing *structs.DirEntry
	if raw != nil {
		existing = raw.(*structs.DirEntry)
	}
	switch req.Op {
	case structs.KVSet:
		return true, tx.kvSet(&e, existing)
	case structs.KVCAS:
		if !casMatches(existing, e.ModifyIndex) {
			return false, nil
		}
		return true, tx.kvSet(&e, existing)
	case structs.KVDelete:
		return true, tx.kvDelete(existing)
	case structs.KVDeleteCAS:
		if existing == nil || existing.ModifyIndex != e.ModifyIndex {
			return false, nil
		}
		return true, tx.kvDelete(existing)
	case structs.KVLock:
		return tx.kvLock(&e, existing)
	case structs.KVUnlock:
		return tx.kvUnlock(&e, existing)
	case structs.KVDeleteTree:
		n, err := tx.DeleteAll(tableKVs, indexID+"_prefix", e.Key)
		if err != nil {
			return false, fmt.Errorf("state: kv delete tree: %w", err)
		}
		if n > 0 {
			tx.touch(tableKVs)
		}
		return true, nil
	default:
		return false, fmt.Errorf("state: unknown kv operation %q", req.Op)
	}
}

// kvLock acquires key for e.Session and writes e's value and flags.
// LockIndex counts acquisitions: it moves only when the key changes hands,
// so holder + LockIndex names one tenure of the lock (a fencing token).
// A refusal is (false, ErrLockRefused with the reason) and writes nothing.
func (tx *writeTxn) kvLock(e, existing *structs.DirEntry) (bool, error) {
	if e.Session == "" {
		return false, fmt.Errorf("%w: missing session", ErrLockRefused)
	}
	if raw, err := tx.First(tableSessions, indexID, e.Session); err != nil || raw == nil {
		return false, fmt.Errorf("%w: invalid session %q", ErrLockRefused, e.Session)
	}
	if existing != nil && existing.Session != "" && existing.Session != e.Session {
		return false, fmt.Errorf("%w: key %q is held by another session", ErrLockRefused, e.Key)
	}
	if existing != nil {
		e.CreateIndex = existing.CreateIndex
		e.LockIndex = existing.LockIndex
		if existing.Session != e.Session {
			e.LockIndex++
		}
	} else {
		e.CreateIndex = tx.idx
		e.LockIndex = 1
	}
	e.ModifyIndex = tx.idx
	if err := tx.Insert(tableKVs, e); err != nil {
		return false, fmt.Errorf("state: kv lock: %w", err)
	}
	tx.touch(tableKVs)
	return true, nil
}

// kvUnlock releases key if e.Session holds it, writing e's value and flags.
func (tx *writeTxn) kvUnlock(e, existing *structs.DirEntry) (bool, error) {
	if existing == nil || existing.Session == "" || existing.Session != e.Session {
		return false, fmt.Errorf("%w: key %q is not held by session %q", ErrLockRefused, e.Key, e.Session)
	}
	e.CreateIndex = existing.CreateIndex
	e.LockIndex = existing.LockIndex
	e.Session = ""
	e.ModifyIndex = tx.idx
	if err := tx.Insert(tableKVs, e); err != nil {
		return false, fmt.Errorf("state: kv unlock: %w", err)
	}
	tx.touch(tableKVs)
	return true, nil
}

// casMatches: index 0 means "only if the key does not exist".
func casMatches(existing *structs.DirEntry, index uint64) bool {
	if index == 0 {
		return existing == nil
	}
	return existing != nil && existing.ModifyIndex == index
}

func (tx *writeTxn) kvSet(e *structs.DirEntry, existing *structs.DirEntry) error {
	e.CreateIndex = tx.idx
	if existing != nil {
		e.CreateIndex = existing.CreateIndex
		e.LockIndex = existing.LockIndex
		e.Session = existing.Session
	}
	e.ModifyIndex = tx.idx
	if err := tx.Insert(tableKVs, e); err != nil {
		return fmt.Errorf("state: kv insert: %w", err)
	}
	tx.touch(tableKVs)
	return nil
}

func (tx *writeTxn) kvDelete(existing *structs.DirEntry) error {
	if existing == nil {
		return nil
	}
	if err := tx.Delete(tableKVs, existing); err != nil {
		return fmt.Errorf("state: kv delete: %w", err)
	}
	tx.touch(tableKVs)
	return nil
}
