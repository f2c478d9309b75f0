// Package raftstore is the replicated state: a hashicorp/raft node with a
// durable log (raft-wal) and file snapshots, and the FSM that applies typed
// commands to the state store.
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
	}
	return fmt.Sprintf("unknown(%d)", byte(t))
}

// ErrUndecodable marks a log entry this binary cannot decode.
var ErrUndecodable = errors.New("undecodable command")

// EncodeCommand frames a request as type byte + JSON: the Raft log entry,
// and what a follower or client forwards to the leader.
func EncodeCommand(t CommandType, req any) ([]byte, error) {
	if raw, ok := req.([]byte); ok && t == RestoreCommand {
		return append([]byte{byte(t)}, raw...), nil
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("raftstore: encode %s: %w", t, err)
	}
	return append([]byte{byte(t)}, body...), nil
}

// decodeCommand is the inverse of encodeCommand.
func decodeCommand(buf []byte) (CommandType, any, error) {
	if len(buf) == 0 {
		return 0, nil, fmt.Errorf("raftstore: %w: empty", ErrUndecodable)
	}
	t := CommandType(buf[0])
	var req any
	switch t {
	case RegisterCommand:
		req = &structs.RegisterRequest{}
	case DeregisterCommand:
		req = &structs.DeregisterRequest{}
	case KVCommand:
		req = &structs.KVRequest{}
	case SessionCommand:
		req = &structs.SessionRequest{}
	case TxnCommand:
		req = &structs.TxnRequest{}
	case RestoreCommand:
		// The state stream, decoded (and verified) by the restore itself.
		return t, buf[1:], nil
	default:
		return t, nil, fmt.Errorf("raftstore: %w: unknown type %d", ErrUndecodable, buf[0])
	}
	if err := json.Unmarshal(buf[1:], req); err != nil {
		return t, nil, fmt.Errorf("raftstore: %w: %s: %v", ErrUndecodable, t, err)
	}
	return t, req, nil
}
