package agent

import (
	"fmt"
	"reflect"
	"sync"

	"github.com/coredns-coord/coredns-coord/internal/tlsutil"
)

// The registry keeps one agent per data directory (or dev address) for the
// whole process. CoreDNS re-runs plugin setup and startup on every Corefile
// reload while the old instance still serves, so startup must find the
// running agent rather than start a second one.
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
		if err := sameSettings(a.cfg, cfg); err != nil {
			return nil, err
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

// CheckSettings returns the error Acquire would return because the running
// agent of cfg's data directory has other settings, and starts nothing:
// setup calls it, so that a reload that changes them fails before any of
// the new configuration starts.
func CheckSettings(cfg Config) error {
	registryMu.Lock()
	defer registryMu.Unlock()
	if a, ok := registry[cfg.key()]; ok {
		return sameSettings(a.cfg, cfg)
	}
	return nil
}

// sameSettings compares everything but the tls block's contents, which a
// reload re-reads (ReloadTLS); turning TLS on or off needs a restart.
func sameSettings(running, cfg Config) error {
	if running.TLS.Enabled() != cfg.TLS.Enabled() {
		return fmt.Errorf("tls turned on or off (%s); that takes effect after a restart", cfg.key())
	}
	running.TLS, cfg.TLS = tlsutil.Config{}, tlsutil.Config{}
	if !reflect.DeepEqual(running, cfg) {
		return fmt.Errorf("agent settings changed (%s); they take effect after a restart", cfg.key())
	}
	return nil
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
