package state

import (
	"errors"
	"fmt"

	"github.com/coredns-coord/coredns-coord/structs"
)

// txnOpError is a failed operation: it becomes a TxnError with its message,
// not a failure of the transaction machinery.
type txnOpError struct{ msg string }

func (e *txnOpError) Error() string { return e.msg }

// ValidateTxn refuses malformed transactions before they reach Raft:
// too many operations, an operation with no or several kinds, an unknown
// verb, a missing key or name.
func ValidateTxn(ops structs.TxnOps) error {
	if len(ops) == 0 {
		return fmt.Errorf("%w: no operations", ErrInvalidTxn)
	}
	if len(ops) > structs.MaxTxnOps {
		return fmt.Errorf("%w: %d operations, at most %d", ErrInvalidTxn, len(ops), structs.MaxTxnOps)
	}
	for i, op := range ops {
		if err := validateTxnOp(op); err != nil {
			return fmt.Errorf("%w: operation %d: %v", ErrInvalidTxn, i, err)
		}
	}
	return nil
}

func validateTxnOp(op *structs.TxnOp) error {
	kinds := 0
	for _, set := range []bool{op.KV != nil, op.Node != nil, op.Service != nil, op.Check != nil} {
		if set {
			kinds++
		}
	}
	if kinds != 1 {
		return errors.New("exactly one of KV, Node, Service or Check must be set")
	}
	switch {
	case op.KV != nil:
		switch op.KV.Verb {
		case structs.KVSet, structs.KVCAS, structs.KVLock, structs.KVUnlock, structs.KVGet,
			structs.KVCheckIndex, structs.KVCheckSession, structs.KVCheckNotExists,
			structs.KVDelete, structs.KVDeleteCAS:
			if op.KV.DirEnt.Key == "" {
				return fmt.Errorf("missing key for %s", op.KV.Verb)
			}
		case structs.KVGetTree, structs.KVDeleteTree:
		default:
			return fmt.Errorf("unknown KV verb %q", op.KV.Verb)
		}
	case op.Node != nil:
		return validCatalogVerb(op.Node.Verb, op.Node.Node.Node, "node")
	case op.Service != nil:
		if op.Service.Node == "" {
			return errors.New("missing node for service operation")
		}
		return validCatalogVerb(op.Service.Verb, op.Service.Service.ID+op.Service.Service.Service, "service")
	case op.Check != nil:
		if op.Check.Check.Node == "" {
			return errors.New("missing node for check operation")
		}
		return validCatalogVerb(op.Check.Verb, op.Check.Check.CheckID+op.Check.Check.Name, "check")
	}
	return nil
}

func validCatalogVerb(verb, name, what string) error {
	switch verb {
	case structs.TxnGet, structs.TxnSet, structs.TxnCAS, structs.TxnDelete, structs.TxnDeleteCAS:
	default:
		return fmt.Errorf("unknown %s verb %q", what, verb)
	}
	if name == "" {
		return fmt.Errorf("missing %s name", what)
	}
	return nil
}

// IsReadOnlyTxn reports whether a transaction only reads, so that it can be
// served from local state without Raft.
func IsReadOnlyTxn(ops structs.TxnOps) bool {
	for _, op := range ops {
		switch {
		case op.KV != nil:
			switch op.KV.Verb {
			case structs.KVGet, structs.KVGetTree, structs.KVCheckIndex, structs.KVCheckSession, structs.KVCheckNotExists:
			default:
				return false
			}
		case op.Node != nil && op.Node.Verb != structs.TxnGet,
			op.Service != nil && op.Service.Verb != structs.TxnGet,
			op.Check != nil && op.Check.Verb != structs.TxnGet:
			return false
		}
	}
	return true
}

// Txn runs a transaction at idx: every operation or none. A transaction
// whose operations fail returns their errors and writes nothing. A
// read-only transaction runs the same way and is simply not committed.
func (s *Store) Txn(idx uint64, ops structs.TxnOps) (*structs.TxnResponse, error) {
	if err := ValidateTxn(ops); err != nil {
		return nil, err
	}
	tx := s.write(idx)
	defer tx.Abort()
	resp := &structs.TxnResponse{}
	for i, op := range ops {
		results, err := tx.txnOp(op)
		var opErr *txnOpError
		if errors.As(err, &opErr) || errors.Is(err, ErrLockRefused) || isValidation(err) {
			resp.Errors = append(resp.Errors, &structs.TxnError{OpIndex: i, What: err.Error()})
			continue
		}
		if err != nil {
			return nil, err
		}
		resp.Results = append(resp.Results, results...)
	}
	if len(resp.Errors) > 0 {
		resp.Results = nil
		return resp, nil
	}
	if IsReadOnlyTxn(ops) {
		return resp, nil
	}
	return resp, tx.Commit()
}

