package aclcheck

import (
	"fmt"

	"github.com/coredns-coord/coredns-coord/acl"
	"github.com/coredns-coord/coredns-coord/raftstore"
	"github.com/coredns-coord/coredns-coord/state"
	"github.com/coredns-coord/coredns-coord/structs"
)

// Command checks an encoded Raft command, as a server does before it
// applies one that another agent forwarded: the same rules the HTTP API
// applied to the request that made it.
func (t Token) Command(st *state.Store, buf []byte) error {
	typ, req, err := raftstore.DecodeCommand(buf)
	if err != nil {
		return err
	}
	switch req := req.(type) {
	case *structs.RegisterRequest:
		return t.Registration(st, req)
	case *structs.DeregisterRequest:
		return t.Deregistration(st, req)
	case *structs.KVRequest:
		return t.KV(req)
	case *structs.SessionRequest:
		if req.Op == structs.SessionDestroy {
			return t.SessionByID(st, req.Session.ID)
		}
		return t.SessionOnNode(req.Session.Node)
	case *structs.TxnRequest:
		if denials := t.TxnDenials(req.Ops); len(denials) > 0 {
			// The HTTP API answered these op by op before sending; here
			// the first is enough to refuse the whole transaction.
			op := req.Ops[denials[0].OpIndex]
			res, name, want := TxnOpPermission(op)
			return t.denied(res, name, want)
		}
		return nil
	case *structs.AutopilotRequest:
		return t.Need(acl.ResourceOperator, "", acl.AccessWrite)
	case *structs.ACLRequest:
		// Bootstrap is open to anyone, once, as the HTTP endpoint; the
		// FSM refuses a second one.
		if req.Op == structs.ACLBootstrap {
			return nil
		}
		return t.Need(acl.ResourceACL, "", acl.AccessWrite)
	}
	if typ == raftstore.RestoreCommand {
		// A snapshot holds every secret: management only.
		return t.Need(acl.ResourceACL, "", acl.AccessWrite)
	}
	return fmt.Errorf("aclcheck: %w: no rule for a %s command", acl.ErrPermissionDenied, typ)
}
