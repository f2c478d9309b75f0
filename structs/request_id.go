package structs

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
)

var errInvalidRequestID = errors.New("structs: request ID is not 32 hex digits")

// RequestID names one write from the agent that received it to the FSM
// that applies it. It is chosen once and kept on every forward and
// re-send, so that a write whose first attempt did commit is answered
// from that attempt instead of being applied again.
type RequestID [16]byte

// NewRequestID returns a random request ID.
func NewRequestID() RequestID {
	var id RequestID
	rand.Read(id[:]) // never fails (crypto/rand panics instead)
	return id
}

// IsZero reports whether id is unset (commands written before request
// IDs existed).
func (id RequestID) IsZero() bool { return id == RequestID{} }

func (id RequestID) String() string { return hex.EncodeToString(id[:]) }

// MarshalText and UnmarshalText give the ID a hex form in JSON.
func (id RequestID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

func (id *RequestID) UnmarshalText(b []byte) error {
	var out RequestID
	if len(b) != 2*len(out) {
		return errInvalidRequestID
	}
	if _, err := hex.Decode(out[:], b); err != nil {
		return errInvalidRequestID
	}
	*id = out
	return nil
}