// isValidation reports the catalog's input errors, which fail one operation.
func isValidation(err error) bool {
	for _, v := range []error{ErrMissingNode, ErrMissingAddress, ErrMissingService, ErrMissingCheckID,
		ErrUnknownNode, ErrUnknownService, ErrBadCheckStatus, ErrMissingKey} {
		if errors.Is(err, v) {
			return true
		}
	}
	return false
}

func opFailed(format string, args ...any) error {
	return &txnOpError{msg: fmt.Sprintf(format, args...)}
}

func (tx *writeTxn) txnOp(op *structs.TxnOp) ([]*structs.TxnResult, error) {
	switch {
	case op.KV != nil:
		return tx.txnKV(op.KV)
	case op.Node != nil:
		n, err := tx.txnNode(op.Node)
		if n == nil {
			return nil, err
		}
		return []*structs.TxnResult{{Node: n}}, err
	case op.Service != nil:
		svc, err := tx.txnService(op.Service)
		if svc == nil {
			return nil, err
		}
		return []*structs.TxnResult{{Service: svc}}, err
	default:
		hc, err := tx.txnCheck(op.Check)
		if hc == nil {
			return nil, err
		}
		return []*structs.TxnResult{{Check: hc}}, err
	}
}

func (tx *writeTxn) kvEntry(key string) (*structs.DirEntry, error) {
	raw, err := tx.First(tableKVs, indexID, key)
	if err != nil {
		return nil, fmt.Errorf("state: kv lookup: %w", err)
	}
	if raw == nil {
		return nil, nil
	}
	return raw.(*structs.DirEntry), nil
}

// txnKV runs one KV operation. Reads return entries with values; writes
// return the written entry without its value, as Consul does.
func (tx *writeTxn) txnKV(op *structs.TxnKVOp) ([]*structs.TxnResult, error) {
	e := op.DirEnt
	existing, err := tx.kvEntry(e.Key)
	if err != nil {
		return nil, err
	}
	switch op.Verb {
	case structs.KVGet:
		if existing == nil {
			return nil, opFailed("key %q doesn't exist", e.Key)
		}
		return []*structs.TxnResult{{KV: existing}}, nil
	case structs.KVGetTree:
		entries, err := list[*structs.DirEntry](tx.Txn, nil, tableKVs, indexID+"_prefix", e.Key)
		if err != nil {
			return nil, err
		}
		out := make([]*structs.TxnResult, len(entries))
		for i, entry := range entries {
			out[i] = &structs.TxnResult{KV: entry}
		}
		return out, nil
	case structs.KVCheckIndex:
		if existing == nil {
			return nil, opFailed("key %q doesn't exist", e.Key)
		}
		if existing.ModifyIndex != e.ModifyIndex {
			return nil, opFailed("current modify index %d != %d", existing.ModifyIndex, e.ModifyIndex)
		}
		return []*structs.TxnResult{{KV: withoutValue(existing)}}, nil
	case structs.KVCheckSession:
		if existing == nil {
			return nil, opFailed("key %q doesn't exist", e.Key)
		}
		if existing.Session != e.Session {
			return nil, opFailed("failed session check for key %q, current session %q != %q", e.Key, existing.Session, e.Session)
		}
		return []*structs.TxnResult{{KV: withoutValue(existing)}}, nil
	case structs.KVCheckNotExists:
		if existing != nil {
			return nil, opFailed("key %q exists", e.Key)
		}
		return nil, nil
	}
	ok, err := tx.kvApply(&structs.KVRequest{Op: op.Verb, DirEnt: e})
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, opFailed("failed to %s key %q: index %d is not the current one", op.Verb, e.Key, e.ModifyIndex)
	}
	switch op.Verb {
	case structs.KVDelete, structs.KVDeleteCAS, structs.KVDeleteTree:
		return nil, nil
	}
	written, err := tx.kvEntry(e.Key)
	if err != nil || written == nil {
		return nil, err
	}
	return []*structs.TxnResult{{KV: withoutValue(written)}}, nil
}

func withoutValue(e *structs.DirEntry) *structs.DirEntry {
	c := *e
	c.Value = nil
	return &c
}

