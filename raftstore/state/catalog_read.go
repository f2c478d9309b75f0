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
	it, err := tx.Get(tableNodes, indexID)
	if err != nil {
		return 0, nil, fmt.Errorf("state: list nodes: %w", err)
	}
	ws.Add(it.WatchCh())
	out := []*structs.Node{}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*structs.Node))
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
	it, err := tx.Get(tableServices, indexID)
	if err != nil {
		return 0, nil, fmt.Errorf("state: list services: %w", err)
	}
	ws.Add(it.WatchCh())
	out := []*structs.ServiceNode{}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*structs.ServiceNode))
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
	tx := s.txn()
	defer tx.Abort()
	idx := maxIndex(tx, tableNodes, tableServices)
	n, err := getNode(tx, ws, node)
	if err != nil || n == nil {
		return idx, nil, err
	}
	it, err := tx.Get(tableServices, indexNode, node)
	if err != nil {
		return 0, nil, fmt.Errorf("state: node services: %w", err)
	}
	ws.Add(it.WatchCh())
	out := &structs.NodeServices{Node: n, Services: map[string]*structs.NodeService{}}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		sn := raw.(*structs.ServiceNode)
		out.Services[sn.ServiceID] = sn.ToNodeService()
	}
	return idx, out, nil
}

func collectChecks(ws memdb.WatchSet, it memdb.ResultIterator) structs.HealthChecks {
	ws.Add(it.WatchCh())
	out := structs.HealthChecks{}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*structs.HealthCheck))
	}
	return out
}

func (s *Store) checksBy(ws memdb.WatchSet, index string, args ...any) (uint64, structs.HealthChecks, error) {
	tx := s.txn()
	defer tx.Abort()
	var it memdb.ResultIterator
	var err error
	if index == indexStatus && args[0] == structs.HealthAny {
		it, err = tx.Get(tableChecks, indexID)
	} else {
		it, err = tx.Get(tableChecks, index, args...)
	}
	if err != nil {
		return 0, nil, fmt.Errorf("state: checks by %s: %w", index, err)
	}
	return maxIndex(tx, tableChecks), collectChecks(ws, it), nil
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
			it, err := tx.Get(tableChecks, indexNode, sn.Node)
			if err != nil {
				return 0, nil, fmt.Errorf("state: node checks: %w", err)
			}
			nc = nodeLevel(collectChecks(rows, it))
			nodeChecks[sn.Node] = nc
		}
		it, err := tx.Get(tableChecks, indexNodeService, sn.Node, sn.ServiceID)
		if err != nil {
			return 0, nil, fmt.Errorf("state: service checks: %w", err)
		}
		checks := append(append(structs.HealthChecks{}, nc...), collectChecks(rows, it)...)
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
