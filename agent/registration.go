// Registration: the services and checks this agent runs, added and
// removed through the API or definition files, their runners, and the
// reapers of services critical for too long. (Check runners are package
// checks; the catalog sync is agent/local.)

package agent

import (
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/coredns-coord/coredns-coord/agent/local"
	"github.com/coredns-coord/coredns-coord/checks"
	"github.com/coredns-coord/coredns-coord/structs"
)

// Errors the HTTP API maps to status codes.
var (
	// ErrUnknownService and ErrUnknownCheck are 404s.
	ErrUnknownService = errors.New("Unknown service ID")
	ErrUnknownCheck   = errors.New("Unknown check ID")
	// ErrInvalidDefinition wraps everything wrong with a service or check
	// definition: a 400.
	ErrInvalidDefinition = errors.New("invalid definition")
)

// The messages are Consul's, which clients and scripts match on.
func unknownService(id string) error {
	return fmt.Errorf("%w %q. Ensure that the service ID is passed, not the service name.", ErrUnknownService, id)
}

func unknownCheck(id string) error {
	return fmt.Errorf("%w %q. Ensure that the check ID is passed, not the check name.", ErrUnknownCheck, id)
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidDefinition, fmt.Sprintf(format, args...))
}

// HealthConfig is what the coordhealth Corefile block sets. Unlike Config
// it may change on a reload.
type HealthConfig struct {
	// ConfigDirs hold service and check definition files.
	ConfigDirs []string
	// EnableScripts allows script checks from anywhere, the HTTP API
	// included; EnableLocalScripts only from definition files. Script
	// checks run commands, so both are off by default.
	EnableScripts      bool
	EnableLocalScripts bool
	// CheckUpdateInterval defers the catalog write of a check whose output
	// changed but whose status did not (Consul's check_update_interval).
	CheckUpdateInterval time.Duration
}

// DefaultCheckUpdateInterval is Consul's check_update_interval.
const DefaultCheckUpdateInterval = 5 * time.Minute

// serviceCheck is one check a service definition carries, ready to add.
type serviceCheck struct {
	hc  *structs.HealthCheck
	def *structs.CheckType
}

// AddService registers a service and its checks with this agent. Checks
// whose definition did not change keep running with the status they have;
// with replaceChecks, the service's checks the definition no longer names
// are removed. Nothing is applied unless everything is valid.
func (a *Agent) AddService(def *structs.ServiceDefinition, src local.Source, replaceChecks bool) error {
	svc, list, err := a.prepareService(def, src)
	if err != nil {
		return err
	}
	return a.install(svc, list, src, replaceChecks)
}

// install applies a prepared service (nil for a standalone check) and its
// checks, building every runner first so that a bad check leaves no trace.
// An API change is in the catalog when it returns.
func (a *Agent) install(svc *structs.NodeService, list []serviceCheck, src local.Source, replaceChecks bool) error {
	if src == local.SourceAPI {
		defer a.syncNow()
	}
	a.localMu.Lock()
	defer a.localMu.Unlock()
	runners, err := a.newRunners(list, src)
	if err != nil {
		return err
	}
	if svc != nil {
		a.local.AddService(svc, src)
	}
	keep := map[string]bool{}
	for _, sc := range list {
		keep[sc.hc.CheckID] = true
		a.addCheckLocked(sc, runners[sc.hc.CheckID], src)
	}
	if svc == nil {
		return nil
	}
	if replaceChecks {
		for _, id := range a.local.ServiceCheckIDs(svc.ID) {
			if !keep[id] && !isMaintenanceCheck(id) {
				a.removeCheckLocked(id)
			}
		}
	}
	a.persistService(svc, src)
	return nil
}

// prepareService checks a service definition and turns it into the
// instance and its checks, with Consul's default check IDs and names.
func (a *Agent) prepareService(def *structs.ServiceDefinition, src local.Source) (*structs.NodeService, []serviceCheck, error) {
	if def.Name == "" {
		return nil, nil, invalid("missing service name")
	}
	if def.Port < 0 || def.Port > 65535 {
		return nil, nil, invalid("invalid service port %d", def.Port)
	}
	if w := def.Weights; w != nil && (w.Passing < 1 || w.Warning < 0) {
		return nil, nil, invalid("passing weight must be at least 1 and warning weight not negative")
	}
	svc := def.NodeService()
	if isReservedService(svc.ID) {
		return nil, nil, invalid("service ID %q is reserved", svc.ID)
	}
	types := def.CheckTypes()
	list := make([]serviceCheck, 0, len(types))
	seen := map[string]bool{}
	for i, ct := range types {
		ct := *ct
		id := ct.CheckID
		if id == "" {
			id = "service:" + svc.ID
			if len(types) > 1 {
				id = fmt.Sprintf("service:%s:%d", svc.ID, i+1)
			}
		}
		if seen[id] {
			return nil, nil, invalid("check ID %q appears twice", id)
		}
		seen[id] = true
		name := ct.Name
		if name == "" {
			name = fmt.Sprintf("Service '%s' check", svc.Service)
		}
		sc, err := a.prepareCheck(id, name, svc.ID, &ct, src)
		if err != nil {
			return nil, nil, err
		}
		list = append(list, sc)
	}
	return svc, list, nil
}

