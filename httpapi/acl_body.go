package httpapi

import (
	"net/http"

	"github.com/coredns-coord/coredns-coord/acl"
	"github.com/coredns-coord/coredns-coord/structs"
)

// Permission checks that depend on the request body. Each returns nil with
// ACLs off (no identity).

// authorizeTxn checks a transaction op by op, as Consul: every op the
// token may not perform becomes a TxnError, and the transaction is
// refused whole (409) with nothing applied.
func authorizeTxn(r *http.Request, ops structs.TxnOps) []*structs.TxnError {
	if t, ok := checkerOf(r); ok {
		return t.TxnDenials(ops)
	}
	return nil
}

// filterTxnResults drops the entries of a get-tree the token may not read.
func filterTxnResults(r *http.Request, results []*structs.TxnResult) []*structs.TxnResult {
	id := identityOf(r)
	if id == nil {
		return results
	}
	kept := results[:0:0]
	for _, res := range results {
		if res.KV != nil && !readableKey(id.Authorizer, res.KV.Key) {
			continue
		}
		kept = append(kept, res)
	}
	return kept
}

// authorizeRegistration and authorizeDeregistration check a catalog
// write with the rules the server checks it with again (aclcheck).
func (s *server) authorizeRegistration(r *http.Request, req *structs.RegisterRequest) error {
	if t, ok := checkerOf(r); ok {
		return t.Registration(s.agent.State(), req)
	}
	return nil
}

func (s *server) authorizeDeregistration(r *http.Request, req *structs.DeregisterRequest) error {
	if t, ok := checkerOf(r); ok {
		return t.Deregistration(s.agent.State(), req)
	}
	return nil
}

// authorizeAgentService: registering a service with the agent needs
// service:write on its name (and on the name it replaces).
func (s *server) authorizeAgentService(r *http.Request, def *structs.ServiceDefinition) error {
	if identityOf(r) == nil {
		return nil
	}
	if err := authorize(r, acl.ResourceService, def.Name, acl.AccessWrite); err != nil {
		return err
	}
	if old, ok := s.agent.LocalServices()[def.ServiceID()]; ok && old.Service != def.Name {
		return authorize(r, acl.ResourceService, old.Service, acl.AccessWrite)
	}
	return nil
}

// authorizeAgentCheck: a check of a local service needs service:write on
// it; a node check node:write on this node.
func (s *server) authorizeAgentCheck(r *http.Request, def *structs.CheckDefinition) error {
	if identityOf(r) == nil {
		return nil
	}
	if def.ServiceID != "" {
		svc, ok := s.agent.LocalServices()[def.ServiceID]
		if !ok {
			return nil // the agent refuses it
		}
		return authorize(r, acl.ResourceService, svc.Service, acl.AccessWrite)
	}
	return authorize(r, acl.ResourceNode, s.agent.Config().NodeName, acl.AccessWrite)
}

func readableSession(authz *acl.Authorizer, s *sessionJSON) bool {
	return authz.Allowed(acl.ResourceSession, s.Node, acl.AccessRead)
}

func readableEvent(authz *acl.Authorizer, ev *structs.UserEvent) bool {
	return authz.Allowed(acl.ResourceEvent, ev.Name, acl.AccessRead)
}
