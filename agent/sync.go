package agent

import (
	"math/rand/v2"
	"time"
)

// Anti-entropy timing. A full sync compares everything with the catalog
// (Consul: once a minute, scaled by cluster size); between full syncs only
// what changed is written, as soon as it changes.
const (
	fullSyncInterval = time.Minute
	syncRetryMin     = 100 * time.Millisecond
	syncRetryMax     = 5 * time.Second
)

// StartSync starts keeping the catalog in step with the agent's services
// and checks. The first pass is a full sync, which removes what the catalog
// holds for this node but the agent no longer defines, so it must start
// only once the definitions are loaded: agenthost calls it on startup, once
// it has handed the agent to every plugin of its server block. The API registrations of the last run
// are restored first, now that script checks may have been enabled.
func (a *Agent) StartSync() {
	a.syncOnce.Do(func() {
		a.loadPersisted()
		a.wg.Add(1)
		go a.syncLoop()
	})
}

func (a *Agent) syncLoop() {
	defer a.wg.Done()
	for !a.registered.Load() {
		select {
		case <-a.stopCh:
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
	full := time.NewTimer(0)
	defer full.Stop()
	retry := time.NewTimer(0)
	retry.Stop()
	defer retry.Stop()
	backoff := syncRetryMin
	for {
		var err error
		select {
		case <-a.stopCh:
			return
		case <-full.C:
			err = a.syncFull()
			full.Reset(fullSyncInterval + rand.N(fullSyncInterval/4))
		case <-a.local.Trigger():
			err = a.local.SyncChanges(countingCatalog{a})
		case <-retry.C:
			err = a.local.SyncChanges(countingCatalog{a})
		}
		if err != nil {
			agentLog.Warningf("catalog sync failed, retrying in %s: %v", backoff, err)
			retry.Reset(backoff)
			backoff = min(2*backoff, syncRetryMax)
			continue
		}
		backoff = syncRetryMin
	}
}

// syncFull re-registers the agent's own node if the catalog lost it, then
// reconciles its services and checks.
func (a *Agent) syncFull() error {
	if _, n, err := a.State().GetNode(nil, a.cfg.NodeName); err == nil && n == nil {
		if err := a.Register(a.selfRegistration()); err != nil {
			return err
		}
	}
	return a.local.SyncFull(countingCatalog{a}, a.State())
}

// syncNow writes pending changes before an API call returns, so that a
// service registered over HTTP is in DNS answers when the call returns
// (Consul answers first and syncs later). If the write fails the sync loop
// retries; the call still succeeds, as the agent has the registration.
func (a *Agent) syncNow() {
	// Right after start the agent's own node may not be written yet; give
	// it a moment rather than leave the change to the background sync.
	for deadline := time.Now().Add(readYourWritesWait); !a.registered.Load(); {
		if time.Now().After(deadline) {
			return
		}
		select {
		case <-a.stopCh:
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
	if err := a.local.SyncChanges(countingCatalog{a}); err != nil {
		agentLog.Warningf("catalog sync: %v", err)
		a.local.Poke()
	}
}
