package aclcheck

import (
	"github.com/coredns-coord/coredns-coord/acl"
	"github.com/coredns-coord/coredns-coord/structs"
)

// KV: every KV write needs key:write on its key; deleting a tree needs
// write on everything under the prefix.
func (t Token) KV(req *structs.KVRequest) error {
	if req.Op == structs.KVDeleteTree {
		return t.NeedKeyWritePrefix(req.DirEnt.Key)
	}
	return t.Need(acl.ResourceKey, req.DirEnt.Key, acl.AccessWrite)
}

// TxnDenials checks a transaction op by op, as Consul: every op the token
// may not perform is a TxnError (and the transaction is refused whole).
func (t Token) TxnDenials(ops structs.TxnOps) []*structs.TxnError {
	var errs []*structs.TxnError
	for i, op := range ops {
		res, name, want := TxnOpPermission(op)
		var err error
		if op.KV != nil && op.KV.Verb == structs.KVDeleteTree {
			err = t.NeedKeyWritePrefix(name)
		} else {
			err = t.Need(res, name, want)
		}
		if err != nil {
			errs = append(errs, &structs.TxnError{OpIndex: i, What: err.Error()})
		}
	}
	return errs
}

// TxnOpPermission is what one transaction op needs.
func TxnOpPermission(op *structs.TxnOp) (acl.Resource, string, acl.Access) {
	read := func(verb string) acl.Access {
		if verb == structs.TxnGet {
			return acl.AccessRead
		}
		return acl.AccessWrite
	}
	switch {
	case op.KV != nil:
		switch op.KV.Verb {
		case structs.KVGet, structs.KVCheckIndex, structs.KVCheckSession, structs.KVCheckNotExists:
			return acl.ResourceKey, op.KV.DirEnt.Key, acl.AccessRead
		case structs.KVGetTree:
			return acl.ResourceKey, op.KV.DirEnt.Key, acl.AccessList
		}
		return acl.ResourceKey, op.KV.DirEnt.Key, acl.AccessWrite
	case op.Node != nil:
		return acl.ResourceNode, op.Node.Node.Node, read(op.Node.Verb)
	case op.Service != nil:
		return acl.ResourceService, op.Service.Service.Service, read(op.Service.Verb)
	case op.Check != nil:
		if op.Check.Check.ServiceName != "" {
			return acl.ResourceService, op.Check.Check.ServiceName, read(op.Check.Verb)
		}
		return acl.ResourceNode, op.Check.Check.Node, read(op.Check.Verb)
	}
	return acl.ResourceOperator, "", acl.AccessWrite
}