// prepareCheck validates and normalises one check definition (logging what
// Normalize clamps) and builds its catalog entry with the initial status.
func (a *Agent) prepareCheck(id, name, serviceID string, ct *structs.CheckType, src local.Source) (serviceCheck, error) {
	if err := ct.Validate(); err != nil {
		return serviceCheck{}, fmt.Errorf("%w: check %q: %v", ErrInvalidDefinition, id, err)
	}
	// Checks that run commands (script, Docker) are gated here, before an
	// unchanged definition is kept without being rebuilt.
	if refused := checks.RefuseCommands(ct.Kind()); refused != nil && !a.scriptsAllowed(src) {
		return serviceCheck{}, fmt.Errorf("%w: check %q: %v", ErrInvalidDefinition, id, refused)
	}
	for _, w := range ct.Normalize() {
		agentLog.Warningf("check %q: %s", id, w)
	}
	ct.CheckID, ct.Name = id, name
	status := ct.Status
	if status == "" {
		status = structs.HealthCritical
	}
	return serviceCheck{
		hc: &structs.HealthCheck{
			CheckID:   id,
			Name:      name,
			Status:    status,
			Notes:     ct.Notes,
			ServiceID: serviceID,
			Type:      ct.Kind(),
		},
		def: ct,
	}, nil
}

// newRunners builds the runners of the checks whose definition changed.
func (a *Agent) newRunners(list []serviceCheck, src local.Source) (map[string]checks.Check, error) {
	runners := map[string]checks.Check{}
	for _, sc := range list {
		if a.unchanged(sc) {
			continue
		}
		r, err := checks.New(sc.hc.CheckID, sc.hc.ServiceID, sc.def, a.checkResult, a.checkOptions(src))
		if err != nil {
			for _, r := range runners {
				r.Stop()
			}
			return nil, fmt.Errorf("%w: check %q: %v", ErrInvalidDefinition, sc.hc.CheckID, err)
		}
		runners[sc.hc.CheckID] = r
	}
	return runners, nil
}

// unchanged reports whether a check is already running with this
// definition on the same service.
func (a *Agent) unchanged(sc serviceCheck) bool {
	cur := a.local.Check(sc.hc.CheckID)
	return cur != nil && cur.Definition != nil && a.runners[sc.hc.CheckID] != nil &&
		cur.Check.ServiceID == sc.hc.ServiceID && cur.Check.Notes == sc.hc.Notes &&
		reflect.DeepEqual(cur.Definition, sc.def)
}

// addCheckLocked installs a check and starts its runner; r is nil when the
// check is unchanged and keeps running.
func (a *Agent) addCheckLocked(sc serviceCheck, r checks.Check, src local.Source) {
	if r == nil {
		return
	}
	if old := a.runners[sc.hc.CheckID]; old != nil {
		old.Stop()
	}
	a.local.AddCheck(sc.hc, sc.def, src)
	a.runners[sc.hc.CheckID] = r
	a.armReaper(sc.hc.CheckID)
	r.Start()
	a.persistCheck(sc.hc.CheckID)
}

// RemoveService deregisters a service and its checks from this agent.
func (a *Agent) RemoveService(id string) error {
	defer a.syncNow()
	a.localMu.Lock()
	defer a.localMu.Unlock()
	return a.removeServiceLocked(id)
}

func (a *Agent) removeServiceLocked(id string) error {
	checkIDs, ok := a.local.RemoveService(id)
	if !ok {
		return unknownService(id)
	}
	for _, cid := range checkIDs {
		a.stopCheckLocked(cid)
	}
	a.unpersistService(id)
	return nil
}

// AddCheck registers a standalone check (agent/check/register); with a
// ServiceID it joins that service's checks.
func (a *Agent) AddCheck(def *structs.CheckDefinition, src local.Source) error {
	id := def.ID
	if id == "" {
		id = def.CheckID
	}
	if id == "" {
		id = def.Name
	}
	if def.Name == "" {
		return invalid("missing check name")
	}
	if isMaintenanceCheck(id) || id == structs.SerfCheckID {
		return invalid("check ID %q is reserved", id)
	}
	if def.ServiceID != "" && a.local.Service(def.ServiceID) == nil {
		return unknownService(def.ServiceID)
	}
	ct := def.CheckType
	sc, err := a.prepareCheck(id, def.Name, def.ServiceID, &ct, src)
	if err != nil {
		return err
	}
	return a.install(nil, []serviceCheck{sc}, src, false)
}

// RemoveCheck deregisters a check from this agent.
func (a *Agent) RemoveCheck(id string) error {
	defer a.syncNow()
	a.localMu.Lock()
	defer a.localMu.Unlock()
	return a.removeCheckLocked(id)
}

