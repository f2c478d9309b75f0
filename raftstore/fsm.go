package raftstore

import (
	"fmt"
	"io"

	"github.com/hashicorp/raft"

	"github.com/coredns-coord/coredns-coord/raftstore/state"
	"github.com/coredns-coord/coredns-coord/structs"
)

// FSM applies committed log entries to the state store.
type FSM struct {
	store *state.Store
}

// NewFSM returns an FSM that writes into store.
func NewFSM(store *state.Store) *FSM { return &FSM{store: store} }

// Apply returns the command's result: an error, or for KV writes a bool
// telling whether a check-and-set matched.
func (f *FSM) Apply(l *raft.Log) any {
	if l.Type != raft.LogCommand {
		return nil
	}
	t, req, err := decodeCommand(l.Data)
	if err != nil {
		// A command this binary cannot decode must not be skipped silently:
		// every replica would diverge. Report it to the writer.
		return err
	}
	switch t {
	case RegisterCommand:
		return f.store.EnsureRegistration(l.Index, req.(*structs.RegisterRequest))
	case DeregisterCommand:
		return f.store.Deregister(l.Index, req.(*structs.DeregisterRequest))
	case KVCommand:
		ok, err := f.store.KVApply(l.Index, req.(*structs.KVRequest))
		if err != nil {
			return err
		}
		return ok
	case SessionCommand:
		return f.applySession(l.Index, req.(*structs.SessionRequest))
	case TxnCommand:
		resp, err := f.store.Txn(l.Index, req.(*structs.TxnRequest).Ops)
		if err != nil {
			return err
		}
		return resp
	}
	return fmt.Errorf("raftstore: unhandled command %s", t)
}

func (f *FSM) applySession(idx uint64, req *structs.SessionRequest) error {
	switch req.Op {
	case structs.SessionCreate:
		return f.store.SessionCreate(idx, &req.Session)
	case structs.SessionDestroy:
		return f.store.SessionDestroy(idx, req.Session.ID)
	}
	return fmt.Errorf("raftstore: unknown session operation %q", req.Op)
}

// Snapshot takes memdb's O(1) point-in-time view; Persist streams it out
// while writes continue.
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	return &fsmSnapshot{snap: f.store.Snapshot()}, nil
}

// Restore replaces the state with a snapshot.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	return f.store.Restore(rc)
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
