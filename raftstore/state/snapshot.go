package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/hashicorp/go-memdb"

	"github.com/coredns-coord/coredns-coord/structs"
)

// snapshotVersion is written first; Restore refuses what it does not know.
const snapshotVersion = 1

// snapshotTables are every table, in the order a snapshot writes them:
// rows before the index table, sessions before the links to their checks.
var snapshotTables = []string{tableNodes, tableServices, tableChecks, tableKVs, tableSessions, tableSessionChecks, tableIndex}

func isCatalogTable(t string) bool {
	for _, c := range catalogTables {
		if t == c {
			return true
		}
	}
	return false
}

// snapshotHeader opens a snapshot stream.
type snapshotHeader struct {
	Version int
	Index   uint64
}

// snapshotRecord is one row of a snapshot stream: exactly one field is set.
type snapshotRecord struct {
	Node    *structs.Node        `json:",omitempty"`
	Service *structs.ServiceNode `json:",omitempty"`
	Check   *structs.HealthCheck `json:",omitempty"`
	KV      *structs.DirEntry    `json:",omitempty"`
	Index   *IndexEntry          `json:",omitempty"`

	Session      *structs.Session `json:",omitempty"`
	SessionCheck *sessionCheck    `json:",omitempty"`
}

// Snapshot is a point-in-time view of the store; taking it is O(1) and it
// can be persisted while writes continue.
type Snapshot struct {
	tx    *memdb.Txn
	index uint64
}

// SetIndex records the log index the view was taken at, when it is higher
// than the tables' (the last command changed nothing).
func (sn *Snapshot) SetIndex(idx uint64) { sn.index = idx }

// Snapshot takes a point-in-time view of the whole store.
func (s *Store) Snapshot() *Snapshot { return &Snapshot{tx: s.db.Txn(false)} }

// Release frees the view.
func (sn *Snapshot) Release() { sn.tx.Abort() }

// Persist writes the view as a JSON stream: a header, then one record a row.
func (sn *Snapshot) Persist(w io.Writer) error {
	enc := json.NewEncoder(w)
	if err := enc.Encode(snapshotHeader{Version: snapshotVersion, Index: max(sn.index, maxIndex(sn.tx, snapshotTables...))}); err != nil {
		return fmt.Errorf("state: snapshot header: %w", err)
	}
	for _, table := range snapshotTables {
		it, err := sn.tx.Get(table, indexID)
		if err != nil {
			return fmt.Errorf("state: snapshot %s: %w", table, err)
		}
		for raw := it.Next(); raw != nil; raw = it.Next() {
			var rec snapshotRecord
			switch v := raw.(type) {
			case *structs.Node:
				rec.Node = v
			case *structs.ServiceNode:
				rec.Service = v
			case *structs.HealthCheck:
				rec.Check = v
			case *structs.DirEntry:
				rec.KV = v
			case *IndexEntry:
				rec.Index = v
			case *structs.Session:
				rec.Session = v
			case *sessionCheck:
				rec.SessionCheck = v
			}
			if err := enc.Encode(&rec); err != nil {
				return fmt.Errorf("state: snapshot %s: %w", table, err)
			}
		}
	}
	return nil
}

// Restore replaces the whole store with a persisted snapshot, in one write
// transaction: readers see the old state or the new one, and every watcher
// wakes. A stream that does not decode completely changes nothing.
func (s *Store) Restore(r io.Reader) error {
	_, err := s.restore(r, 0)
	return err
}

// RestoreIndexed is Restore, returning the index the snapshot was taken at.
func (s *Store) RestoreIndexed(r io.Reader) (uint64, error) { return s.restore(r, 0) }

// RestoreAt is Restore for a snapshot restored through the log at idx:
// every table's index becomes idx, so that indexes never go backwards and
// every blocking query wakes.
func (s *Store) RestoreAt(idx uint64, r io.Reader) error {
	_, err := s.restore(r, idx)
	return err
}

func (s *Store) restore(r io.Reader, at uint64) (uint64, error) {
	dec := json.NewDecoder(r)
	var hdr snapshotHeader
	if err := dec.Decode(&hdr); err != nil {
		return 0, fmt.Errorf("state: restore header: %w", err)
	}
	if hdr.Version != snapshotVersion {
		return 0, fmt.Errorf("state: restore: unsupported snapshot version %d", hdr.Version)
	}
	tx := s.db.Txn(true)
	defer tx.Abort()
	for _, table := range snapshotTables {
		if _, err := tx.DeleteAll(table, indexID); err != nil {
			return 0, fmt.Errorf("state: restore clear %s: %w", table, err)
		}
	}
	var catalogIdx uint64
	for {
		var rec snapshotRecord
		err := dec.Decode(&rec)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, fmt.Errorf("state: restore record: %w", err)
		}
		table, obj := rec.row()
		if obj == nil {
			return 0, errors.New("state: restore: empty record")
		}
		if err := tx.Insert(table, obj); err != nil {
			return 0, fmt.Errorf("state: restore insert into %s: %w", table, err)
		}
		if rec.Index != nil && isCatalogTable(rec.Index.Key) && rec.Index.Value > catalogIdx {
			catalogIdx = rec.Index.Value
		}
	}
	if at > 0 {
		for _, table := range snapshotTables[:len(snapshotTables)-1] {
			if err := tx.Insert(tableIndex, &IndexEntry{Key: table, Value: at}); err != nil {
				return 0, fmt.Errorf("state: restore index of %s: %w", table, err)
			}
		}
		catalogIdx = at
	}
	tx.Commit()
	s.catalogIndex.Store(catalogIdx)
	return hdr.Index, nil
}

func (rec *snapshotRecord) row() (string, any) {
	switch {
	case rec.Node != nil:
		return tableNodes, rec.Node
	case rec.Service != nil:
		return tableServices, rec.Service
	case rec.Check != nil:
		return tableChecks, rec.Check
	case rec.KV != nil:
		return tableKVs, rec.KV
	case rec.Index != nil:
		return tableIndex, rec.Index
	case rec.Session != nil:
		return tableSessions, rec.Session
	case rec.SessionCheck != nil:
		return tableSessionChecks, rec.SessionCheck
	}
	return "", nil
}
