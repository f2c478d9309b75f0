// Package checks runs an agent's health checks with Consul's semantics:
// script, Docker, HTTP, TCP and gRPC checks that the agent polls, TTL
// checks that the service updates itself, and alias checks that mirror
// another node's or service's health from the local catalog.
//
// A check reports through a Notify callback. Interval checks report after
// every run (through the success/failure thresholds, so some runs report
// nothing); the agent is expected to drop results that change nothing. TTL
// checks report on every SetStatus and once per expiry; alias checks once at
// start and then whenever the aliased health changes.
//
// Interval checks are driven by timers, not by a goroutine each: a goroutine
// exists only while a run is in flight, so an agent can carry tens of
// thousands of checks.
package checks

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/coredns-coord/coredns-coord/internal/logging"

	"github.com/coredns-coord/coredns-coord/state"
	"github.com/coredns-coord/coredns-coord/structs"
)

var log = logging.New("checks")

// Notify receives a check's effective result (after thresholds). Runners call
// it from their own goroutines: one call at a time per check, but different
// checks call it concurrently. It is never called after the check's Stop
// has returned. It should be quick: a check's next run waits for it.
//
// Notify must not call Stop on the check that is notifying: Stop waits for
// a Notify in progress, so doing so deadlocks. Hand the work to another
// goroutine instead.
type Notify func(checkID, status, output string)

// Options are what New needs from the agent.
type Options struct {
	// EnableScripts allows script checks, and Docker checks, which run
	// commands too; New refuses them otherwise.
	EnableScripts bool
	// DockerHost is the Docker engine that Docker checks use, as
	// unix:///path; empty means $DOCKER_HOST, else DefaultDockerHost.
	DockerHost string
	// Node is this agent's node name, the default node of an alias check.
	Node string
	// State returns the catalog alias checks read. It may return nil while
	// the agent has no store yet; the alias check then retries.
	State func() *state.Store
}

// RefuseCommands is why a check of kind may not run while script checks
// are off: script and Docker checks run commands; nil for every other kind.
func RefuseCommands(kind string) error {
	switch kind {
	case structs.CheckScript:
		return ErrScriptsDisabled
	case structs.CheckDocker:
		return ErrDockerDisabled
	}
	return nil
}

// ErrScriptsDisabled is New's answer to a script check when
// Options.EnableScripts is false.
var ErrScriptsDisabled = errors.New("checks: script checks are disabled; set enable_script_checks in the coordhealth Corefile block to allow them")

// ErrDockerDisabled is New's answer to a Docker check when
// Options.EnableScripts is false: a Docker check runs a command too.
var ErrDockerDisabled = errors.New("checks: Docker checks are disabled; they run commands, so they are allowed with script checks: set enable_script_checks (enable_local_script_checks for definition files) in the coordhealth Corefile block")

// ErrCheckStopped is TTLCheck.SetStatus's answer once the check is stopped.
var ErrCheckStopped = errors.New("checks: check is stopped")

// Check is one running check.
type Check interface {
	// Start begins running the check. Calling it again, or after Stop, does
	// nothing.
	Start()
	// Stop ends the check. It is idempotent, returns promptly (it cancels a
	// run in flight rather than waiting for it), and once it has returned
	// Notify is never called again for this check.
	Stop()
}

// New builds the runner for ct, which the caller has validated and
// normalized (structs.CheckType.Validate and Normalize). checkID is what
// notify receives; serviceID is the service the check belongs to, if any.
// For a TTL check the result is a *TTLCheck. New does not start the check.
func New(checkID, serviceID string, ct *structs.CheckType, notify Notify, opts Options) (Check, error) {
	if ct == nil {
		return nil, errors.New("checks: no check definition")
	}
	if notify == nil {
		return nil, errors.New("checks: no notify function")
	}
	if err := ct.Validate(); err != nil {
		return nil, err
	}
	g := &gate{id: checkID, notify: notify}
	kind := ct.Kind()
	switch kind {
	case structs.CheckTTL:
		return newTTL(ct, g), nil
	case structs.CheckAlias:
		return newAlias(ct, g, opts)
	}

	var (
		run     runFunc
		closeFn func()
	)
	switch kind {
	case structs.CheckHTTP:
		h, err := newHTTP(ct)
		if err != nil {
			return nil, err
		}
		run = h.run
	case structs.CheckTCP:
		run = newTCP(ct).run
	case structs.CheckScript:
		if !opts.EnableScripts {
			return nil, RefuseCommands(structs.CheckScript)
		}
		run = newScript(checkID, ct).run
	case structs.CheckDocker:
		if !opts.EnableScripts {
			return nil, RefuseCommands(structs.CheckDocker)
		}
		d, err := newDocker(checkID, ct, dockerHost(opts.DockerHost))
		if err != nil {
			return nil, err
		}
		run, closeFn = d.run, d.close
	case structs.CheckGRPC:
		gc, err := newGRPC(ct)
		if err != nil {
			return nil, err
		}
		run, closeFn = gc.run, gc.close
	default:
		return nil, fmt.Errorf("checks: cannot run a %q check", kind)
	}
	interval := time.Duration(ct.Interval)
	if interval <= 0 {
		return nil, fmt.Errorf("checks: a %s check needs a positive interval", kind)
	}
	return newInterval(kind, interval, checkTimeout(ct), run, closeFn, g, newStatusHandler(ct, g)), nil
}

// checkTimeout is ct's Timeout, or the default Normalize would have chosen.
func checkTimeout(ct *structs.CheckType) time.Duration {
	if t := time.Duration(ct.Timeout); t > 0 {
		return t
	}
	def := structs.DefaultCheckTimeout
	if k := ct.Kind(); k == structs.CheckScript || k == structs.CheckDocker {
		def = structs.DefaultScriptTimeout
	}
	if iv := time.Duration(ct.Interval); iv > 0 {
		return min(def, iv)
	}
	return def
}

// outputMaxSize is ct's OutputMaxSize or the default.
func outputMaxSize(ct *structs.CheckType) int {
	if ct.OutputMaxSize > 0 {
		return ct.OutputMaxSize
	}
	return structs.DefaultOutputMaxSize
}

// gate delivers a check's notifications until it is closed; close waits for
// a delivery in progress, which is what lets Stop promise silence after it
// returns.
type gate struct {
	id     string
	notify Notify

	mu     sync.Mutex
	closed bool
}

// send delivers one result unless the gate is closed, and says whether it
// did.
func (g *gate) send(status, output string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.notify(g.id, status, output)
	return true
}

func (g *gate) close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
}
