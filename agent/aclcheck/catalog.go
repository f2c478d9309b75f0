package aclcheck

import (
	"maps"

	"github.com/coredns-coord/coredns-coord/acl"
	"github.com/coredns-coord/coredns-coord/state"
	"github.com/coredns-coord/coredns-coord/structs"
)

// Registration: as Consul, a catalog registration needs node:write when
// it creates or changes the node, service:write on the service it
// carries, and write on each check's service or, for a node check, on the
// node.
func (t Token) Registration(st *state.Store, req *structs.RegisterRequest) error {
	if changesNode(st, req) {
		if err := t.Need(acl.ResourceNode, req.Node, acl.AccessWrite); err != nil {
			return err
		}
	}
	if req.Service != nil {
		if err := t.Need(acl.ResourceService, req.Service.Service, acl.AccessWrite); err != nil {
			return err
		}
	}
	for _, hc := range req.AllChecks() {
		if err := t.checkWrite(req, hc); err != nil {
			return err
		}
	}
	return nil
}

// changesNode reports whether a registration creates its node or changes
// what the catalog holds for it.
func changesNode(st *state.Store, req *structs.RegisterRequest) bool {
	if req.Service == nil && req.Check == nil && len(req.Checks) == 0 {
		return true
	}
	n, err := st.Node(req.Node)
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

func (t Token) checkWrite(req *structs.RegisterRequest, hc *structs.HealthCheck) error {
	if hc.ServiceID == "" {
		return t.Need(acl.ResourceNode, req.Node, acl.AccessWrite)
	}
	name := hc.ServiceName
	if name == "" && req.Service != nil && req.Service.ID == hc.ServiceID {
		name = req.Service.Service
	}
	return t.Need(acl.ResourceService, name, acl.AccessWrite)
}

// Deregistration: removing a node needs node:write; a service or check,
// write on it (its service looked up in the catalog).
func (t Token) Deregistration(st *state.Store, req *structs.DeregisterRequest) error {
	switch {
	case req.ServiceID != "":
		_, ns, err := st.NodeServices(nil, req.Node)
		if err != nil {
			return err
		}
		if ns != nil {
			if svc, ok := ns.Services[req.ServiceID]; ok {
				return t.Need(acl.ResourceService, svc.Service, acl.AccessWrite)
			}
		}
	case req.CheckID != "":
		_, checks, err := st.NodeChecks(nil, req.Node)
		if err != nil {
			return err
		}
		for _, hc := range checks {
			if hc.CheckID == req.CheckID && hc.ServiceName != "" {
				return t.Need(acl.ResourceService, hc.ServiceName, acl.AccessWrite)
			}
		}
	}
	return t.Need(acl.ResourceNode, req.Node, acl.AccessWrite)
}
