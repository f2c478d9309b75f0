package agent

import (
	"github.com/coredns-coord/coredns-coord/rpc"
)

// toWire encodes an error for another agent, naming the sentinel it wraps
// (see sentinels) so that it keeps its meaning there: a write the leader
// refused is still a 400 on the agent that received it.
func toWire(err error) *rpc.Error {
	if err == nil {
		return nil
	}
	return &rpc.Error{Kind: wireName(err), Message: err.Error()}
}

func fromWire(e *rpc.Error) error {
	if e == nil {
		return nil
	}
	return &remoteError{msg: e.Message, kind: sentinelByWire[e.Kind]}
}

// remoteError is an error returned by another server: its text, and the
// sentinel it wrapped there.
type remoteError struct {
	msg  string
	kind error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.kind }