func (a *Agent) removeCheckLocked(id string) error {
	if !a.local.RemoveCheck(id) {
		return unknownCheck(id)
	}
	a.stopCheckLocked(id)
	return nil
}

func (a *Agent) stopCheckLocked(id string) {
	if r := a.runners[id]; r != nil {
		r.Stop()
		delete(a.runners, id)
	}
	a.reaperMu.Lock()
	a.disarmReaperLocked(id)
	a.reaperMu.Unlock()
	a.unpersistCheck(id)
}

// UpdateTTL records a TTL check's status as reported by its service
// (agent/check/pass|warn|fail|update).
func (a *Agent) UpdateTTL(id, status, output string) error {
	a.localMu.Lock()
	r := a.runners[id]
	a.localMu.Unlock()
	if r == nil {
		if a.local.Check(id) == nil {
			return unknownCheck(id)
		}
		return invalid("check %q is not a TTL check", id)
	}
	ttl, ok := r.(*checks.TTLCheck)
	if !ok {
		return invalid("check %q is not a TTL check", id)
	}
	if err := ttl.SetStatus(status, output); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidDefinition, err)
	}
	return nil
}

// checkResult is every runner's Notify: it records the result locally,
// which wakes the sync when the status changed.
//
// It must not take localMu: Stop, called under localMu, waits for an
// in-flight run, whose Notify would then wait for localMu.
func (a *Agent) checkResult(id, status, output string) {
	if a.local.UpdateCheck(id, status, output) {
		a.armReaper(id)
	}
}

// armReaper (re)starts the timer that removes a service whose check has
// been critical for deregister_critical_service_after. Consul sweeps every
// 30 seconds with a one-minute floor; a timer per check removes the service
// on time and costs nothing while checks pass.
func (a *Agent) armReaper(id string) {
	a.reaperMu.Lock()
	defer a.reaperMu.Unlock()
	a.disarmReaperLocked(id)
	c := a.local.Check(id)
	if c == nil || c.Definition == nil || c.Definition.DeregisterCriticalServiceAfter <= 0 ||
		c.Check.ServiceID == "" || c.CriticalSince.IsZero() {
		return
	}
	after := time.Duration(c.Definition.DeregisterCriticalServiceAfter) - time.Since(c.CriticalSince)
	a.reapers[id] = time.AfterFunc(max(after, 0), func() { a.reap(id) })
}

func (a *Agent) disarmReaperLocked(id string) {
	if t := a.reapers[id]; t != nil {
		t.Stop()
		delete(a.reapers, id)
	}
}

func (a *Agent) reap(checkID string) {
	defer a.syncNow()
	a.localMu.Lock()
	defer a.localMu.Unlock()
	c := a.local.Check(checkID)
	if c == nil || c.CriticalSince.IsZero() || c.Definition == nil ||
		time.Since(c.CriticalSince) < time.Duration(c.Definition.DeregisterCriticalServiceAfter) {
		return
	}
	agentLog.Infof("removing service %q: check %q has been critical for %s", c.Check.ServiceID, checkID, time.Duration(c.Definition.DeregisterCriticalServiceAfter))
	if err := a.removeServiceLocked(c.Check.ServiceID); err != nil {
		agentLog.Warningf("reap service %q: %v", c.Check.ServiceID, err)
	}
}

// LocalServices are the services this agent runs.
func (a *Agent) LocalServices() map[string]*structs.NodeService { return a.local.Services() }

// LocalChecks are the checks this agent runs, with their current status.
func (a *Agent) LocalChecks() map[string]*structs.HealthCheck { return a.local.Checks() }

// LocalChanged returns a channel closed at the next change to the agent's
// services or checks: take it before reading them to wait for a change
// (agent/service/:id hash blocking).
func (a *Agent) LocalChanged() <-chan struct{} { return a.local.WatchCh() }

// ConfigureHealth applies the coordhealth settings; a reload may change
// them while the agent runs.
func (a *Agent) ConfigureHealth(hc HealthConfig) {
	a.health.Store(&hc)
	a.local.SetCheckUpdateInterval(hc.CheckUpdateInterval)
}

func (a *Agent) healthConfig() HealthConfig { return *a.health.Load() }

func (a *Agent) scriptsAllowed(src local.Source) bool {
	hc := a.healthConfig()
	return hc.EnableScripts || (hc.EnableLocalScripts && src == local.SourceFile)
}

func (a *Agent) checkOptions(src local.Source) checks.Options {
	return checks.Options{
		EnableScripts: a.scriptsAllowed(src),
		Node:          a.cfg.NodeName,
		State:         a.State,
	}
}

func (a *Agent) stopChecks() {
	a.localMu.Lock()
	defer a.localMu.Unlock()
	for id, r := range a.runners {
		r.Stop()
		delete(a.runners, id)
	}
	a.reaperMu.Lock()
	for id, t := range a.reapers {
		t.Stop()
		delete(a.reapers, id)
	}
	a.reaperMu.Unlock()
}

func isReservedService(id string) bool { return id == structs.ConsulServiceID }
