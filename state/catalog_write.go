package state

import (
	"errors"
	"fmt"
	"maps"

	"github.com/coredns-coord/coredns-coord/structs"
)

// Validation errors; the HTTP API answers them with 400.
var (
	ErrMissingNode    = errors.New("missing node name")
	ErrMissingAddress = errors.New("missing node address")
	ErrMissingService = errors.New("missing service name")
	ErrMissingCheckID = errors.New("missing check ID")
	ErrUnknownNode    = errors.New("unknown node")
	ErrUnknownService = errors.New("unknown service")
	ErrBadCheckStatus = errors.New("invalid check status")
)

// ValidateRegistration checks a registration without touching the store, so
// that the HTTP API can refuse bad input before it reaches Raft.
func ValidateRegistration(req *structs.RegisterRequest) error {
	if req.Node == "" {
		return ErrMissingNode
	}
	if req.Address == "" && !req.SkipNodeUpdate {
		return ErrMissingAddress
	}
	if svc := req.Service; svc != nil {
		if svc.Service == "" {
			return ErrMissingService
		}
		if svc.Port < 0 || svc.Port > 65535 {
			return fmt.Errorf("invalid service port %d", svc.Port)
		}
		for tag, a := range svc.TaggedAddresses {
			if a.Port < 0 || a.Port > 65535 {
				return fmt.Errorf("invalid port %d for tagged address %q", a.Port, tag)
			}
		}
	}
	for _, hc := range req.AllChecks() {
		if hc.CheckID == "" && hc.Name == "" {
			return ErrMissingCheckID
		}
		if !structs.ValidCheckStatus(hc.Status) {
			return fmt.Errorf("%w %q", ErrBadCheckStatus, hc.Status)
		}
	}
	return nil
}

