package cluster

import (
	"errors"

	"github.com/coredns-coord/coredns-coord/acl"

	"github.com/coredns-coord/coredns-coord/raftstore"
	"github.com/coredns-coord/coredns-coord/rpc"
	"github.com/coredns-coord/coredns-coord/state"
)

// ErrNoLeader is a write or consistent read that found no leader within
// the hold time (Consul's "No cluster leader"): nothing was applied.
var ErrNoLeader = errors.New("no cluster leader")

// ErrorKind is what a failed request means to whoever asked. It is decided
// once for every sentinel error: the HTTP API derives its status codes
// from it, and a forwarded error keeps its sentinel across the wire.
type ErrorKind int

// The kinds, in order of precedence: an error that wraps sentinels of two
// kinds (no leader because this server cannot write its log) is of the one
// listed first. Whether a write was applied comes before whose fault a
// refusal was, as the HTTP API has always answered.
const (
	// KindNotFound: what the request names does not exist on this agent.
	KindNotFound ErrorKind = iota + 1
	// KindLogWrite: a server cannot write its Raft log (a full disk).
	KindLogWrite
	// KindOutcomeUnknown: the write may or may not have been applied.
	KindOutcomeUnknown
	// KindCatchingUp: this agent's copy of the state is still behind.
	KindCatchingUp
	// KindNoLeader: no leader was reached; nothing was applied.
	KindNoLeader
	// KindInvalid: the request is wrong (validation, a bad archive, an
	// unknown peer); sending it again cannot help.
	KindInvalid
	// KindNotApplied: the write provably was not applied.
	KindNotApplied
	// KindConflict: the write lost to the state (a refused lock).
	KindConflict
	// KindUndecodable: a command this binary cannot decode.
	KindUndecodable
	// KindForbidden: the token may not do it, or does not exist (403).
	KindForbidden
	// KindInternal: anything else.
	KindInternal
)

// Sentinel is one error with a meaning beyond its text: its name on the
// wire and its kind.
type Sentinel struct {
	Err  error
	Wire string
	Kind ErrorKind
}

// sentinels are the errors a server answers another agent with. A new one
// is added here only. Order matters for the wire, which keeps one sentinel
// per error: the outcome of a write (not leader, no leader, not applied,
// unknown) comes before any cause, so that the agent that
// forwarded it still knows whether it may re-send (a no-leader caused by a
// log write failure travels as no-leader).
var sentinels = []Sentinel{
	{raftstore.ErrNotLeader, "not-leader", KindNoLeader},
	{ErrNoLeader, "no-leader", KindNoLeader},
	{raftstore.ErrNotApplied, "not-applied", KindNotApplied},
	{raftstore.ErrOutcomeUnknown, "outcome-unknown", KindOutcomeUnknown},
	{state.ErrMissingNode, "missing-node", KindInvalid},
	{state.ErrMissingAddress, "missing-address", KindInvalid},
	{state.ErrMissingService, "missing-service", KindInvalid},
	{state.ErrMissingCheckID, "missing-check", KindInvalid},
	{state.ErrUnknownNode, "unknown-node", KindInvalid},
	{state.ErrUnknownService, "unknown-service", KindInvalid},
	{state.ErrBadCheckStatus, "bad-status", KindInvalid},
	{state.ErrMissingKey, "missing-key", KindInvalid},
	{state.ErrInvalidSession, "invalid-session", KindInvalid},
	{state.ErrInvalidTxn, "invalid-txn", KindInvalid},
	{state.ErrLockRefused, "lock-refused", KindConflict},
	{state.ErrInvalidACL, "invalid-acl", KindInvalid},
	{state.ErrACLBootstrapDone, "acl-bootstrap-done", KindConflict},
	{raftstore.ErrUnknownPeer, "unknown-peer", KindInvalid},
	{raftstore.ErrUndecodable, "undecodable", KindUndecodable},
	{raftstore.ErrBadArchive, "bad-archive", KindInvalid},
	{raftstore.ErrLogWrite, "log-write", KindLogWrite},
	{acl.ErrPermissionDenied, "permission-denied", KindForbidden},
	{acl.ErrNotFound, "acl-not-found", KindForbidden},
}

// Sentinels lists the errors that cross the wire, in wire order.
func Sentinels() []Sentinel { return append([]Sentinel(nil), sentinels...) }

// KindOf is err's kind: of the sentinels it wraps, the most specific;
// KindInternal when it wraps none.
func KindOf(err error) ErrorKind {
	kind := KindInternal
	for _, s := range sentinels {
		if s.Kind < kind && errors.Is(err, s.Err) {
			kind = s.Kind
		}
	}
	return kind
}

// wireName is the name of the first sentinel err wraps, "" for none.
func wireName(err error) string {
	for _, s := range sentinels {
		if errors.Is(err, s.Err) {
			return s.Wire
		}
	}
	return ""
}

// sentinelByWire is the inverse of wireName (nil for "" and for a name a
// newer agent sent that this one does not know).
var sentinelByWire = func() map[string]error {
	m := make(map[string]error, len(sentinels))
	for _, s := range sentinels {
		m[s.Wire] = s.Err
	}
	return m
}()

// ToWire encodes an error for another agent, naming the sentinel it wraps
// so that it keeps its meaning there: a write the leader refused is still
// a 400 on the agent that received it.
func ToWire(err error) *rpc.Error {
	if err == nil {
		return nil
	}
	return &rpc.Error{Kind: wireName(err), Message: err.Error()}
}

// FromWire decodes an error another agent sent.
func FromWire(e *rpc.Error) error {
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