// catalogCAS checks a cas or delete-cas index against the current entry:
// 0 means it must not exist.
func catalogCAS(verb string, exists bool, current, want uint64, what string) error {
	switch verb {
	case structs.TxnCAS:
		if (want == 0 && exists) || (want != 0 && (!exists || current != want)) {
			return opFailed("failed to set %s: index %d does not match", what, want)
		}
	case structs.TxnDeleteCAS:
		if !exists || current != want {
			return opFailed("failed to delete %s: index %d does not match", what, want)
		}
	}
	return nil
}

func (tx *writeTxn) txnNode(op *structs.TxnNodeOp) (*structs.Node, error) {
	n := op.Node
	raw, err := tx.First(tableNodes, indexID, n.Node)
	if err != nil {
		return nil, fmt.Errorf("state: node lookup: %w", err)
	}
	var existing *structs.Node
	var current uint64
	if raw != nil {
		existing = raw.(*structs.Node)
		current = existing.ModifyIndex
	}
	if err := catalogCAS(op.Verb, existing != nil, current, n.ModifyIndex, "node "+n.Node); err != nil {
		return nil, err
	}
	switch op.Verb {
	case structs.TxnGet:
		if existing == nil {
			return nil, opFailed("node %q doesn't exist", n.Node)
		}
		return existing, nil
	case structs.TxnSet, structs.TxnCAS:
		if n.Address == "" {
			return nil, ErrMissingAddress
		}
		if err := tx.ensureNode(&n); err != nil {
			return nil, err
		}
		raw, _ := tx.First(tableNodes, indexID, n.Node)
		return raw.(*structs.Node), nil
	default:
		return nil, tx.deleteNode(n.Node)
	}
}

func (tx *writeTxn) txnService(op *structs.TxnServiceOp) (*structs.NodeService, error) {
	svc := op.Service
	if svc.ID == "" {
		svc.ID = svc.Service
	}
	raw, err := tx.First(tableServices, indexID, op.Node, svc.ID)
	if err != nil {
		return nil, fmt.Errorf("state: service lookup: %w", err)
	}
	var current uint64
	if raw != nil {
		current = raw.(*structs.ServiceNode).ModifyIndex
	}
	if err := catalogCAS(op.Verb, raw != nil, current, svc.ModifyIndex, "service "+svc.ID); err != nil {
		return nil, err
	}
	switch op.Verb {
	case structs.TxnGet:
		if raw == nil {
			return nil, opFailed("service %q on node %q doesn't exist", svc.ID, op.Node)
		}
		return raw.(*structs.ServiceNode).ToNodeService(), nil
	case structs.TxnSet, structs.TxnCAS:
		if n, _ := tx.First(tableNodes, indexID, op.Node); n == nil {
			return nil, fmt.Errorf("%w %q", ErrUnknownNode, op.Node)
		}
		if svc.Service == "" {
			return nil, ErrMissingService
		}
		if err := tx.ensureService(op.Node, &svc); err != nil {
			return nil, err
		}
		raw, _ := tx.First(tableServices, indexID, op.Node, svc.ID)
		return raw.(*structs.ServiceNode).ToNodeService(), nil
	default:
		return nil, tx.deleteService(op.Node, svc.ID)
	}
}

func (tx *writeTxn) txnCheck(op *structs.TxnCheckOp) (*structs.HealthCheck, error) {
	hc := op.Check
	if hc.CheckID == "" {
		hc.CheckID = hc.Name
	}
	raw, err := tx.First(tableChecks, indexID, hc.Node, hc.CheckID)
	if err != nil {
		return nil, fmt.Errorf("state: check lookup: %w", err)
	}
	var current uint64
	if raw != nil {
		current = raw.(*structs.HealthCheck).ModifyIndex
	}
	if err := catalogCAS(op.Verb, raw != nil, current, hc.ModifyIndex, "check "+hc.CheckID); err != nil {
		return nil, err
	}
	switch op.Verb {
	case structs.TxnGet:
		if raw == nil {
			return nil, opFailed("check %q on node %q doesn't exist", hc.CheckID, hc.Node)
		}
		return raw.(*structs.HealthCheck), nil
	case structs.TxnSet, structs.TxnCAS:
		if !structs.ValidCheckStatus(hc.Status) {
			return nil, fmt.Errorf("%w %q", ErrBadCheckStatus, hc.Status)
		}
		if err := tx.ensureCheck(&hc); err != nil {
			return nil, err
		}
		raw, _ := tx.First(tableChecks, indexID, hc.Node, hc.CheckID)
		return raw.(*structs.HealthCheck), nil
	default:
		return nil, tx.deleteCheck(hc.Node, hc.CheckID)
	}
}