// EnsureRegistration applies a catalog registration at Raft index idx: the
// node, then the service, then the checks, all in one transaction.
// SkipNodeUpdate leaves an existing node as it is; a node that does not
// exist yet is created from the request either way, as in Consul, so that
// a service can be registered before (or without) its node.
func (s *Store) EnsureRegistration(idx uint64, req *structs.RegisterRequest) error {
	if err := ValidateRegistration(req); err != nil {
		return err
	}
	tx := s.write(idx)
	defer tx.Abort()

	update := !req.SkipNodeUpdate
	if !update {
		n, err := tx.First(tableNodes, indexID, req.Node)
		if err != nil {
			return fmt.Errorf("state: node lookup: %w", err)
		}
		update = n == nil
	}
	if update {
		node := &structs.Node{
			ID:              req.ID,
			Node:            req.Node,
			Address:         req.Address,
			Datacenter:      req.Datacenter,
			TaggedAddresses: req.TaggedAddresses,
			Meta:            req.NodeMeta,
			Locality:        req.Locality,
		}
		if err := tx.ensureNode(node); err != nil {
			return err
		}
	}
	if req.Service != nil {
		if err := tx.ensureService(req.Node, req.Service); err != nil {
			return err
		}
	}
	for _, hc := range req.AllChecks() {
		c := *hc
		if c.Node == "" {
			c.Node = req.Node
		}
		if err := tx.ensureCheck(&c); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func (tx *writeTxn) ensureNode(n *structs.Node) error {
	raw, err := tx.First(tableNodes, indexID, n.Node)
	if err != nil {
		return fmt.Errorf("state: node lookup: %w", err)
	}
	if raw != nil {
		old := raw.(*structs.Node)
		if sameNode(old, n) {
			return nil
		}
		n.CreateIndex = old.CreateIndex
		if n.ID == "" {
			n.ID = old.ID
		}
	} else {
		n.CreateIndex = tx.idx
	}
	n.ModifyIndex = tx.idx
	if err := tx.Insert(tableNodes, n); err != nil {
		return fmt.Errorf("state: insert node: %w", err)
	}
	tx.touch(tableNodes)
	return nil
}

// sameNode reports whether a re-registration changes nothing, so that an
// agent's periodic sync does not bump indexes and wake blocking queries.
func sameNode(old, n *structs.Node) bool {
	return old.Node == n.Node && old.Address == n.Address &&
		(n.ID == "" || old.ID == n.ID) && old.Datacenter == n.Datacenter &&
		maps.Equal(old.TaggedAddresses, n.TaggedAddresses) && maps.Equal(old.Meta, n.Meta) &&
		old.Locality.Equal(n.Locality)
}

func (tx *writeTxn) ensureService(node string, svc *structs.NodeService) error {
	sn := structs.NewServiceNode(node, svc)
	raw, err := tx.First(tableServices, indexID, node, sn.ServiceID)
	if err != nil {
		return fmt.Errorf("state: service lookup: %w", err)
	}
	if raw != nil {
		old := raw.(*structs.ServiceNode)
		if old.SameAs(sn) {
			return nil
		}
		sn.CreateIndex = old.CreateIndex
	} else {
		sn.CreateIndex = tx.idx
	}
	sn.ModifyIndex = tx.idx
	if err := tx.Insert(tableServices, sn); err != nil {
		return fmt.Errorf("state: insert service: %w", err)
	}
	tx.touch(tableServices)
	return nil
}

func (tx *writeTxn) ensureCheck(hc *structs.HealthCheck) error {
	if hc.CheckID == "" {
		hc.CheckID = hc.Name
	}
	if hc.Status == "" {
		hc.Status = structs.HealthCritical
	}
	if n, err := tx.First(tableNodes, indexID, hc.Node); err != nil || n == nil {
		return fmt.Errorf("%w %q", ErrUnknownNode, hc.Node)
	}
	if hc.ServiceID != "" {
		raw, err := tx.First(tableServices, indexID, hc.Node, hc.ServiceID)
		if err != nil || raw == nil {
			return fmt.Errorf("%w %q on node %q", ErrUnknownService, hc.ServiceID, hc.Node)
		}
		svc := raw.(*structs.ServiceNode)
		hc.ServiceName = svc.ServiceName
		hc.ServiceTags = svc.ServiceTags
	} else {
		hc.ServiceName, hc.ServiceTags = "", nil
	}
	raw, err := tx.First(tableChecks, indexID, hc.Node, hc.CheckID)
	if err != nil {
		return fmt.Errorf("state: check lookup: %w", err)
	}
	if raw != nil {
		old := raw.(*structs.HealthCheck)
		if old.SameAs(hc) {
			return nil
		}
		hc.CreateIndex = old.CreateIndex
	} else {
		hc.CreateIndex = tx.idx
	}
	hc.ModifyIndex = tx.idx
	if err := tx.Insert(tableChecks, hc); err != nil {
		return fmt.Errorf("state: insert check: %w", err)
	}
	tx.touch(tableChecks)
	if hc.Status == structs.HealthCritical {
		return tx.invalidateCheckSessions(hc.Node, hc.CheckID)
	}
	return nil
}

// Deregister removes a node with everything on it, or one service with its
// checks, or one check. Removing what is not there is not an error, as in
// Consul.
func (s *Store) Deregister(idx uint64, req *structs.DeregisterRequest) error {
	if req.Node == "" {
		return ErrMissingNode
	}
	tx := s.write(idx)
	defer tx.Abort()
	var err error
	switch {
	case req.ServiceID != "":
		err = tx.deleteService(req.Node, req.ServiceID)
	case req.CheckID != "":
		err = tx.deleteCheck(req.Node, req.CheckID)
	default:
		err = tx.deleteNode(req.Node)
	}
	if err != nil {
		return err
	}
	return tx.Commit()
}

func (tx *writeTxn) deleteAll(table, index string, args ...any) (int, error) {
	n, err := tx.DeleteAll(table, index, args...)
	if err != nil {
		return 0, fmt.Errorf("state: delete from %s: %w", table, err)
	}
	if n > 0 {
		tx.touch(table)
	}
	return n, nil
}

func (tx *writeTxn) deleteNode(node string) error {
	if err := tx.invalidateNodeSessions(node); err != nil {
		return err
	}
	if err := tx.deleteChecks(indexNode, node); err != nil {
		return err
	}
	if _, err := tx.deleteAll(tableServices, indexNode, node); err != nil {
		return err
	}
	_, err := tx.deleteAll(tableNodes, indexID, node)
	return err
}

func (tx *writeTxn) deleteService(node, serviceID string) error {
	if err := tx.deleteChecks(indexNodeService, node, serviceID); err != nil {
		return err
	}
	_, err := tx.deleteAll(tableServices, indexID, node, serviceID)
	return err
}

func (tx *writeTxn) deleteCheck(node, checkID string) error {
	return tx.deleteChecks(indexID, node, checkID)
}

// deleteChecks removes checks and invalidates the sessions bound to them,
// as Consul does: a session cannot outlive what vouches for it.
func (tx *writeTxn) deleteChecks(index string, args ...any) error {
	checks, err := list[*structs.HealthCheck](tx.Txn, nil, tableChecks, index, args...)
	if err != nil {
		return err
	}
	for _, hc := range checks {
		if err := tx.invalidateCheckSessions(hc.Node, hc.CheckID); err != nil {
			return err
		}
		if err := tx.Delete(tableChecks, hc); err != nil {
			return fmt.Errorf("state: delete check: %w", err)
		}
		tx.touch(tableChecks)
	}
	return nil
}
