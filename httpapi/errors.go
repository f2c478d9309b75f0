package httpapi

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/coredns-coord/coredns-coord/agent"
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
	return statusOfKind(agent.ErrorKindOf(err), err)
}

// statusOfKind is the status and message of an error of kind (the agent's
// classification of every sentinel error).
func statusOfKind(kind agent.ErrorKind, err error) (int, string) {
	switch kind {
	case agent.KindNotFound:
		return http.StatusNotFound, err.Error()
	case agent.KindInvalid:
		// The client's fault: 400, never 500.
		return http.StatusBadRequest, err.Error()
	case agent.KindOutcomeUnknown:
		// Consul answers this case with a bare 500 too, but the client must
		// know not to take it as "not applied".
		return http.StatusInternalServerError, "Outcome unknown: the write may or may not have been applied; read before you retry (" + err.Error() + ")"
	case agent.KindNoLeader:
		return http.StatusInternalServerError, errNoLeader
	case agent.KindForbidden:
		return http.StatusForbidden, err.Error()
	}
	// A log write failure (a full disk, say) keeps its text: the cause
	// matters more than Consul's fixed "No cluster leader" that follows
	// from it; so does every other failure.
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
