package state

import (
	"fmt"

	"github.com/hashicorp/go-memdb"

	"github.com/coredns-coord/coredns-coord/structs"
)

// Nodes returns every node, sorted by name.
func (s *Store) Nodes(ws memdb.WatchSet) (uint64, []*structs.Node, error) {
	tx := s.txn()
	defer tx.Abort()
	out, err := list[*structs.Node](tx, ws, tableNodes, indexID)
	if err != nil {
		return 0, nil, err
	}
	return maxIndex(tx, tableNodes), out, nil
}

// GetNode returns one node, or nil.
func (s *Store) GetNode(ws memdb.WatchSet, name string) (uint64, *structs.Node, error) {
	tx := s.txn()
	defer tx.Abort()
	n, err := getNode(tx, ws, name)
	return maxIndex(tx, tableNodes), n, err
}

// Node returns one node, or nil, without the table's index (the DNS path
// needs neither it nor a watch).
func (s *Store) Node(name string) (*structs.Node, error) {
	tx := s.txn()
	defer tx.Abort()
	return getNode(tx, nil, name)
}

func getNode(tx *memdb.Txn, ws memdb.WatchSet, name string) (*structs.Node, error) {
	ch, raw, err := tx.FirstWatch(tableNodes, indexID, name)
	if err != nil {
		return nil, fmt.Errorf("state: node lookup: %w", err)
	}
	ws.Add(ch)
	if raw == nil {
		return nil, nil
	}
	return raw.(*structs.Node), nil
}

// AllServiceNodes returns every service instance.
func (s *Store) AllServiceNodes(ws memdb.WatchSet) (uint64, []*structs.ServiceNode, error) {
	tx := s.txn()
	defer tx.Abort()
	out, err := list[*structs.ServiceNode](tx, ws, tableServices, indexID)
	if err != nil {
		return 0, nil, err
	}
	return maxIndex(tx, tableServices), out, nil
}

// AllCatalogServices returns every service instance joined with its node,
// read in one transaction.
func (s *Store) AllCatalogServices(ws memdb.WatchSet) (uint64, []*structs.CatalogService, error) {
	tx := s.txn()
	defer tx.Abort()
	it, err := tx.Get(tableServices, indexID)
	if err != nil {
		return 0, nil, fmt.Errorf("state: list services: %w", err)
	}
	ws.Add(it.WatchCh())
	nodes, err := tx.Get(tableNodes, indexID)
	if err != nil {
		return 0, nil, fmt.Errorf("state: list nodes: %w", err)
	}
	ws.Add(nodes.WatchCh())
	out := []*structs.CatalogService{}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		sn := raw.(*structs.ServiceNode)
		n, err := getNode(tx, nil, sn.Node)
		if err != nil {
			return 0, nil, err
		}
		if n != nil {
			out = append(out, structs.NewCatalogService(n, sn))
		}
	}
	return maxIndex(tx, tableNodes, tableServices), out, nil
}

// ServiceNodes returns the instances of a service carrying all tags, joined
// with their nodes.
func (s *Store) ServiceNodes(ws memdb.WatchSet, service string, tags []string) (uint64, []*structs.CatalogService, error) {
	tx := s.txn()
	defer tx.Abort()
	instances, err := serviceInstances(tx, ws, service, tags)
	if err != nil {
		return 0, nil, err
	}
	out := make([]*structs.CatalogService, 0, len(instances))
	rows := ws
	for _, sn := range instances {
		rows = limitWatches(tx, ws, rows)
		n, err := getNode(tx, rows, sn.Node)
		if err != nil {
			return 0, nil, err
		}
		if n == nil {
			continue
		}
		out = append(out, structs.NewCatalogService(n, sn))
	}
	return maxIndex(tx, tableNodes, tableServices), out, nil
}

func serviceInstances(tx *memdb.Txn, ws memdb.WatchSet, service string, tags []string) ([]*structs.ServiceNode, error) {
	it, err := tx.Get(tableServices, indexService, service)
	if err != nil {
		return nil, fmt.Errorf("state: service lookup: %w", err)
	}
	ws.Add(it.WatchCh())
	var out []*structs.ServiceNode
next:
	for raw := it.Next(); raw != nil; raw = it.Next() {
		sn := raw.(*structs.ServiceNode)
		for _, tag := range tags {
			if !sn.HasTag(tag) {
				continue next
			}
		}
		out = append(out, sn)
	}
	return out, nil
}

// NodeServices returns a node and its services, or nil if the node is unknown.
func (s *Store) NodeServices(ws memdb.WatchSet, node string) (uint64, *structs.NodeServices, error) {
	idx, list, err := s.NodeServiceList(ws, node)
	if err != nil || list == nil {
		return idx, nil, err
	}
	out := &structs.NodeServices{Node: list.Node, Services: make(map[string]*structs.NodeService, len(list.Services))}
	for _, svc := range list.Services {
		out.Services[svc.ID] = svc
	}
	return idx, out, nil
}

