package raftstore

import (
	"fmt"
	"io"
	"time"

	"github.com/hashicorp/raft"

	"github.com/coredns-coord/coredns-coord/state"
	"github.com/coredns-coord/coredns-coord/structs"
)

// FSM applies committed log entries to the state store and records them in
// its feed.
type FSM struct {
	store *state.Store
	feed  *Feed
}

// NewFSM returns an FSM that writes into store. keep makes its feed retain
// recent commands for subscribers (servers); a client's replica only
// tracks its index.
func NewFSM(store *state.Store, keep bool) *FSM {
	return &FSM{store: store, feed: newFeed(store, keep)}
}

// Feed is the record of applied commands.
func (f *FSM) Feed() *Feed { return f.feed }

// Apply returns the command's result: an error, or the value of its
// command's result type (see the registry), nil for NoResult.
func (f *FSM) Apply(l *raft.Log) any {
	if l.Type != raft.LogCommand {
		return nil
	}
	t, id, req, err := decodeCommand(l.Data)
	return f.feed.apply(l.Index, l.Data, func() (any, bool) {
		if err != nil {
			// A command this binary cannot decode must not be skipped
			// silently: every replica would diverge. Report it to the
			// writer.
			return err, false
		}
		// Every entry moves the request records' eviction clock.
		defer f.store.ExpireRequests(l.AppendedAt)
		if id.IsZero() {
			return f.applyDecoded(l.Index, t, req), false
		}
		return f.applyOnce(l, t, id, req)
	})
}

// applyOnce applies a command with a request ID at most once: a re-send of
// an ID that was applied (within state.RequestRetention) gets the first
// result and changes nothing. A command the FSM refused (an error) is not
// remembered: it changed nothing, so applying its re-send is its first
// application. unchanged reports a re-send answered from the records.
func (f *FSM) applyOnce(l *raft.Log, t CommandType, id structs.RequestID, req any) (res any, unchanged bool) {
	if res, ok := f.store.RequestResult(id); ok {
		requestsDeduplicated.WithLabelValues(t.String()).Inc()
		return res, true
	}
	res = f.applyDecoded(l.Index, t, req)
	if _, failed := res.(error); !failed {
		f.store.RememberRequest(id, l.Index, l.AppendedAt, res)
	}
	return res, false
}

// applyDecoded applies a decoded command at idx, on a server or a client
// replica alike: what the command's registry entry does with it.
func (f *FSM) applyDecoded(idx uint64, t CommandType, req any) any {
	start := time.Now()
	defer func() { fsmApplyDuration.WithLabelValues(t.String()).Observe(time.Since(start).Seconds()) }()
	spec := specOf(t)
	if spec == nil {
		return fmt.Errorf("raftstore: unhandled command %s", t)
	}
	return spec.apply(f.store, idx, req)
}

// Snapshot takes memdb's O(1) point-in-time view; Persist streams it out
// while writes continue.
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	// The snapshot carries the feed's index: the last command may have
	// changed no table, and a restored server must not report less.
	snap, idx := f.feed.Snapshot()
	snap.SetIndex(idx)
	// Raft calls Snapshot between applies, so the requests match the view.
	snap.IncludeRequests()
	return &fsmSnapshot{snap: snap}, nil
}

// Restore replaces the state with a snapshot.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	return f.restore(rc)
}

func (f *FSM) restore(r io.Reader) error {
	return f.feed.restore(func() (uint64, error) {
		idx, err := f.store.RestoreIndexed(r)
		if err != nil {
			return 0, err
		}
		return max(idx, f.store.LastIndex()), nil
	})
}

type fsmSnapshot struct {
	snap *state.Snapshot
}

func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if err := s.snap.Persist(sink); err != nil {
		sink.Cancel()
		return err
	}
	return sink.Close()
}

func (s *fsmSnapshot) Release() { s.snap.Release() }
