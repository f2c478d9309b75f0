package agent

import (
	"errors"

	"github.com/coredns-coord/coredns-coord/agent/cluster"
)

// ErrorKind is what a failed request means to whoever asked (see
// cluster.ErrorKind): the HTTP API derives its status codes from it.
type ErrorKind = cluster.ErrorKind

// The kinds, in order of precedence (see package cluster).
const (
	KindNotFound       = cluster.KindNotFound
	KindLogWrite       = cluster.KindLogWrite
	KindOutcomeUnknown = cluster.KindOutcomeUnknown
	KindCatchingUp     = cluster.KindCatchingUp
	KindNoLeader       = cluster.KindNoLeader
	KindInvalid        = cluster.KindInvalid
	KindNotApplied     = cluster.KindNotApplied
	KindConflict       = cluster.KindConflict
	KindUndecodable    = cluster.KindUndecodable
	KindForbidden      = cluster.KindForbidden
	KindInternal       = cluster.KindInternal
)

// localSentinels are the errors of this agent's own requests (its
// services and checks, its catch-up), which never cross the wire; the
// errors a server answers with are cluster's. A new one is added here only.
var localSentinels = []struct {
	err  error
	kind ErrorKind
}{
	{ErrCatchingUp, KindCatchingUp},
	{ErrUnknownService, KindNotFound},
	{ErrUnknownCheck, KindNotFound},
	{ErrInvalidDefinition, KindInvalid},
}

// ErrorKindOf is err's kind: of the sentinels it wraps, the most specific;
// KindInternal when it wraps none.
func ErrorKindOf(err error) ErrorKind {
	kind := cluster.KindOf(err)
	for _, s := range localSentinels {
		if s.kind < kind && errors.Is(err, s.err) {
			kind = s.kind
		}
	}
	return kind
}
