package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/coredns-coord/coredns-coord/rpc"
)

// A client agent's replica is fed by one subscription to a server at a
// time. A server sends an update at least every second, so silence for
// replicaSilence means the server is gone: the client resubscribes to
// another one from its current index.
const (
	replicaSilence    = 3 * time.Second
	replicaRetryMin   = 50 * time.Millisecond
	replicaRetryMax   = 2 * time.Second
	replicaStaleAfter = replicaSilence
)

// replicaStatus is what a client knows about its copy's freshness.
type replicaStatus struct {
	lastUpdate        atomic.Int64 // unix nanoseconds of the last update
	serverLastContact atomic.Int64 // the server's own last contact, ns
	serverIndex       atomic.Uint64
	knownLeader       atomic.Bool
	leader            atomic.Pointer[string]
}

// replicationLoop keeps one subscription open, to a server picked at
// random, resubscribing from the replica's index when it breaks.
func (c *Client) replicationLoop() {
	defer c.wg.Done()
	backoff := replicaRetryMin
	for {
		select {
		case <-c.ctx.Done():
			return
		default:
		}
		addr := c.target()
		if addr != "" {
			// A stream the server ended cleanly (it is stopping) is
			// resubscribed after the shortest wait, not at once: a
			// stopping server ends every new stream at once, and would
			// be asked again in a tight loop until it is gone.
			if err := c.subscribe(addr); err == nil {
				backoff = replicaRetryMin
			} else {
				select {
				case <-c.ctx.Done():
					return
				default:
				}
				agentLog.Warningf("replication from %s: %v; resubscribing", addr, err)
				replicaResubscribes.Inc()
			}
		}
		select {
		case <-c.ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, replicaRetryMax)
	}
}

// subscribe follows one server until the stream breaks or goes silent.
func (c *Client) subscribe(addr string) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	heard := make(chan struct{}, 1)
	go func() {
		timer := time.NewTimer(replicaSilence)
		defer timer.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-c.ctx.Done():
				cancel()
				return
			case <-heard:
				timer.Reset(replicaSilence)
			case <-timer.C:
				cancel()
				return
			}
		}
	}()
	// A snapshot arrives in chunks on this stream only; a broken stream
	// drops what it had.
	var snapshot bytes.Buffer
	err := c.fwd.Pool().Subscribe(ctx, addr, &rpc.SubscribeRequest{Index: c.replica.Index()}, func(u *rpc.Update) error {
		select {
		case heard <- struct{}{}:
		default:
		}
		return c.applyUpdate(u, &snapshot)
	})
	if ctx.Err() != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("no update for %s", replicaSilence)
	}
	return err
}

// applyUpdate runs on the replication goroutine only; readers of the
// status use its atomics, never waiting for a batch to apply.
func (c *Client) applyUpdate(u *rpc.Update, snapshot *bytes.Buffer) error {
	rs := &c.status
	if len(u.Snapshot) > 0 || u.SnapshotEnd {
		snapshot.Write(u.Snapshot)
		if u.SnapshotEnd {
			err := c.replica.Restore(snapshot, u.Index)
			snapshot.Reset()
			if err != nil {
				return err
			}
			replicaSnapshots.Inc()
		}
	}
	for _, e := range u.Entries {
		if err := c.replica.Apply(e.Index, e.Data); err != nil {
			return err
		}
	}
	rs.leader.Store(&u.Leader)
	rs.knownLeader.Store(u.KnownLeader)
	rs.serverLastContact.Store(int64(u.LastContact))
	rs.serverIndex.Store(u.Index)
	rs.lastUpdate.Store(time.Now().UnixNano())
	if c.replica.Index() >= u.Index && snapshot.Len() == 0 {
		c.caughtUp.Mark()
	}
	return nil
}

// LastContact is how stale the replica may be: the time since the last
// update plus the server's own time since it heard its leader.
func (c *Client) LastContact() time.Duration {
	rs := &c.status
	last := rs.lastUpdate.Load()
	if last == 0 {
		return 0
	}
	return time.Since(time.Unix(0, last)) + time.Duration(rs.serverLastContact.Load())
}

// Leader is the leader the subscribed server knows, or "" when the stream
// went quiet.
func (c *Client) Leader() string {
	rs := &c.status
	last := rs.lastUpdate.Load()
	if last == 0 || time.Since(time.Unix(0, last)) > replicaStaleAfter || !rs.knownLeader.Load() {
		return ""
	}
	return *rs.leader.Load() // set with lastUpdate, before it
}
