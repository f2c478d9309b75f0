package checks

import (
	"fmt"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/coredns-coord/coredns-coord/structs"
)

// TTLCheck is a check the service itself keeps current through SetStatus
// (the agent's check/pass, warn, fail and update endpoints). If no update
// comes within the TTL of the last one (or of Start), the check reports
// critical once, then waits for the next update. The agent reports the
// initial status itself; a TTLCheck reports only updates and expiries.
type TTLCheck struct {
	ttl    time.Duration
	maxOut int
	gate   *gate

	mu         sync.Mutex
	started    bool
	stopped    bool
	timer      *time.Timer
	deadline   time.Time // when the TTL runs out, while the timer is armed
	lastOutput string
}

func newTTL(ct *structs.CheckType, g *gate) *TTLCheck {
	return &TTLCheck{ttl: time.Duration(ct.TTL), maxOut: outputMaxSize(ct), gate: g}
}

// Start arms the TTL.
func (t *TTLCheck) Start() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.started || t.stopped {
		return
	}
	t.started = true
	t.deadline = time.Now().Add(t.ttl)
	t.timer = time.AfterFunc(t.ttl, t.expire)
}

// Stop disarms the TTL; SetStatus fails with ErrCheckStopped afterwards.
func (t *TTLCheck) Stop() {
	t.mu.Lock()
	if t.stopped {
		t.mu.Unlock()
		return
	}
	t.stopped = true
	if t.timer != nil {
		t.timer.Stop()
	}
	t.mu.Unlock()
	t.gate.close()
}

// SetStatus records a status from the service: it reports it, with output
// cut to the check's output limit, and restarts the TTL. A status other
// than passing, warning or critical is an error and changes nothing.
func (t *TTLCheck) SetStatus(status, output string) error {
	switch status {
	case structs.HealthPassing, structs.HealthWarning, structs.HealthCritical:
	default:
		return fmt.Errorf("checks: invalid status %q: must be passing, warning or critical", status)
	}
	output = truncateOutput(output, t.maxOut)

	t.mu.Lock()
	if t.stopped {
		t.mu.Unlock()
		return ErrCheckStopped
	}
	t.lastOutput = output
	if t.started {
		t.deadline = time.Now().Add(t.ttl)
		t.timer.Reset(t.ttl)
	}
	// Report under the lock, so that an update and an expiry racing each
	// other reach Notify in the order they took effect here.
	t.gate.send(status, output)
	t.mu.Unlock()
	return nil
}

// expire runs on the timer's goroutine when the TTL runs out.
func (t *TTLCheck) expire() {
	t.mu.Lock()
	// A SetStatus between the timer firing and here re-armed the timer and
	// moved the deadline; this firing is stale.
	if t.stopped || time.Now().Before(t.deadline) {
		t.mu.Unlock()
		return
	}
	output := "TTL expired"
	if t.lastOutput != "" {
		output = "TTL expired (last output before timeout follows): " + t.lastOutput
	}
	sent := t.gate.send(structs.HealthCritical, output)
	t.mu.Unlock()
	if sent {
		log.Warningf("check %q: TTL of %s expired", t.gate.id, t.ttl)
	}
}

// truncateOutput cuts s to at most max bytes (on a UTF-8 boundary) and says
// how much was kept, as Consul does for TTL updates.
func truncateOutput(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + " ... (captured " + strconv.Itoa(cut) + " of " + strconv.Itoa(len(s)) + " bytes)"
}
