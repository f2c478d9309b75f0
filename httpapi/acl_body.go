package httpapi

import (
	"maps"
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
	id := identityOf(r)
	if id == nil {
		return nil
	}
	var errs []*structs.TxnError
	for i, op := range ops {
		res, name, want := txnOpPermission(op)
		ok := id.Authorizer.Allowed(res, name, want)
		if op.KV != nil && op.KV.Verb == structs.KVDeleteTree {
			ok = id.Authorizer.KeyWritePrefix(name)
		}
		if !ok {
			e := &acl.PermissionDeniedError{AccessorID: id.AccessorID, Resource: res, Access: want, Name: name}
			errs = append(errs, &structs.TxnError{OpIndex: i, What: e.Error()})
		}
	}
	return errs
}

// txnOpPermission is what one op needs.
func txnOpPermission(op *structs.TxnOp) (acl.Resource, string, acl.Access) {
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

// authorizeRegistration: as Consul, a catalog registration needs
// node:write when it creates or changes the node, service:write on the
// service it carries, and write on each check's service or, for a node
// check, on the node.
func (s *server) authorizeRegistration(r *http.Request, req *structs.RegisterRequest) error {
	if identityOf(r) == nil {
		return nil
	}
	if s.changesNode(req) {
		if err := authorize(r, acl.ResourceNode, req.Node, acl.AccessWrite); err != nil {
			return err
		}
	}
	if req.Service != nil {
		if err := authorize(r, acl.ResourceService, req.Service.Service, acl.AccessWrite); err != nil {
			return err
		}
	}
	checks := req.Checks
	if req.Check != nil {
		checks = append(checks, req.Check)
	}
	for _, hc := range checks {
		if err := authorizeCheckWrite(r, req, hc); err != nil {
			return err
		}
	}
	return nil
}

// changesNode reports whether a registration creates its node or changes
// what the catalog holds for it.
func (s *server) changesNode(req *structs.RegisterRequest) bool {
	if req.Service == nil && req.Check == nil && len(req.Checks) == 0 {
		return true
	}
	n, err := s.agent.State().Node(req.Node)
	if err != nil || n == nil {
		return true
	}
	if req.SkipNodeUpdate {
		return false
	}
	return n.Address != req.Address || n.ID != req.ID && req.ID != "" ||
		(req.TaggedAddresses != nil && !maps.Equal(n.TaggedAddresses, req.TaggedAddresses)) ||
		(req.NodeMeta != nil && !maps.Equal(n.Meta, req.NodeMeta))
}

func authorizeCheckWrite(r *http.Request, req *structs.RegisterRequest, hc *structs.HealthCheck) error {
	if hc.ServiceID == "" {
		return authorize(r, acl.ResourceNode, req.Node, acl.AccessWrite)
	}
	name := hc.ServiceName
	if name == "" && req.Service != nil && req.Service.ID == hc.ServiceID {
		name = req.Service.Service
	}
	return authorize(r, acl.ResourceService, name, acl.AccessWrite)
}

// authorizeDeregistration: removing a node needs node:write; a service or
// check, write on it (its service looked up in the catalog).
func (s *server) authorizeDeregistration(r *http.Request, req *structs.DeregisterRequest) error {
	if identityOf(r) == nil {
		return nil
	}
	st := s.agent.State()
	switch {
	case req.ServiceID != "":
		_, ns, err := st.NodeServices(nil, req.Node)
		if err != nil {
			return err
		}
		if ns != nil {
			if svc, ok := ns.Services[req.ServiceID]; ok {
				return authorize(r, acl.ResourceService, svc.Service, acl.AccessWrite)
			}
		}
		return authorize(r, acl.ResourceNode, req.Node, acl.AccessWrite)
	case req.CheckID != "":
		_, checks, err := st.NodeChecks(nil, req.Node)
		if err != nil {
			return err
		}
		for _, hc := range checks {
			if hc.CheckID == req.CheckID && hc.ServiceName != "" {
				return authorize(r, acl.ResourceService, hc.ServiceName, acl.AccessWrite)
			}
		}
	}
	return authorize(r, acl.ResourceNode, req.Node, acl.AccessWrite)
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