// NodeServiceList returns a node and its services sorted by ID (the
// services index orders a node's rows by their lowercased ID), or nil if
// the node is unknown. The services are fresh values, the caller's to
// change.
func (s *Store) NodeServiceList(ws memdb.WatchSet, node string) (uint64, *structs.NodeServiceList, error) {
	tx := s.txn()
	defer tx.Abort()
	idx := maxIndex(tx, tableNodes, tableServices)
	n, err := getNode(tx, ws, node)
	if err != nil || n == nil {
		return idx, nil, err
	}
	services, err := list[*structs.ServiceNode](tx, ws, tableServices, indexNode, node)
	if err != nil {
		return 0, nil, err
	}
	out := &structs.NodeServiceList{Node: n, Services: make([]*structs.NodeService, 0, len(services))}
	for _, sn := range services {
		out.Services = append(out.Services, sn.ToNodeService())
	}
	return idx, out, nil
}

func (s *Store) checksBy(ws memdb.WatchSet, index string, args ...any) (uint64, structs.HealthChecks, error) {
	tx := s.txn()
	defer tx.Abort()
	if index == indexStatus && args[0] == structs.HealthAny {
		index, args = indexID, nil
	}
	out, err := list[*structs.HealthCheck](tx, ws, tableChecks, index, args...)
	if err != nil {
		return 0, nil, err
	}
	return maxIndex(tx, tableChecks), out, nil
}

// NodeChecks returns every check on a node.
func (s *Store) NodeChecks(ws memdb.WatchSet, node string) (uint64, structs.HealthChecks, error) {
	return s.checksBy(ws, indexNode, node)
}

// ServiceChecks returns the checks of every instance of a service.
func (s *Store) ServiceChecks(ws memdb.WatchSet, service string) (uint64, structs.HealthChecks, error) {
	return s.checksBy(ws, indexService, service)
}

// ChecksInState returns the checks with a status, or all for "any".
func (s *Store) ChecksInState(ws memdb.WatchSet, status string) (uint64, structs.HealthChecks, error) {
	return s.checksBy(ws, indexStatus, status)
}

// CheckServiceNodes returns the instances of a service carrying all tags,
// each with its node and with the node's and the instance's checks.
func (s *Store) CheckServiceNodes(ws memdb.WatchSet, service string, tags []string) (uint64, []*structs.CheckServiceNode, error) {
	tx := s.txn()
	defer tx.Abort()
	instances, err := serviceInstances(tx, ws, service, tags)
	if err != nil {
		return 0, nil, err
	}
	nodeChecks := map[string]structs.HealthChecks{}
	out := make([]*structs.CheckServiceNode, 0, len(instances))
	rows := ws
	for _, sn := range instances {
		rows = limitWatches(tx, ws, rows)
		n, err := getNode(tx, rows, sn.Node)
		if err != nil {
			return 0, nil, err
		}
		if n == nil {
			continue
		}
		nc, ok := nodeChecks[sn.Node]
		if !ok {
			// Node-level checks have no ServiceID, so they are absent from
			// the node_service index: take the node's checks and filter.
			all, err := list[*structs.HealthCheck](tx, rows, tableChecks, indexNode, sn.Node)
			if err != nil {
				return 0, nil, err
			}
			nc = nodeLevel(all)
			nodeChecks[sn.Node] = nc
		}
		svcChecks, err := list[*structs.HealthCheck](tx, rows, tableChecks, indexNodeService, sn.Node, sn.ServiceID)
		if err != nil {
			return 0, nil, err
		}
		checks := append(append(structs.HealthChecks{}, nc...), svcChecks...)
		out = append(out, &structs.CheckServiceNode{Node: n, Service: sn, Checks: checks})
	}
	return maxIndex(tx, catalogTables...), out, nil
}

// nodeLevel keeps the checks that belong to the node rather than a service.
func nodeLevel(checks structs.HealthChecks) structs.HealthChecks {
	out := checks[:0]
	for _, c := range checks {
		if c.ServiceID == "" {
			out = append(out, c)
		}
	}
	return out
}

// watchLimit bounds the channels one query adds to a watch set. Past it the
// query watches the nodes and checks tables as a whole, as Consul does: a
// blocking query on a service with thousands of instances then wakes on
// unrelated changes too, but costs a few channels instead of thousands.
const watchLimit = 2048

// limitWatches returns the watch set per-row lookups should add to: ws
// until it holds watchLimit channels, then nil (adding nothing), once the
// tables' own channels are in ws.
func limitWatches(tx *memdb.Txn, ws, rows memdb.WatchSet) memdb.WatchSet {
	if rows == nil || len(ws) < watchLimit {
		return rows
	}
	for _, table := range []string{tableNodes, tableChecks} {
		if it, err := tx.Get(table, indexID); err == nil {
			ws.Add(it.WatchCh())
		}
	}
	return nil
}
