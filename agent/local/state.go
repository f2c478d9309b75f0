// Package local is the agent's own view of the services and checks it runs:
// what it is responsible for, whether each entry is in step with the
// catalog, and the anti-entropy sync that puts it there. The catalog is
// the cluster's truth about everyone; this is the agent's truth about
// itself, as in Consul's agent/local.
package local

import (
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/coredns-coord/coredns-coord/structs"
)

// Source says where a service or check came from: definition files are
// replaced wholesale on reload, API registrations are kept (and persisted).
type Source int

const (
	SourceAPI Source = iota
	SourceFile
	SourceInternal // maintenance checks
)

// syncState is what the sync tracks for every service and check: whether
// the catalog has it as it is, whether it is to be removed, and a
// generation that tells a write's result from a change made meanwhile.
type syncState struct {
	inSync  bool
	deleted bool
	gen     uint64
}

func (e *syncState) sync() *syncState { return e }

// entry is a ServiceState or a CheckState.
type entry interface{ sync() *syncState }

// ServiceState is one local service.
type ServiceState struct {
	Service *structs.NodeService
	Source  Source
	syncState
}

// CheckState is one local check.
type CheckState struct {
	Check *structs.HealthCheck
	// Definition is how the check runs; nil for checks nothing runs
	// (maintenance).
	Definition *structs.CheckType
	Source     Source
	// CriticalSince is when the check last turned critical (zero when it
	// is not critical); deregister_critical_service_after counts from it.
	CriticalSince time.Time

	// deferred is set while an output-only change waits for
	// check_update_interval before it is written.
	deferred *time.Timer
	syncState
}

// State holds the agent's services and checks. It is safe for concurrent
// use; the sync writes happen outside its lock.
type State struct {
	mu     sync.Mutex
	syncMu sync.Mutex
	node   string
	// nodeInfo is what the sync's writes say about the node itself (see
	// SetNodeInfo); nil in tests that do not set it.
	nodeInfo *structs.RegisterRequest
	services map[string]*ServiceState
	checks   map[string]*CheckState
	gen      uint64

	// checkUpdateInterval defers the write of a check whose output changed
	// but whose status did not (Consul's check_update_interval).
	checkUpdateInterval time.Duration

	// trigger wakes the sync loop; it holds at most one pending signal.
	trigger chan struct{}
	// watch is closed at the next change (see WatchCh); nil until asked.
	watch chan struct{}
	// onTransition, if set, hears every status change (for metrics).
	onTransition func(hc *structs.HealthCheck, from string)
}

// New returns an empty state for node.
func New(node string) *State {
	return &State{
		node:     node,
		services: map[string]*ServiceState{},
		checks:   map[string]*CheckState{},
		trigger:  make(chan struct{}, 1),
	}
}

// SetCheckUpdateInterval sets how long an output-only change may wait.
func (l *State) SetCheckUpdateInterval(d time.Duration) {
	l.mu.Lock()
	l.checkUpdateInterval = d
	l.mu.Unlock()
}

// OnTransition registers fn to hear status changes; call before use.
func (l *State) OnTransition(fn func(hc *structs.HealthCheck, from string)) {
	l.onTransition = fn
}

// Trigger is the channel the sync loop waits on.
func (l *State) Trigger() <-chan struct{} { return l.trigger }

// Poke wakes the sync loop, to retry a failed write.
func (l *State) Poke() { l.changed() }

func (l *State) changed() {
	select {
	case l.trigger <- struct{}{}:
	default:
	}
}

func (l *State) nextGen() uint64 {
	l.gen++
	return l.gen
}

// AddService adds or replaces a service. An identical service already in
// step with the catalog stays in step, so re-adding it costs no write.
func (l *State) AddService(svc *structs.NodeService, src Source) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if old, ok := l.services[svc.ID]; ok && !old.deleted && SameService(old.Service, svc) {
		old.Source = src
		return
	}
	l.services[svc.ID] = &ServiceState{Service: svc, Source: src, syncState: syncState{gen: l.nextGen()}}
	l.notifyLocked()
	l.changed()
}

// RemoveService marks a service and its checks for removal and returns the
// IDs of those checks, so that the caller can stop them. It reports false
// if there is no such service.
func (l *State) RemoveService(id string) ([]string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, ok := l.services[id]
	if !ok || s.deleted {
		return nil, false
	}
	s.deleted, s.inSync, s.gen = true, false, l.nextGen()
	var removed []string
	for cid, c := range l.checks {
		if !c.deleted && c.Check.ServiceID == id {
			l.deleteCheckLocked(c)
			removed = append(removed, cid)
		}
	}
	l.notifyLocked()
	l.changed()
	return removed, true
}

// Service returns a copy of a service's state, or nil.
func (l *State) Service(id string) *ServiceState {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, ok := l.services[id]
	if !ok || s.deleted {
		return nil
	}
	cp := *s
	return &cp
}

// Services returns the live services by ID.
func (l *State) Services() map[string]*structs.NodeService {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]*structs.NodeService, len(l.services))
	for id, s := range l.services {
		if !s.deleted {
			out[id] = s.Service
		}
	}
	return out
}

// ServicesFrom returns the IDs of the live services from src.
func (l *State) ServicesFrom(src Source) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var ids []string
	for id, s := range l.services {
		if !s.deleted && s.Source == src {
			ids = append(ids, id)
		}
	}
	return ids
}

