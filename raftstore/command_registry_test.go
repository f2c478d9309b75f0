package raftstore

import (
	"encoding/json"
	"testing"

	"github.com/coredns-coord/coredns-coord/state"
	"github.com/coredns-coord/coredns-coord/structs"
)

// Every command type this binary writes is in the registry.
func TestEveryCommandIsRegistered(t *testing.T) {
	for ct := RegisterCommand; ct <= AutopilotCommand; ct++ {
		if specOf(ct) == nil {
			t.Errorf("%s has no registry entry", ct)
		}
	}
	if specOf(AutopilotCommand+1) != nil || specOf(CommandType(200)) != nil {
		t.Error("an unknown type has a registry entry")
	}
}

// A result that crossed the wire (as the leader's agent encodes it) has
// the same type and value as the FSM's.
func TestForwardedResultKeepsItsType(t *testing.T) {
	store := state.NewStore()
	kv, err := KV.Result(KV.applyIn(t, store, 1, &structs.KVRequest{Op: structs.KVSet, DirEnt: structs.DirEntry{Key: "k"}}))
	if err != nil || !kv {
		t.Fatalf("kv set: %v, %v", kv, err)
	}
	cas := KV.applyIn(t, store, 2, &structs.KVRequest{Op: structs.KVCAS, DirEnt: structs.DirEntry{Key: "k"}})
	if got, err := KV.Result(forward(t, KVCommand, cas)); err != nil || got {
		t.Errorf("forwarded failed cas: %v, %v", got, err)
	}
	txn := Txn.applyIn(t, store, 3, &structs.TxnRequest{Ops: structs.TxnOps{{KV: &structs.TxnKVOp{Verb: structs.KVGet, DirEnt: structs.DirEntry{Key: "k"}}}}})
	resp, err := Txn.Result(forward(t, TxnCommand, txn))
	if err != nil || resp == nil || len(resp.Results) != 1 || resp.Results[0].KV.Key != "k" {
		t.Errorf("forwarded txn: %+v, %v", resp, err)
	}
	reg := Register.applyIn(t, store, 4, &structs.RegisterRequest{Node: "n1", Address: "10.0.0.1"})
	if reg != nil {
		t.Errorf("register answered %#v, want nil (nothing forwarded)", reg)
	}
	if _, err := Register.Result(forward(t, RegisterCommand, reg)); err != nil {
		t.Error(err)
	}
	if _, err := KV.Result(resp); err == nil {
		t.Error("a txn response taken as a KV result")
	}
}

// applyIn runs the command's registry entry on store, as the FSM does.
func (c Command[Req, Res]) applyIn(t *testing.T, store *state.Store, idx uint64, req Req) any {
	t.Helper()
	res := specOf(c.Type).apply(store, idx, req)
	if err, ok := res.(error); ok {
		t.Fatalf("%s: %v", c.Type, err)
	}
	return res
}

// forward is what the agent's RPC does to a result: JSON (none for nil),
// then DecodeResult.
func forward(t *testing.T, ct CommandType, res any) any {
	t.Helper()
	var raw json.RawMessage
	if res != nil {
		b, err := json.Marshal(res)
		if err != nil {
			t.Fatal(err)
		}
		raw = b
	}
	back, err := DecodeResult(ct, raw)
	if err != nil {
		t.Fatal(err)
	}
	return back
}
