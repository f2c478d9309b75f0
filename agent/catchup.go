package agent

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrCatchingUp is a default-mode read on an agent whose state does not
// yet hold everything committed before it started: a restarted server
// replaying its log, a client before its first sync.
var ErrCatchingUp = errors.New("this agent is still catching up with the cluster")

// CaughtUp reports whether the local state holds every write the cluster
// had committed when this agent started. It stays true once it is: later
// staleness is what X-Consul-LastContact reports.
func (a *Agent) CaughtUp() bool {
	select {
	case <-a.caughtUp:
		return true
	default:
		return false
	}
}

func (a *Agent) markCaughtUp() { a.caughtUpOnce.Do(func() { close(a.caughtUp) }) }

// WaitCaughtUp blocks until CaughtUp, for at most the hold time.
func (a *Agent) WaitCaughtUp(ctx context.Context) error {
	if a.CaughtUp() {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, rpcHoldTimeout)
	defer cancel()
	select {
	case <-a.caughtUp:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w (use ?stale to read what it has)", ErrCatchingUp)
	case <-a.stopCh:
		return ErrCatchingUp
	}
}

// catchUpServer marks a server caught up once it has applied the leader's
// read index, learned after it started. A restarted server's Raft restores
// its last snapshot and applies the log after it only as it learns the
// commit index, so until then its state lacks acknowledged writes.
func (a *Agent) catchUpServer() {
	defer a.wg.Done()
	ctx := a.stopCtx
	backoff := 50 * time.Millisecond
	for {
		err := a.ConsistentRead(ctx)
		if err == nil {
			a.markCaughtUp()
			agentLog.Infof("caught up with the cluster at index %d", a.feed().Last())
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}
