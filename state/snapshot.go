package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/coredns-coord/coredns-coord/structs"
)

// Snapshot versions, written first; Restore refuses what it does not know.
// Version 2 carries the FSM's request records after the tables (a Raft
// snapshot); archives and client streams have none and stay version 1, so
// that an older binary still reads them.
const (
	snapshotVersion         = 1
	snapshotVersionRequests = 2
)

// snapshotTables are every table, in the order a snapshot writes them:
// rows before the index table, sessions before the links to their checks.
// The autopilot table is in Raft snapshots only (version 2), so that an
// older binary still reads archives and client streams; restoring an
// archive or a stream leaves it as it is. ACL policies come before the
// roles and tokens that name them; a snapshot of an older binary has no
// ACL rows, and the ACL tables restore empty.
var snapshotTables = []string{tableNodes, tableServices, tableChecks, tableKVs, tableSessions, tableSessionChecks,
	tableAutopilot, tableACLPolicies, tableACLRoles, tableACLTokens, tableIndex}

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
	// RequestClock is the request records' eviction clock (version 2), so
	// that a restored server evicts exactly as the one that took it.
	RequestClock time.Time `json:",omitzero"`
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
	Autopilot    *autopilotRow    `json:",omitempty"`

	ACLPolicy *structs.ACLPolicy `json:",omitempty"`
	ACLRole   *structs.ACLRole   `json:",omitempty"`
	ACLToken  *structs.ACLToken  `json:",omitempty"`

	Request *requestRecord `json:",omitempty"`
}

// requestRecord is a Request as a snapshot stores it: its result typed.
type requestRecord struct {
	ID    structs.RequestID
	Index uint64
	Time  time.Time
	KV    *bool                `json:",omitempty"`
	Txn   *structs.TxnResponse `json:",omitempty"`
}

func newRequestRecord(r *Request) *requestRecord {
	rec := &requestRecord{ID: r.ID, Index: r.Index, Time: r.Time}
	switch v := r.Result.(type) {
	case bool:
		rec.KV = &v
	case *structs.TxnResponse:
		rec.Txn = v
	}
	return rec
}

func (rec *requestRecord) request() *Request {
	r := &Request{ID: rec.ID, Index: rec.Index, Time: rec.Time}
	switch {
	case rec.KV != nil:
		r.Result = *rec.KV
	case rec.Txn != nil:
		r.Result = rec.Txn
	}
	return r
}

// Snapshot is a point-in-time view of the store; taking it is O(1) and it
// can be persisted while writes continue.
type Snapshot struct {
	tx       *memdb.Txn
	index    uint64
	store    *Store
	requests []*Request
	clock    time.Time
}

// SetIndex records the log index the view was taken at, when it is higher
// than the tables' (the last command changed nothing).
func (sn *Snapshot) SetIndex(idx uint64) { sn.index = idx }

// IncludeRequests adds the request records to the view (a Raft snapshot:
// a server restored from it must still answer re-sends). Call it before
// the next write.
func (sn *Snapshot) IncludeRequests() {
	rt := sn.store.requests
	rt.mu.Lock()
	defer rt.mu.Unlock()
	sn.requests = append([]*Request{}, rt.order[rt.head:]...)
	sn.clock = rt.clock
}

// Snapshot takes a point-in-time view of the whole store (without the
// request records).
func (s *Store) Snapshot() *Snapshot { return &Snapshot{tx: s.db.Txn(false), store: s} }

// Release frees the view.
func (sn *Snapshot) Release() { sn.tx.Abort() }

// Persist writes the view as a JSON stream: a header, then one record a row.
func (sn *Snapshot) Persist(w io.Writer) error {
	enc := json.NewEncoder(w)
	version := snapshotVersion
	if sn.requests != nil {
		version = snapshotVersionRequests
	}
	hdr := snapshotHeader{Version: version, Index: max(sn.index, maxIndex(sn.tx, snapshotTables...)), RequestClock: sn.clock}
	if err := enc.Encode(hdr); err != nil {
		return fmt.Errorf("state: snapshot header: %w", err)
	}
	for _, table := range snapshotTables {
		if table == tableAutopilot && sn.requests == nil {
			continue // Raft snapshots only: see snapshotTables
		}
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
			case *autopilotRow:
				rec.Autopilot = v
			case *structs.ACLPolicy:
				rec.ACLPolicy = v
			case *structs.ACLRole:
				rec.ACLRole = v
			case *structs.ACLToken:
				rec.ACLToken = v
			}
			if err := enc.Encode(&rec); err != nil {
				return fmt.Errorf("state: snapshot %s: %w", table, err)
			}
		}
	}
	for _, r := range sn.requests {
		if err := enc.Encode(&snapshotRecord{Request: newRequestRecord(r)}); err != nil {
			return fmt.Errorf("state: snapshot requests: %w", err)
		}
	}
	return nil
}

// Restore replaces the whole store with a persisted snapshot, in one write
// transaction: readers see the old state or the new one, and every watcher
// wakes. A stream that does not decode completely changes nothing. The
// snapshot's request records are ignored (a client's replica).
func (s *Store) Restore(r io.Reader) error {
	_, err := s.restore(r, 0, false)
	return err
}

// RestoreIndexed is Restore for a Raft snapshot: the request records are
// restored too, and it returns the index the snapshot was taken at.
func (s *Store) RestoreIndexed(r io.Reader) (uint64, error) { return s.restore(r, 0, true) }

// RestoreAt is Restore for a snapshot restored through the log at idx:
// every table's index becomes idx, so that indexes never go backwards and
// every blocking query wakes. The request records stay as they are: they
// describe the log, which goes on.
func (s *Store) RestoreAt(idx uint64, r io.Reader) error {
	_, err := s.restore(r, idx, false)
	return err
}

func (s *Store) restore(r io.Reader, at uint64, withRequests bool) (uint64, error) {
	dec := json.NewDecoder(r)
	var hdr snapshotHeader
	if err := dec.Decode(&hdr); err != nil {
		return 0, fmt.Errorf("state: restore header: %w", err)
	}
	if hdr.Version != snapshotVersion && hdr.Version != snapshotVersionRequests {
		return 0, fmt.Errorf("state: restore: unsupported snapshot version %d", hdr.Version)
	}
	tx := s.db.Txn(true)
	defer tx.Abort()
	for _, table := range snapshotTables {
		if table == tableAutopilot && !withRequests {
			continue // Raft snapshots only: see snapshotTables
		}
		if _, err := tx.DeleteAll(table, indexID); err != nil {
			return 0, fmt.Errorf("state: restore clear %s: %w", table, err)
		}
	}
	var catalogIdx uint64
	var requests []*Request
	for {
		var rec snapshotRecord
		err := dec.Decode(&rec)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, fmt.Errorf("state: restore record: %w", err)
		}
		if rec.Request != nil {
			if withRequests {
				requests = append(requests, rec.Request.request())
			}
			continue
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
	s.aclGeneration.Add(1)
	if withRequests {
		s.requests.replace(requests, hdr.RequestClock)
	}
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
	case rec.Autopilot != nil:
		return tableAutopilot, rec.Autopilot
	case rec.ACLPolicy != nil:
		return tableACLPolicies, rec.ACLPolicy
	case rec.ACLRole != nil:
		return tableACLRoles, rec.ACLRole
	case rec.ACLToken != nil:
		return tableACLTokens, rec.ACLToken
	}
	return "", nil
}
