package agent

import (
	"errors"

	"github.com/coredns-coord/coredns-coord/raftstore"
	"github.com/coredns-coord/coredns-coord/raftstore/state"
	"github.com/coredns-coord/coredns-coord/rpc"
)

// wireKinds names the sentinel errors that keep their meaning when a
// forwarded request fails on the leader: a refused write is still a 400 on
// the agent that received it.
var wireKinds = map[string]error{
	"not-leader":      raftstore.ErrNotLeader,
	"no-leader":       ErrNoLeader,
	"not-applied":     raftstore.ErrNotApplied,
	"outcome-unknown": raftstore.ErrOutcomeUnknown,
	"missing-node":    state.ErrMissingNode,
	"missing-address": state.ErrMissingAddress,
	"missing-service": state.ErrMissingService,
	"missing-check":   state.ErrMissingCheckID,
	"unknown-node":    state.ErrUnknownNode,
	"unknown-service": state.ErrUnknownService,
	"bad-status":      state.ErrBadCheckStatus,
	"missing-key":     state.ErrMissingKey,
	"invalid-session": state.ErrInvalidSession,
	"invalid-txn":     state.ErrInvalidTxn,
	"lock-refused":    state.ErrLockRefused,
	"unknown-peer":    raftstore.ErrUnknownPeer,
	"undecodable":     raftstore.ErrUndecodable,
}

func toWire(err error) *rpc.Error {
	if err == nil {
		return nil
	}
	for kind, sentinel := range wireKinds {
		if errors.Is(err, sentinel) {
			return &rpc.Error{Kind: kind, Message: err.Error()}
		}
	}
	return &rpc.Error{Message: err.Error()}
}

func fromWire(e *rpc.Error) error {
	if e == nil {
		return nil
	}
	return &remoteError{msg: e.Message, kind: wireKinds[e.Kind]}
}

// remoteError is an error returned by another server: its text, and the
// sentinel it wrapped there.
type remoteError struct {
	msg  string
	kind error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.kind }
