package checks

import (
	"sync"

	"github.com/coredns-coord/coredns-coord/structs"
)

// statusHandler applies a check's success and failure thresholds to its raw
// results, as Consul's StatusHandler does:
//
//   - passing or warning counts a success and clears the failures; the
//     result is reported once SuccessBeforePassing successes in a row have
//     been seen (0 or 1: at once);
//   - critical counts a failure and clears the successes; the result is
//     reported as critical once FailuresBeforeCritical failures in a row have
//     been seen (0 means 1), else as warning once FailuresBeforeWarning have
//     (0 means the same as FailuresBeforeCritical), else not at all.
type statusHandler struct {
	successBeforePassing   int
	failuresBeforeWarning  int
	failuresBeforeCritical int
	report                 func(status, output string)

	mu        sync.Mutex
	successes int
	failures  int
	last      string // last status reported, for logging transitions
}

func newStatusHandler(ct *structs.CheckType, g *gate) *statusHandler {
	h := newThresholds(ct.SuccessBeforePassing, ct.FailuresBeforeWarning, ct.FailuresBeforeCritical, nil)
	h.report = func(status, output string) {
		if !g.send(status, output) {
			return
		}
		if status != h.last && status != structs.HealthPassing {
			log.Warningf("check %q is now %s: %s", g.id, status, output)
		}
		h.last = status
	}
	return h
}

func newThresholds(successBeforePassing, failuresBeforeWarning, failuresBeforeCritical int, report func(status, output string)) *statusHandler {
	if successBeforePassing < 1 {
		successBeforePassing = 1
	}
	if failuresBeforeCritical < 1 {
		failuresBeforeCritical = 1
	}
	if failuresBeforeWarning < 1 {
		failuresBeforeWarning = failuresBeforeCritical
	}
	return &statusHandler{
		successBeforePassing:   successBeforePassing,
		failuresBeforeWarning:  failuresBeforeWarning,
		failuresBeforeCritical: failuresBeforeCritical,
		report:                 report,
	}
}

// update takes one raw result and reports what the thresholds make of it.
func (h *statusHandler) update(status, output string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if status == structs.HealthPassing || status == structs.HealthWarning {
		h.successes++
		h.failures = 0
		if h.successes >= h.successBeforePassing {
			h.report(status, output)
		}
		return
	}
	h.failures++
	h.successes = 0
	switch {
	case h.failures >= h.failuresBeforeCritical:
		h.report(structs.HealthCritical, output)
	case h.failures >= h.failuresBeforeWarning:
		h.report(structs.HealthWarning, output)
	}
}
