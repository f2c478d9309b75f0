package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"math/rand/v2"
	"time"

	"github.com/coredns-coord/coredns-coord/raftstore"
	"github.com/coredns-coord/coredns-coord/rpc"
	"github.com/coredns-coord/coredns-coord/structs"
)

// ErrNoLeader is a write or consistent read that found no leader within
// the hold time (Consul's "No cluster leader").
var ErrNoLeader = errors.New("no cluster leader")

// Forwarding: during an election a request waits (up to rpcHoldTimeout,
// Consul's 7 s) for a leader instead of failing at once; maxHops stops
// servers with stale leader information from bouncing it.
const (
	rpcHoldTimeout = 7 * time.Second
	rpcCallTimeout = 15 * time.Second
	maxHops        = 3
)

// apply writes a command through Raft: locally on the leader, forwarded to
// it from anywhere else. The result is the FSM's (nil, a bool for KV, a
// *structs.TxnResponse for a transaction).
func (a *Agent) apply(t raftstore.CommandType, req any) (any, error) {
	buf, err := raftstore.EncodeCommand(t, req)
	if err != nil {
		return nil, err
	}
	res, idx, err := a.applyEncoded(buf, 0)
	if err == nil && idx > 0 && a.feed().Last() < idx {
		// Read your writes: what this agent answers next includes it (on
		// the leader it already does: Apply returns after the FSM ran).
		ctx, cancel := context.WithTimeout(context.Background(), readYourWritesWait)
		defer cancel()
		if werr := a.feed().WaitFor(ctx, idx); werr != nil {
			log.Printf("[WARNING] coordcatalog: local copy has not applied index %d after %s", idx, readYourWritesWait)
		}
	}
	return res, err
}

// readYourWritesWait bounds how long a write waits for the local copy to
// apply it; past it the write still succeeds (it is committed).
const readYourWritesWait = 2 * time.Second

func (a *Agent) applyEncoded(buf []byte, hops int) (any, uint64, error) {
	if a.raft != nil && a.raft.IsLeader() {
		return a.raft.ApplyEncoded(buf)
	}
	start := time.Now()
	var resp *rpc.ApplyResponse
	err := a.forward(hops, "apply", func(ctx context.Context, addr string) error {
		var err error
		resp, err = a.pool.Apply(ctx, addr, &rpc.ApplyRequest{Command: buf, Hops: hops + 1})
		if err == nil && resp.Error != nil && resp.Error.Kind == "no-leader" {
			return errRetry
		}
		return err
	})
	forwardDuration.WithLabelValues("apply").Observe(time.Since(start).Seconds())
	if err != nil {
		return nil, 0, err
	}
	if resp.Error != nil {
		return nil, 0, fromWire(resp.Error)
	}
	res, err := decodeResult(raftstore.CommandType(buf[0]), resp.Result)
	return res, resp.Index, err
}

// decodeResult turns a forwarded result back into the FSM's type.
func decodeResult(t raftstore.CommandType, raw json.RawMessage) (any, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	var v any
	switch t {
	case raftstore.KVCommand:
		var ok bool
		if err := json.Unmarshal(raw, &ok); err != nil {
			return nil, fmt.Errorf("agent: decode forwarded KV result: %w", err)
		}
		return ok, nil
	case raftstore.TxnCommand:
		v = &structs.TxnResponse{}
	default:
		return nil, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return nil, fmt.Errorf("agent: decode forwarded %s result: %w", t, err)
	}
	return v, nil
}

// errRetry asks forward to try again (another server, or after a leader
// is elected) within the hold time.
var errRetry = errors.New("retry")

// forward calls fn on the server that should answer: the leader, from a
// server; any known server, from a client (it forwards on). It retries
// while no leader is known or the target is unreachable, for up to the hold
// time.
func (a *Agent) forward(hops int, what string, fn func(ctx context.Context, addr string) error) error {
	if hops >= maxHops {
		return fmt.Errorf("%w: forwarded %d times without reaching the leader", ErrNoLeader, hops)
	}
	forwardedTotal.WithLabelValues(what).Inc()
	deadline := time.Now().Add(rpcHoldTimeout)
	backoff := 20 * time.Millisecond
	var last error
	for {
		addr := a.forwardTarget()
		if addr != "" {
			ctx, cancel := context.WithTimeout(context.Background(), rpcCallTimeout)
			err := fn(ctx, addr)
			cancel()
			if err == nil {
				return nil
			}
			if !errors.Is(err, errRetry) {
				last = err
			}
		}
		if time.Now().After(deadline) {
			break
		}
		select {
		case <-a.stopCh:
			return ErrNoLeader
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 500*time.Millisecond)
	}
	forwardErrors.WithLabelValues(what).Inc()
	if a.raft != nil {
		// A server that cannot write its log steps down at every write, so
		// the lack of a leader is that failure: say so.
		if ferr := a.raft.LogWriteFailure(); ferr != nil {
			return fmt.Errorf("%w: %w", ErrNoLeader, ferr)
		}
	}
	if last != nil {
		return fmt.Errorf("%w: %v", ErrNoLeader, last)
	}
	return ErrNoLeader
}

// forwardTarget is the leader's server address on a server, or a server
// picked at random on a client ("" when none is known).
func (a *Agent) forwardTarget() string {
	if a.raft != nil {
		if a.raft.IsLeader() {
			return a.cfg.ServerAddr()
		}
		return a.raft.Leader()
	}
	servers := a.serverAddrs()
	if len(servers) == 0 {
		return ""
	}
	return servers[rand.N(len(servers))]
}
