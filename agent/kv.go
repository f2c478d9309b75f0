package agent

import (
	"errors"
	"fmt"
	"time"

	"github.com/coredns-coord/coredns-coord/raftstore"
	"github.com/coredns-coord/coredns-coord/state"
	"github.com/coredns-coord/coredns-coord/structs"
)

// KV applies a KV write through Raft; false means a check-and-set failed.
// A refused acquire or release is false with an error wrapping
// state.ErrLockRefused that says why.
func (w Writer) KV(req *structs.KVRequest) (bool, error) {
	a := w.a
	if err := a.lockRefusedEarly(req); err != nil {
		return false, err
	}
	return apply(w, raftstore.KV, req)
}

// lockRefusedEarly refuses an acquire the leader can already tell will
// fail (lock-delay, unknown session, another holder), so that contending
// clients do not fill the Raft log with refusals.
func (a *Agent) lockRefusedEarly(req *structs.KVRequest) error {
	if req.Op != structs.KVLock {
		return nil
	}
	st := a.State()
	if until := st.KVLockDelay(req.DirEnt.Key); !until.IsZero() {
		return fmt.Errorf("%w: key %q is in lock-delay for %s", state.ErrLockRefused, req.DirEnt.Key, time.Until(until).Round(time.Millisecond))
	}
	if _, s, err := st.SessionGet(nil, req.DirEnt.Session); err != nil || s == nil {
		return fmt.Errorf("%w: invalid session %q", state.ErrLockRefused, req.DirEnt.Session)
	}
	if _, e, _ := st.KVGet(nil, req.DirEnt.Key); e != nil && e.Session != "" && e.Session != req.DirEnt.Session {
		return fmt.Errorf("%w: key %q is held by another session", state.ErrLockRefused, req.DirEnt.Key)
	}
	return nil
}

// Txn runs a transaction: read-only ones from local state, others through
// Raft, all or nothing. A failed transaction returns a response with
// Errors and writes nothing; malformed ones wrap state.ErrInvalidTxn.
func (w Writer) Txn(ops structs.TxnOps) (*structs.TxnResponse, error) {
	a := w.a
	if err := state.ValidateTxn(ops); err != nil {
		return nil, err
	}
	// Lock-delay is wall-clock state of the leader, so it is checked here
	// and not by the FSM, which must apply the same way on every server.
	for i, op := range ops {
		if op.KV == nil || op.KV.Verb != structs.KVLock {
			continue
		}
		if until := a.State().KVLockDelay(op.KV.DirEnt.Key); !until.IsZero() {
			return &structs.TxnResponse{Errors: []*structs.TxnError{{
				OpIndex: i, What: fmt.Sprintf("key %q is in lock-delay for %s", op.KV.DirEnt.Key, time.Until(until).Round(time.Millisecond)),
			}}}, nil
		}
	}
	if state.IsReadOnlyTxn(ops) {
		return a.State().Txn(0, ops)
	}
	resp, err := apply(w, raftstore.Txn, &structs.TxnRequest{Ops: ops})
	if err != nil {
		return nil, err
	}
	if resp == nil {
		return nil, errors.New("agent: txn returned no response")
	}
	return resp, nil
}