// AddCheck adds or replaces a check. A replacement with the same
// definition keeps the current status and output, so that reloading an
// unchanged definition does not reset what the check has learned.
func (l *State) AddCheck(hc *structs.HealthCheck, def *structs.CheckType, src Source) {
	l.mu.Lock()
	defer l.mu.Unlock()
	hc.Node = l.node
	if s, ok := l.services[hc.ServiceID]; ok && hc.ServiceID != "" {
		hc.ServiceName, hc.ServiceTags = s.Service.Service, s.Service.Tags
	}
	cs := &CheckState{Check: hc, Definition: def, Source: src, syncState: syncState{gen: l.nextGen()}}
	if hc.Status == structs.HealthCritical {
		cs.CriticalSince = time.Now()
	}
	if old, ok := l.checks[hc.CheckID]; ok && !old.deleted {
		stopTimer(old.deferred)
		if old.Check.Status == hc.Status {
			cs.CriticalSince = old.CriticalSince
		}
	}
	l.checks[hc.CheckID] = cs
	l.notifyLocked()
	l.changed()
}

// RemoveCheck marks a check for removal; false if there is none.
func (l *State) RemoveCheck(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.checks[id]
	if !ok || c.deleted {
		return false
	}
	l.deleteCheckLocked(c)
	l.notifyLocked()
	l.changed()
	return true
}

func (l *State) deleteCheckLocked(c *CheckState) {
	stopTimer(c.deferred)
	c.deferred = nil
	c.deleted, c.inSync, c.gen = true, false, l.nextGen()
}

// Check returns a copy of a check's state, or nil.
func (l *State) Check(id string) *CheckState {
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.checks[id]
	if !ok || c.deleted {
		return nil
	}
	cp := *c
	hc := *c.Check
	cp.Check = &hc
	return &cp
}

// Checks returns copies of the live checks by ID.
func (l *State) Checks() map[string]*structs.HealthCheck {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]*structs.HealthCheck, len(l.checks))
	for id, c := range l.checks {
		if !c.deleted {
			hc := *c.Check
			out[id] = &hc
		}
	}
	return out
}

// ChecksFrom returns the IDs of the live standalone checks (no service)
// from src.
func (l *State) ChecksFrom(src Source) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var ids []string
	for id, c := range l.checks {
		if !c.deleted && c.Source == src && c.Check.ServiceID == "" {
			ids = append(ids, id)
		}
	}
	return ids
}

// ServiceCheckIDs returns the IDs of a service's live checks.
func (l *State) ServiceCheckIDs(serviceID string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var ids []string
	for id, c := range l.checks {
		if !c.deleted && c.Check.ServiceID == serviceID {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// UpdateCheck records a check's result and reports whether the status
// changed. A status change is written at once; an output-only change waits
// for the check update interval; no change writes nothing.
func (l *State) UpdateCheck(id, status, output string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.checks[id]
	if !ok || c.deleted {
		return false
	}
	hc := c.Check
	if hc.Status == status && hc.Output == output {
		return false
	}
	l.notifyLocked()
	if hc.Status == status {
		// Copy on write: readers hold the old pointer.
		next := *hc
		next.Output = output
		c.Check = &next
		if l.checkUpdateInterval > 0 && c.inSync {
			if c.deferred == nil {
				c.deferred = time.AfterFunc(l.checkUpdateInterval, func() { l.flushDeferred(id) })
			}
			return false
		}
		c.inSync, c.gen = false, l.nextGen()
		l.changed()
		return false
	}
	from := hc.Status
	next := *hc
	next.Status, next.Output = status, output
	c.Check = &next
	stopTimer(c.deferred)
	c.deferred = nil
	c.inSync, c.gen = false, l.nextGen()
	if status == structs.HealthCritical {
		c.CriticalSince = time.Now()
	} else {
		c.CriticalSince = time.Time{}
	}
	if l.onTransition != nil {
		l.onTransition(&next, from)
	}
	l.changed()
	return true
}

func (l *State) flushDeferred(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.checks[id]
	if !ok || c.deleted || c.deferred == nil {
		return
	}
	c.deferred = nil
	c.inSync, c.gen = false, l.nextGen()
	l.changed()
}

// StatusCounts counts the live checks by kind and status, for metrics.
func (l *State) StatusCounts() map[[2]string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[[2]string]int{}
	for _, c := range l.checks {
		if !c.deleted {
			kind := c.Check.Type
			out[[2]string{kind, c.Check.Status}]++
		}
	}
	return out
}

func stopTimer(t *time.Timer) {
	if t != nil {
		t.Stop()
	}
}

// SameService reports whether two registrations of an instance are equal
// in everything the catalog stores.
func SameService(a, b *structs.NodeService) bool {
	wa, wb := weights(a), weights(b)
	return a.ID == b.ID && a.Service == b.Service && a.Kind == b.Kind &&
		slices.Equal(a.Tags, b.Tags) && a.Address == b.Address &&
		maps.Equal(a.Meta, b.Meta) && a.Port == b.Port && wa == wb &&
		a.EnableTagOverride == b.EnableTagOverride &&
		maps.Equal(a.TaggedAddresses, b.TaggedAddresses) && a.SocketPath == b.SocketPath &&
		a.Locality.Equal(b.Locality) && a.Proxy.Equal(b.Proxy) && a.Connect.Equal(b.Connect)
}

func weights(s *structs.NodeService) structs.Weights {
	if s.Weights == nil {
		return structs.Weights{Passing: 1, Warning: 1}
	}
	return *s.Weights
}

// sameCheck reports whether the catalog's copy of a check matches ours.
func sameCheck(local, cat *structs.HealthCheck) bool {
	return local.Name == cat.Name && local.Status == cat.Status &&
		local.Notes == cat.Notes && local.Output == cat.Output &&
		local.ServiceID == cat.ServiceID && local.Type == cat.Type
}
