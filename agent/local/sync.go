package local

import (
	"errors"
	"fmt"

	"github.com/coredns-coord/coredns-coord/state"
	"github.com/coredns-coord/coredns-coord/structs"
)

// Catalog is where the sync writes: the agent's Raft-backed catalog.
type Catalog interface {
	Register(*structs.RegisterRequest) error
	Deregister(*structs.DeregisterRequest) error
}

// maxChecksPerWrite bounds one batched check update, so that a mass status
// change (a shared dependency failing) becomes a few Raft entries of
// bounded size rather than thousands of entries or one huge one.
const maxChecksPerWrite = 512

// owned reports whether the agent's sync manages a catalog entry of its
// node: the server's own consul service and the gossip-owned serfHealth
// check belong to others, as in Consul.
func ownedService(id string) bool { return id != structs.ConsulServiceID }
func ownedCheck(id string) bool   { return id != structs.SerfCheckID }

// SyncFull compares the state with what the catalog holds for the node,
// marks every difference, and writes them. Entries the catalog holds for
// this node but the agent does not know are removed (anti-entropy).
func (l *State) SyncFull(cat Catalog, st *state.Store) error {
	_, ns, err := st.NodeServices(nil, l.node)
	if err != nil {
		return fmt.Errorf("local: read catalog services: %w", err)
	}
	_, checks, err := st.NodeChecks(nil, l.node)
	if err != nil {
		return fmt.Errorf("local: read catalog checks: %w", err)
	}
	l.mu.Lock()
	var catServices map[string]*structs.NodeService
	if ns != nil {
		catServices = ns.Services
	}
	for id, svc := range catServices {
		if s, ok := l.services[id]; (!ok || s.deleted) && ownedService(id) {
			l.services[id] = &ServiceState{Service: svc, syncState: syncState{deleted: true, gen: l.nextGen()}}
		}
	}
	for id, s := range l.services {
		if s.deleted {
			continue
		}
		cs, ok := catServices[id]
		s.inSync = ok && SameService(s.Service, cs)
	}
	catChecks := make(map[string]*structs.HealthCheck, len(checks))
	for _, hc := range checks {
		catChecks[hc.CheckID] = hc
		if c, ok := l.checks[hc.CheckID]; (!ok || c.deleted) && ownedCheck(hc.CheckID) {
			l.checks[hc.CheckID] = &CheckState{Check: hc, syncState: syncState{deleted: true, gen: l.nextGen()}}
		}
	}
	for id, c := range l.checks {
		if c.deleted {
			continue
		}
		cc, ok := catChecks[id]
		switch {
		case !ok:
			c.inSync = false
		case c.deferred != nil:
			// An output-only change is waiting; the status decides.
			c.inSync = cc.Status == c.Check.Status
		default:
			c.inSync = sameCheck(c.Check, cc)
		}
	}
	l.mu.Unlock()
	return l.SyncChanges(cat)
}

// op is one planned catalog write and the generations it settles.
type op struct {
	register   *structs.RegisterRequest
	deregister *structs.DeregisterRequest
	services   map[string]uint64
	checks     map[string]uint64
}

// SyncChanges writes every entry that is out of step. Writes happen outside
// the lock; an entry changed while its write was in flight stays out of
// step for the next pass.
func (l *State) SyncChanges(cat Catalog) error {
	// One pass at a time, so that writes land in the order the changes
	// were made (a remove and a re-add must not swap).
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	ops := l.plan()
	var errs []error
	for _, o := range ops {
		var err error
		if o.register != nil {
			err = cat.Register(o.register)
		} else {
			err = cat.Deregister(o.deregister)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		l.settle(o)
	}
	if len(errs) > 0 {
		// Try again on the next trigger or full sync.
		return fmt.Errorf("local: sync: %w", errors.Join(errs...))
	}
	return nil
}

// Pending reports whether anything is out of step.
func (l *State) Pending() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return pending(l.services) || pending(l.checks)
}

func pending[T entry](m map[string]T) bool {
	for _, e := range m {
		if !e.sync().inSync {
			return true
		}
	}
	return false
}

// SetNodeInfo sets the node fields (ID, address, tagged addresses, meta,
// locality, datacenter) every sync write carries. The writes leave an
// existing node alone (SkipNodeUpdate), but the catalog creates a missing
// node from them, so a node that was removed comes back whole rather than
// as a bare name.
func (l *State) SetNodeInfo(req *structs.RegisterRequest) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.nodeInfo = &structs.RegisterRequest{
		Datacenter: req.Datacenter, ID: req.ID, Address: req.Address,
		TaggedAddresses: req.TaggedAddresses, NodeMeta: req.NodeMeta, Locality: req.Locality,
	}
}

// registration is a sync write for the node: its node fields, if known,
// with SkipNodeUpdate.
func (l *State) registration() *structs.RegisterRequest {
	req := &structs.RegisterRequest{}
	if l.nodeInfo != nil {
		*req = *l.nodeInfo
	}
	req.Node, req.SkipNodeUpdate = l.node, true
	return req
}

func (l *State) plan() []op {
	l.mu.Lock()
	defer l.mu.Unlock()
	var ops []op
	covered := map[string]bool{} // checks a service write already carries
	for id, s := range l.services {
		switch {
		case s.deleted:
			o := op{
				deregister: &structs.DeregisterRequest{Node: l.node, ServiceID: id},
				services:   map[string]uint64{id: s.gen},
				checks:     map[string]uint64{},
			}
			// The catalog drops the service's checks with it.
			for cid, c := range l.checks {
				if c.deleted && c.Check.ServiceID == id {
					o.checks[cid] = c.gen
					covered[cid] = true
				}
			}
			ops = append(ops, o)
		case !s.inSync:
			o := op{
				register: l.registration(),
				services: map[string]uint64{id: s.gen},
				checks:   map[string]uint64{},
			}
			o.register.Service = s.Service
			for cid, c := range l.checks {
				if !c.deleted && c.Check.ServiceID == id {
					o.register.Checks = append(o.register.Checks, c.Check)
					o.checks[cid] = c.gen
					covered[cid] = true
				}
			}
			ops = append(ops, o)
		}
	}
	var batches []op
	for cid, c := range l.checks {
		if c.inSync || covered[cid] {
			continue
		}
		if c.deleted {
			ops = append(ops, op{
				deregister: &structs.DeregisterRequest{Node: l.node, CheckID: cid},
				checks:     map[string]uint64{cid: c.gen},
			})
			continue
		}
		if s, ok := l.services[c.Check.ServiceID]; c.Check.ServiceID != "" && (!ok || s.deleted) {
			continue // its service is gone; the check goes with it
		}
		if len(batches) == 0 || len(batches[len(batches)-1].register.Checks) == maxChecksPerWrite {
			batches = append(batches, op{
				register: l.registration(),
				checks:   map[string]uint64{},
			})
		}
		b := &batches[len(batches)-1]
		b.register.Checks = append(b.register.Checks, c.Check)
		b.checks[cid] = c.gen
	}
	return append(ops, batches...)
}

// settle marks the entries a successful write covered as in step, unless
// they changed meanwhile; deleted entries are forgotten.
func (l *State) settle(o op) {
	l.mu.Lock()
	defer l.mu.Unlock()
	settleEntries(l.services, o.services)
	settleEntries(l.checks, o.checks)
}

func settleEntries[T entry](m map[string]T, gens map[string]uint64) {
	for id, gen := range gens {
		e, ok := m[id]
		if !ok || e.sync().gen != gen {
			continue
		}
		if e.sync().deleted {
			delete(m, id)
		} else {
			e.sync().inSync = true
		}
	}
}
