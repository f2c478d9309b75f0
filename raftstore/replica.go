package raftstore

import (
	"fmt"
	"io"

	"github.com/coredns-coord/coredns-coord/state"
)

// Replica is a client agent's read-only copy of the state: the commands a
// server streams are applied by the same FSM code the servers run, so the
// copy is exact at every index.
type Replica struct {
	fsm *FSM
}

// NewReplica returns an empty replica.
func NewReplica() *Replica {
	return &Replica{fsm: NewFSM(state.NewStore(), false)}
}

// State is the replica's store.
func (r *Replica) State() *state.Store { return r.fsm.store }

// Feed tracks the replica's index.
func (r *Replica) Feed() *Feed { return r.fsm.feed }

// Index is the last index applied.
func (r *Replica) Index() uint64 { return r.fsm.feed.Last() }

// Apply applies one streamed command. Entries at or below the replica's
// index are skipped (a resubscription may repeat them).
func (r *Replica) Apply(idx uint64, data []byte) error {
	if idx <= r.Index() {
		return nil
	}
	if len(data) == 0 {
		// An index that changed nothing on the server (a re-send answered
		// from its request records, see FSM.applyOnce): a replica keeps no
		// request IDs, it only moves on.
		r.fsm.feed.apply(idx, nil, func() (any, bool) { return nil, true })
		return nil
	}
	// A command this build cannot decode (a newer server's) must stop the
	// replica before its index moves past it. The FSM's own refusals (a
	// failed check-and-set, an invalid session) are results, identical on
	// every server, and not errors here.
	t, _, req, err := decodeCommand(data)
	if err != nil {
		return fmt.Errorf("raftstore: replica: entry %d (is a server newer than this agent?): %w", idx, err)
	}
	r.fsm.feed.apply(idx, data, func() (any, bool) { return r.fsm.applyDecoded(idx, t, req), false })
	return nil
}

// Restore replaces the replica with a streamed snapshot taken at idx.
func (r *Replica) Restore(rd io.Reader, idx uint64) error {
	return r.fsm.feed.restore(func() (uint64, error) {
		if err := r.fsm.store.Restore(rd); err != nil {
			return 0, fmt.Errorf("raftstore: replica: restore snapshot at %d: %w", idx, err)
		}
		return idx, nil
	})
}
