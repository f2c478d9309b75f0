package raftstore

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	wal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/metadb"
)

// ErrLogWrite marks a write the Raft log could not make (a full disk, say).
var ErrLogWrite = errors.New("cannot write the raft log")

// reopenEvery bounds how often a failing log is reopened.
const reopenEvery = time.Second

// walStore is the raft-wal log and stable store, reopened after a failed
// write. raft-wal v0.4.0 did not recover from one: a write that failed
// part-way (ENOSPC while sealing a full segment, or creating the next one)
// left its tail marked sealed in memory, and every later write failed
// with "segment is sealed" until the process restarted; v0.4.1 rolls back
// a failed append but not every failed rotation. Reopening recovers
// from what is on disk, the last fsync'd commit, so once space is back,
// writes resume without a restart.
type walStore struct {
	open func() (*wal.WAL, error)

	mu         sync.RWMutex
	w          *wal.WAL
	failed     error     // the last failed write, until a write succeeds
	lastReopen time.Time // when a reopen was last tried
}

// openLog opens the Raft log in walDir; each open first tells what
// raft-wal will discard from the tail.
func openLog(walDir string, meta *metadb.BoltMetaDB, logger hclog.Logger) (*walStore, error) {
	logger = logger.Named("wal")
	return newWALStore(func() (*wal.WAL, error) {
		persisted, err := meta.Load(walDir)
		if err != nil {
			return nil, fmt.Errorf("raftstore: open log metadata: %w", err)
		}
		if segs := persisted.Segments; len(segs) > 0 && segs[len(segs)-1].SealTime.IsZero() {
			d, err := inspectTail(walDir, segs[len(segs)-1])
			if err != nil {
				return nil, err
			}
			if d != nil {
				logger.Warn("raft log: discarding an unfinished write at the tail (it failed or a crash cut it short, so it was never acknowledged)",
					"entries", d.Entries, "kept_through_index", d.AfterIdx, "reason", d.Reason, "segment", d.Segment)
			}
		}
		w, err := wal.Open(walDir, wal.WithLogger(logger), wal.WithMetaStore(sharedMeta{meta}))
		if err != nil {
			return nil, fmt.Errorf("raftstore: open log store: %w", err)
		}
		return w, nil
	})
}

// sharedMeta is the meta database as each WAL sees it: raft-wal v0.4.1's
// Close closes its meta store, but a reopen replaces the WAL while the old
// one still serves reads, so both share one meta database, which the Node
// closes after the last WAL.
type sharedMeta struct{ *metadb.BoltMetaDB }

func (sharedMeta) Close() error { return nil }

func newWALStore(open func() (*wal.WAL, error)) (*walStore, error) {
	w, err := open()
	if err != nil {
		return nil, err
	}
	return &walStore{open: open, w: w}, nil
}

// WriteFailure is the last failed log write, nil once a write succeeds.
func (s *walStore) WriteFailure() error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.failed
}

func (s *walStore) StoreLog(l *raft.Log) error { return s.StoreLogs([]*raft.Log{l}) }

func (s *walStore) StoreLogs(logs []*raft.Log) error {
	// The usual case shares the lock with readers (raft's replication
	// reads while the leader writes); raft-wal orders the writes itself.
	s.mu.RLock()
	if s.failed == nil {
		err := s.w.StoreLogs(logs)
		s.mu.RUnlock()
		if err == nil {
			return nil
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.failed = fmt.Errorf("%w: %w", ErrLogWrite, err)
		return s.failed
	}
	s.mu.RUnlock()

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed != nil {
		if time.Since(s.lastReopen) < reopenEvery {
			return s.failed
		}
		if err := s.reopenLocked(logs[0].Index); err != nil {
			return s.failed
		}
	}
	if err := s.w.StoreLogs(logs); err != nil {
		s.failed = fmt.Errorf("%w: %w", ErrLogWrite, err)
		return s.failed
	}
	s.failed = nil
	return nil
}

// reopenLocked replaces the WAL with a fresh one over the same files; until
// that succeeds the old one goes on serving reads. Raft took the failed
// batch as not stored, so whatever of it recovery finds on disk (from next
// on) is removed: the log must end where raft thinks it does.
func (s *walStore) reopenLocked(next uint64) error {
	s.lastReopen = time.Now()
	w, err := s.open()
	if err != nil {
		return err
	}
	old := s.w
	s.w = w
	old.Close()
	if last, err := w.LastIndex(); err == nil && last >= next {
		if err := w.DeleteRange(next, last); err != nil {
			return err
		}
	}
	return nil
}

func (s *walStore) read() (*wal.WAL, func()) {
	s.mu.RLock()
	return s.w, s.mu.RUnlock
}

func (s *walStore) FirstIndex() (uint64, error) {
	w, done := s.read()
	defer done()
	return w.FirstIndex()
}

func (s *walStore) LastIndex() (uint64, error) {
	w, done := s.read()
	defer done()
	return w.LastIndex()
}

func (s *walStore) GetLog(index uint64, l *raft.Log) error {
	w, done := s.read()
	defer done()
	return w.GetLog(index, l)
}

func (s *walStore) DeleteRange(lo, hi uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.DeleteRange(lo, hi)
}

func (s *walStore) IsMonotonic() bool { return true }

func (s *walStore) Set(k, v []byte) error {
	w, done := s.read()
	defer done()
	return w.Set(k, v)
}

func (s *walStore) Get(k []byte) ([]byte, error) {
	w, done := s.read()
	defer done()
	return w.Get(k)
}

func (s *walStore) SetUint64(k []byte, v uint64) error {
	w, done := s.read()
	defer done()
	return w.SetUint64(k, v)
}

func (s *walStore) GetUint64(k []byte) (uint64, error) {
	w, done := s.read()
	defer done()
	return w.GetUint64(k)
}

func (s *walStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Close()
}
