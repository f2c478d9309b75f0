package raftstore

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/coredns-coord/coredns-coord/state"
	"github.com/coredns-coord/coredns-coord/structs"
)

// The command registry: for each CommandType, the Go type of its request
// and of its result, how a log entry's body becomes the request, what the
// FSM does with it, and how a forwarded result becomes the FSM's value
// again. The typed handles (KV, Txn, ...) are how writers name a command,
// so that no caller type-asserts a result.

// Command is the typed handle of one command type: Req is what its log
// entry carries, Res what the FSM answers when it applies it.
type Command[Req, Res any] struct {
	Type CommandType
}

// NoResult is the result of the commands that answer only with an error.
type NoResult struct{}

// The commands. Their types are part of the log format: an entry written
// by an older binary decodes into the same request type.
var (
	Register   = defineJSON(RegisterCommand, noResult((*state.Store).EnsureRegistration))
	Deregister = defineJSON(DeregisterCommand, noResult((*state.Store).Deregister))
	// KV answers false for a check-and-set that did not match.
	KV      = defineJSON(KVCommand, (*state.Store).KVApply)
	Session = defineJSON(SessionCommand, noResult(applySession))
	Txn     = defineJSON(TxnCommand, applyTxn)
	// Restore carries the state stream itself, not JSON: the restore
	// decodes (and verifies) it.
	Restore = define(RestoreCommand, decodeRestore, noResult(applyRestore))
	// Autopilot answers false for a check-and-set that did not match.
	Autopilot = defineJSON(AutopilotCommand, (*state.Store).AutopilotApply)
	// ACL writes answer only with an error; the writer reads the object
	// back from its own copy, which has applied it.
	ACL = defineJSON(ACLCommand, noResult((*state.Store).ACLApply))
)

// Encode frames req as a log entry with request ID id.
func (c Command[Req, Res]) Encode(id structs.RequestID, req Req) ([]byte, error) {
	return EncodeCommand(c.Type, id, req)
}

// Result is the FSM's answer to this command (from Node.ApplyEncoded, or
// DecodeResult after a forward) as its result type. Commands that answer
// nothing give the zero value.
func (c Command[Req, Res]) Result(v any) (Res, error) {
	var zero Res
	if v == nil {
		return zero, nil
	}
	res, ok := v.(Res)
	if !ok {
		return zero, fmt.Errorf("raftstore: %s answered %T, want %T", c.Type, v, zero)
	}
	return res, nil
}

// DecodeResult turns a forwarded result (the JSON of the FSM's answer,
// empty for none) back into the value the FSM answered, as the command's
// result type says.
func DecodeResult(t CommandType, raw json.RawMessage) (any, error) {
	spec := specOf(t)
	if spec == nil || len(raw) == 0 {
		return nil, nil
	}
	return spec.decodeResult(raw)
}

// commandSpec is what the registry knows of one command type, untyped so
// that the FSM can dispatch on the type byte.
type commandSpec struct {
	decodeRequest func(body []byte) (any, error)
	apply         func(s *state.Store, idx uint64, req any) any
	decodeResult  func(raw json.RawMessage) (any, error)
}

// commandSpecs is indexed by CommandType; define fills it.
var commandSpecs [lastCommand + 1]commandSpec

// specOf is t's entry, nil for a type this binary does not know.
func specOf(t CommandType) *commandSpec {
	if int(t) >= len(commandSpecs) || commandSpecs[t].apply == nil {
		return nil
	}
	return &commandSpecs[t]
}

// define registers a command type and returns its handle. An apply error
// is the FSM's answer; so is nil for the commands with NoResult, which is
// what they have always answered and forwarded (no result at all).
func define[Req, Res any](t CommandType, decode func([]byte) (Req, error), apply func(*state.Store, uint64, Req) (Res, error)) Command[Req, Res] {
	_, none := any(*new(Res)).(NoResult)
	commandSpecs[t] = commandSpec{
		decodeRequest: func(body []byte) (any, error) { return decode(body) },
		apply: func(s *state.Store, idx uint64, req any) any {
			res, err := apply(s, idx, req.(Req))
			if err != nil {
				return err
			}
			if none {
				return nil
			}
			return res
		},
		decodeResult: func(raw json.RawMessage) (any, error) {
			if none {
				return nil, nil
			}
			var res Res
			if err := json.Unmarshal(raw, &res); err != nil {
				return nil, fmt.Errorf("raftstore: decode forwarded %s result: %w", t, err)
			}
			return res, nil
		},
	}
	return Command[Req, Res]{Type: t}
}

// defineJSON registers a command whose body is its request as JSON.
func defineJSON[Req, Res any](t CommandType, apply func(*state.Store, uint64, *Req) (Res, error)) Command[*Req, Res] {
	decode := func(body []byte) (*Req, error) {
		req := new(Req)
		if err := json.Unmarshal(body, req); err != nil {
			return nil, err
		}
		return req, nil
	}
	return define(t, decode, apply)
}

// noResult adapts a write that answers only with an error.
func noResult[Req any](apply func(*state.Store, uint64, Req) error) func(*state.Store, uint64, Req) (NoResult, error) {
	return func(s *state.Store, idx uint64, req Req) (NoResult, error) {
		return NoResult{}, apply(s, idx, req)
	}
}

func applySession(s *state.Store, idx uint64, req *structs.SessionRequest) error {
	switch req.Op {
	case structs.SessionCreate:
		return s.SessionCreate(idx, &req.Session)
	case structs.SessionDestroy:
		return s.SessionDestroy(idx, req.Session.ID)
	}
	return fmt.Errorf("raftstore: unknown session operation %q", req.Op)
}

func applyTxn(s *state.Store, idx uint64, req *structs.TxnRequest) (*structs.TxnResponse, error) {
	return s.Txn(idx, req.Ops)
}

// decodeRestore keeps the state stream as it is (no copy).
func decodeRestore(body []byte) ([]byte, error) { return body, nil }

func applyRestore(s *state.Store, idx uint64, stream []byte) error {
	return s.RestoreAt(idx, bytes.NewReader(stream))
}
