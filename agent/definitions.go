package agent

import (
	"fmt"

	"github.com/coredns-coord/coredns-coord/agent/local"
	"github.com/coredns-coord/coredns-coord/definition"
)

// ReloadDefinitions re-reads the definition files in the configured
// directories. Services and checks that were added or changed take effect,
// those whose files are gone are removed, and unchanged ones keep running
// with the status they have. It returns one error per file or definition
// that could not be applied; everything else is.
//
// While any file has an error nothing file-defined is removed: a service
// whose file was broken by an edit keeps running as it was rather than
// vanishing from DNS. Consul refuses the whole reload instead.
func (a *Agent) ReloadDefinitions() []error {
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	defer a.syncNow()
	set, errs := definition.LoadDirs(a.healthConfig().ConfigDirs...)
	if set == nil {
		set = &definition.Set{}
	}
	services := map[string]bool{}
	for _, def := range set.Services {
		id := def.ServiceID()
		if err := a.AddService(def, local.SourceFile, true); err != nil {
			errs = append(errs, fmt.Errorf("service %q: %w", id, err))
			continue
		}
		services[id] = true
	}
	checkIDs := map[string]bool{}
	for _, def := range set.Checks {
		id := def.ID
		if err := a.AddCheck(def, local.SourceFile); err != nil {
			errs = append(errs, fmt.Errorf("check %q: %w", id, err))
			continue
		}
		checkIDs[id] = true
	}
	if len(errs) > 0 {
		for _, err := range errs {
			agentLog.Errorf("definitions: %v", err)
		}
		return errs
	}
	for _, id := range a.local.ServicesFrom(local.SourceFile) {
		if !services[id] {
			a.RemoveService(id)
		}
	}
	for _, id := range a.local.ChecksFrom(local.SourceFile) {
		if !checkIDs[id] {
			a.RemoveCheck(id)
		}
	}
	agentLog.Infof("definitions: %d services and %d checks from %v", len(set.Services), len(set.Checks), a.healthConfig().ConfigDirs)
	return nil
}
