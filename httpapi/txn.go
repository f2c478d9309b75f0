package httpapi

import (
	"io"
	"net/http"

	"github.com/coredns-coord/coredns-coord/state"
	"github.com/coredns-coord/coredns-coord/structs"
)

// txnOpJSON is one operation of a /v1/txn body, in Consul's wire form:
// exactly one of its fields is set.
type txnOpJSON struct {
	KV      *txnKVJSON
	Node    *structs.TxnNodeOp
	Service *structs.TxnServiceOp
	Check   *structs.TxnCheckOp
}

// txnKVJSON is a KV operation as Consul's clients send it: flat, with the
// index for cas and check-index in Index.
type txnKVJSON struct {
	Verb    structs.KVOp
	Key     string
	Value   []byte
	Flags   uint64
	Index   uint64
	Session string
}

// kvTxnVerbs are the KV verbs a transaction may use. Whether a
// transaction writes is state.IsReadOnlyTxn's to say.
var kvTxnVerbs = map[structs.KVOp]struct{}{
	structs.KVSet:            {},
	structs.KVCAS:            {},
	structs.KVLock:           {},
	structs.KVUnlock:         {},
	structs.KVDelete:         {},
	structs.KVDeleteCAS:      {},
	structs.KVDeleteTree:     {},
	structs.KVGet:            {},
	structs.KVGetTree:        {},
	structs.KVCheckIndex:     {},
	structs.KVCheckSession:   {},
	structs.KVCheckNotExists: {},
}

// catalogTxnVerbs are the Node, Service and Check verbs.
var catalogTxnVerbs = map[string]struct{}{
	structs.TxnGet:       {},
	structs.TxnSet:       {},
	structs.TxnCAS:       {},
	structs.TxnDelete:    {},
	structs.TxnDeleteCAS: {},
}

// decodeTxn reads a /v1/txn body and converts it to the agent's ops. Too
// many operations or too large a value is 413; a malformed operation or an
// unknown verb is 400, and nothing runs.
func decodeTxn(body io.Reader, dc string) (structs.TxnOps, error) {
	var in []*txnOpJSON
	if err := decodeBody(body, &in); err != nil {
		return nil, err
	}
	if len(in) > structs.MaxTxnOps {
		return nil, errorf(http.StatusRequestEntityTooLarge,
			"Transaction contains too many operations (%d > %d)", len(in), structs.MaxTxnOps)
	}
	ops := make(structs.TxnOps, 0, len(in))
	for i, op := range in {
		out, err := convertTxnOp(i, op, dc)
		if err != nil {
			return nil, err
		}
		ops = append(ops, out)
	}
	return ops, nil
}

// convertTxnOp checks operation i and converts it from the wire form.
func convertTxnOp(i int, op *txnOpJSON, dc string) (*structs.TxnOp, error) {
	if op == nil || countSet(op.KV != nil, op.Node != nil, op.Service != nil, op.Check != nil) != 1 {
		return nil, badRequest("Operation %d must have exactly one of KV, Node, Service or Check", i)
	}
	switch {
	case op.KV != nil:
		kv := op.KV
		if _, ok := kvTxnVerbs[kv.Verb]; !ok {
			return nil, badRequest("Operation %d: unknown KV verb %q", i, kv.Verb)
		}
		if len(kv.Value) > maxKVValueSize {
			return nil, errorf(http.StatusRequestEntityTooLarge,
				"Value for key %q is too large (%d > %d bytes)", kv.Key, len(kv.Value), maxKVValueSize)
		}
		return &structs.TxnOp{KV: &structs.TxnKVOp{
			Verb: kv.Verb,
			DirEnt: structs.DirEntry{
				Key:       kv.Key,
				Value:     kv.Value,
				Flags:     kv.Flags,
				Session:   kv.Session,
				RaftIndex: structs.RaftIndex{ModifyIndex: kv.Index},
			},
		}}, nil

	case op.Node != nil:
		if _, ok := catalogTxnVerbs[op.Node.Verb]; !ok {
			return nil, badRequest("Operation %d: unknown Node verb %q", i, op.Node.Verb)
		}
		n := &op.Node.Node
		n.RaftIndex = structs.RaftIndex{ModifyIndex: n.ModifyIndex}
		if n.Datacenter == "" {
			n.Datacenter = dc
		}
		return &structs.TxnOp{Node: op.Node}, nil

	case op.Service != nil:
		if _, ok := catalogTxnVerbs[op.Service.Verb]; !ok {
			return nil, badRequest("Operation %d: unknown Service verb %q", i, op.Service.Verb)
		}
		svc := &op.Service.Service
		svc.RaftIndex = structs.RaftIndex{ModifyIndex: svc.ModifyIndex}
		if err := normalizeWeights(&svc.Weights); err != nil {
			return nil, err
		}
		return &structs.TxnOp{Service: op.Service}, nil

	default:
		if _, ok := catalogTxnVerbs[op.Check.Verb]; !ok {
			return nil, badRequest("Operation %d: unknown Check verb %q", i, op.Check.Verb)
		}
		hc := &op.Check.Check
		hc.RaftIndex = structs.RaftIndex{ModifyIndex: hc.ModifyIndex}
		defaultCheckType(hc)
		return &structs.TxnOp{Check: op.Check}, nil
	}
}

func countSet(set ...bool) int {
	n := 0
	for _, b := range set {
		if b {
			n++
		}
	}
	return n
}

// txn runs a transaction. A read-only one is a read: it takes ?stale and
// ?consistent and answers with the leader headers. A transaction that
// fails answers 409 with the errors and no results; nothing was written.
func (s *server) txn(w http.ResponseWriter, r *http.Request) error {
	opts, err := s.query(r)
	if err != nil {
		return err
	}
	ops, err := decodeTxn(r.Body, s.agent.Config().Datacenter)
	if err != nil {
		return err
	}
	if errs := authorizeTxn(r, ops); len(errs) > 0 {
		return writeJSON(w, r, http.StatusConflict, &structs.TxnResponse{Errors: errs})
	}
	readOnly := state.IsReadOnlyTxn(ops)
	if readOnly && opts.Consistent {
		if err := s.consistentRead(r.Context()); err != nil {
			return err
		}
	}
	resp, err := s.writer(r).Txn(ops)
	if err != nil {
		return err
	}
	if readOnly {
		s.setLeaderMeta(w)
	}
	if len(resp.Errors) > 0 {
		return writeJSON(w, r, http.StatusConflict, &structs.TxnResponse{Errors: resp.Errors})
	}
	return writeJSON(w, r, http.StatusOK, &structs.TxnResponse{Results: filterTxnResults(r, resp.Results)})
}
