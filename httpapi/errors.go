package httpapi

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/coredns-coord/coredns-coord/agent"
	"github.com/coredns-coord/coredns-coord/raftstore"
	"github.com/coredns-coord/coredns-coord/raftstore/state"
)

// httpError is an error with the status code and message the client gets.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

func errorf(code int, format string, args ...any) error {
	return &httpError{code: code, msg: fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) error {
	return errorf(http.StatusBadRequest, format, args...)
}

// errNoLeader is Consul's message for a write (or consistent read) that
// cannot reach a leader.
const errNoLeader = "No cluster leader"

// errClientGone reports that the client disconnected while a blocking query
// waited; there is nobody left to answer.
var errClientGone = errors.New("client disconnected")

// validationErrors are the state store's refusals of bad input: they are the
// client's fault, so 400, never 500.
var validationErrors = []error{
	state.ErrMissingNode,
	state.ErrMissingAddress,
	state.ErrMissingService,
	state.ErrMissingCheckID,
	state.ErrUnknownNode,
	state.ErrUnknownService,
	state.ErrBadCheckStatus,
	state.ErrMissingKey,
	state.ErrInvalidSession,
	state.ErrInvalidTxn,
	raftstore.ErrUnknownPeer,
	raftstore.ErrBadArchive,
}

// statusOf maps an error to the status code and message Consul would use.
func statusOf(err error) (int, string) {
	var he *httpError
	if errors.As(err, &he) {
		return he.code, he.msg
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return http.StatusRequestEntityTooLarge,
			fmt.Sprintf("Request body too large, max size: %d bytes", tooBig.Limit)
	}
	switch {
	case errors.Is(err, agent.ErrUnknownService), errors.Is(err, agent.ErrUnknownCheck):
		return http.StatusNotFound, err.Error()
	case errors.Is(err, agent.ErrInvalidDefinition):
		return http.StatusBadRequest, err.Error()
	}
	if errors.Is(err, raftstore.ErrLogWrite) {
		// A full disk, say: the cause matters more than Consul's fixed
		// "No cluster leader" (which follows from it).
		return http.StatusInternalServerError, err.Error()
	}
	if errors.Is(err, raftstore.ErrOutcomeUnknown) {
		// Consul answers this case with a bare 500 too, but the client must
		// know not to take it as "not applied".
		return http.StatusInternalServerError, "Outcome unknown: the write may or may not have been applied; read before you retry (" + err.Error() + ")"
	}
	if errors.Is(err, agent.ErrCatchingUp) {
		return http.StatusInternalServerError, err.Error()
	}
	if errors.Is(err, raftstore.ErrNotLeader) || errors.Is(err, agent.ErrNoLeader) {
		return http.StatusInternalServerError, errNoLeader
	}
	for _, v := range validationErrors {
		if errors.Is(err, v) {
			return http.StatusBadRequest, err.Error()
		}
	}
	return http.StatusInternalServerError, err.Error()
}

// writeError answers with err's status and message as plain text. Nothing
// is written for a client that went away.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, errClientGone) || r.Context().Err() != nil {
		return
	}
	code, msg := statusOf(err)
	writeText(w, code, msg)
}
