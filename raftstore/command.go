// Package raftstore is the replicated state: a hashicorp/raft node with a
// durable log (raft-wal) and file snapshots, and the FSM that applies typed
// commands to the state store.
//
// Every command type is declared once, in the command registry
// (command_registry.go): its request type, its result type and what the
// FSM does with it. Writers name a command by its typed handle (KV, Txn,
// ...), which encodes the request and gives the FSM's answer, local or
// forwarded, its result type.
package raftstore

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/coredns-coord/coredns-coord/structs"
)

// CommandType is the first byte of every Raft log entry we write.
type CommandType byte

const (
	RegisterCommand CommandType = iota
	DeregisterCommand
	KVCommand
	SessionCommand
	TxnCommand
	// RestoreCommand replaces the whole state with a snapshot (snapshot
	// restore): as a log entry it reaches every server and, through the
	// feed, every client, in order with the writes around it.
	RestoreCommand
	// AutopilotCommand sets the autopilot configuration.
	AutopilotCommand
	// ACLCommand writes a token, policy or role (structs.ACLRequest).
	ACLCommand

	// lastCommand is the highest type this binary knows.
	lastCommand = ACLCommand
)

func (t CommandType) String() string {
	switch t {
	case RegisterCommand:
		return "register"
	case DeregisterCommand:
		return "deregister"
	case KVCommand:
		return "kv"
	case SessionCommand:
		return "session"
	case TxnCommand:
		return "txn"
	case RestoreCommand:
		return "restore"
	case AutopilotCommand:
		return "autopilot"
	case ACLCommand:
		return "acl"
	}
	return fmt.Sprintf("unknown(%d)", byte(t))
}

// ErrUndecodable marks a log entry this binary cannot decode.
var ErrUndecodable = errors.New("undecodable command")

// A log entry is a type byte and a JSON body. Since request IDs, the type
// byte has framedFlag set and the 16-byte request ID follows it; entries
// written before (no flag, no ID) still decode, so a data directory of an
// older binary loads as it is.
const framedFlag = 0x80

// framedHeader is the size of a framed entry's type byte and request ID.
const framedHeader = 1 + len(structs.RequestID{})

// EncodeCommand frames a request with its request ID: the Raft log entry,
// and what a follower or client forwards to the leader. Writers use a
// command's handle (KV.Encode, ...), which takes only its request type.
func EncodeCommand(t CommandType, id structs.RequestID, req any) ([]byte, error) {
	head := make([]byte, framedHeader, framedHeader+256)
	head[0] = byte(t) | framedFlag
	copy(head[1:], id[:])
	if raw, ok := req.([]byte); ok && t == RestoreCommand {
		return append(head, raw...), nil
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("raftstore: encode %s: %w", t, err)
	}
	return append(head, body...), nil
}

// CommandTypeOf is the type of an encoded command.
func CommandTypeOf(buf []byte) CommandType {
	if len(buf) == 0 {
		return 0
	}
	return CommandType(buf[0] &^ framedFlag)
}

// decodeCommand is the inverse of EncodeCommand (and reads unframed
// entries, whose request ID is zero).
func decodeCommand(buf []byte) (CommandType, structs.RequestID, any, error) {
	var id structs.RequestID
	if len(buf) == 0 {
		return 0, id, nil, fmt.Errorf("raftstore: %w: empty", ErrUndecodable)
	}
	t, body := CommandType(buf[0]), buf[1:]
	if buf[0]&framedFlag != 0 {
		if len(buf) < framedHeader {
			return 0, id, nil, fmt.Errorf("raftstore: %w: %d bytes, shorter than a request ID", ErrUndecodable, len(buf))
		}
		t = CommandType(buf[0] &^ framedFlag)
		copy(id[:], buf[1:framedHeader])
		body = buf[framedHeader:]
	}
	spec := specOf(t)
	if spec == nil {
		return t, id, nil, fmt.Errorf("raftstore: %w: unknown type %d", ErrUndecodable, buf[0])
	}
	req, err := spec.decodeRequest(body)
	if err != nil {
		return t, id, nil, fmt.Errorf("raftstore: %w: %s: %v", ErrUndecodable, t, err)
	}
	return t, id, req, nil
}

// DecodeCommand is an encoded command's type and request (the request
// type its handle names), for a server that checks a forwarded write
// before it applies it.
func DecodeCommand(buf []byte) (CommandType, any, error) {
	t, _, req, err := decodeCommand(buf)
	return t, req, err
}

// RequestIDOf is the request ID an encoded command carries; false for an
// entry written before request IDs, or one too short to hold one.
func RequestIDOf(buf []byte) (structs.RequestID, bool) {
	var id structs.RequestID
	if len(buf) < framedHeader || buf[0]&framedFlag == 0 {
		return id, false
	}
	copy(id[:], buf[1:framedHeader])
	return id, true
}
