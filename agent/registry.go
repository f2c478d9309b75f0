package agent

import (
	"fmt"
	"reflect"
	"sync"
)

// The registry keeps one agent per data directory (or dev address) for the
// whole process. CoreDNS re-runs plugin setup on every Corefile reload while
// the old instance still serves, so setup must find the running agent rather
// than start a second one.
var (
	registryMu sync.Mutex
	registry   = map[string]*Agent{}
)

// Acquire returns the running agent for cfg, starting it on first use. A
// reload that changes settings a running agent cannot change fails, so that
// the old configuration keeps serving.
func Acquire(cfg Config, api HandlerFunc) (*Agent, error) {
	registryMu.Lock()
	defer registryMu.Unlock()
	key := cfg.key()
	if a, ok := registry[key]; ok {
		if !reflect.DeepEqual(a.cfg, cfg) {
			return nil, fmt.Errorf("agent settings changed (%s); they take effect after a restart", key)
		}
		return a, nil
	}
	a, err := Start(cfg, api)
	if err != nil {
		return nil, err
	}
	registry[key] = a
	return a, nil
}

// Release stops the agent for cfg and forgets it; CoreDNS calls it on final
// shutdown only.
func Release(cfg Config) error {
	registryMu.Lock()
	a, ok := registry[cfg.key()]
	delete(registry, cfg.key())
	registryMu.Unlock()
	if !ok {
		return nil
	}
	return a.Stop()
}

// runningAgents lists the agents of the registry (for the collectors).
func runningAgents() []*Agent {
	registryMu.Lock()
	defer registryMu.Unlock()
	out := make([]*Agent, 0, len(registry))
	for _, a := range registry {
		out = append(out, a)
	}
	return out
}
