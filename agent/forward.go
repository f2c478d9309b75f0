package agent

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/coredns-coord/coredns-coord/raftstore"
	"github.com/coredns-coord/coredns-coord/rpc"
	"github.com/coredns-coord/coredns-coord/structs"
)

// ErrNoLeader is a write or consistent read that found no leader within
// the hold time (Consul's "No cluster leader"): nothing was applied.
var ErrNoLeader = errors.New("no cluster leader")

// Forwarding: during an election a request waits (up to rpcHoldTimeout,
// Consul's 7 s) for a leader instead of failing at once; maxHops stops
// servers with stale leader information from bouncing it.
const (
	rpcHoldTimeout = 7 * time.Second
	rpcCallTimeout = 15 * time.Second
	maxHops        = 3
	// writeTimeout is the longest any attempt of one write may run,
	// counted from when the agent that received it first sent it:
	// attempts start within the hold time and each lasts at most one call.
	// Every hop gets it as its gRPC deadline, so no re-send is appended
	// later; state.RequestRetention must outlast it.
	writeTimeout = rpcHoldTimeout + rpcCallTimeout
)

// apply writes a command through Raft: locally on the leader, forwarded to
// it from anywhere else. The command gets its request ID here, once; every
// re-send carries it, so it is applied at most once. The result has the
// command's result type, decoded by its handle.
func apply[Req, Res any](a *Agent, cmd raftstore.Command[Req, Res], req Req) (Res, error) {
	var none Res
	buf, err := cmd.Encode(structs.NewRequestID(), req)
	if err != nil {
		return none, err
	}
	res, err := a.applyAndWait(buf)
	if err != nil {
		return none, err
	}
	return cmd.Result(res)
}

// applyAndWait applies an encoded command and waits (briefly) until this
// agent's copy has applied it too.
func (a *Agent) applyAndWait(buf []byte) (any, error) {
	ctx, cancel := context.WithTimeout(a.stopCtx, writeTimeout)
	defer cancel()
	res, idx, err := a.applyEncoded(ctx, buf, 0)
	if err == nil && idx > 0 && a.feed().Last() < idx {
		// Read your writes: what this agent answers next includes it (on
		// the leader it already does: Apply returns after the FSM ran).
		ctx, cancel := context.WithTimeout(context.Background(), readYourWritesWait)
		defer cancel()
		if werr := a.feed().WaitFor(ctx, idx); werr != nil {
			agentLog.Warningf("local copy has not applied index %d after %s", idx, readYourWritesWait)
		}
	}
	return res, err
}

// readYourWritesWait bounds how long a write waits for the local copy to
// apply it; past it the write still succeeds (it is committed).
const readYourWritesWait = 2 * time.Second

// applyEncoded sends an encoded command to the leader until one attempt
// gives a definite answer or the hold time (bounded by ctx) ends. Every
// attempt carries the same request ID, so re-sending after an unknown
// outcome is safe: if an earlier attempt committed, the FSM answers with
// its result. When the time ends, the answer is ErrNoLeader only if no
// attempt may have been applied; otherwise ErrOutcomeUnknown.
func (a *Agent) applyEncoded(ctx context.Context, buf []byte, hops int) (any, uint64, error) {
	hold := time.Now().Add(rpcHoldTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(hold) {
		hold = d
	}
	backoff := 20 * time.Millisecond
	var unknown, last error
	counted := false
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			writeResends.Inc()
		}
		res, idx, forwarded, err := a.applyAttempt(ctx, buf, hops)
		if forwarded && !counted {
			forwardedTotal.WithLabelValues("apply").Inc()
			counted = true
		}
		if errors.Is(err, errHopLimit) {
			return nil, 0, a.giveUp(unknown, err)
		}
		switch writeOutcome(err) {
		case outcomeDone:
			return res, idx, err
		case outcomeUnknown:
			unknown = err
		case outcomeNotApplied:
			if !errors.Is(err, errNoTarget) {
				last = err
			}
		}
		if time.Now().Add(backoff).After(hold) || ctx.Err() != nil {
			break
		}
		select {
		case <-a.stopCh:
			return nil, 0, a.giveUp(unknown, ErrNoLeader)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 500*time.Millisecond)
	}
	return nil, 0, a.giveUp(unknown, last)
}

// giveUp is the answer of a write whose hold time ended: unknown if any
// attempt may have been applied, else why none was.
func (a *Agent) giveUp(unknown, last error) error {
	forwardErrors.WithLabelValues("apply").Inc()
	if unknown != nil {
		writesOutcomeUnknown.Inc()
		if errors.Is(unknown, raftstore.ErrOutcomeUnknown) {
			return unknown
		}
		return fmt.Errorf("%w: %w", raftstore.ErrOutcomeUnknown, unknown)
	}
	return a.noLeader(last)
}

var (
	// errNoTarget: no leader (or, on a client, no server) is known.
	errNoTarget = errors.New("no leader known")
	// errHopLimit: a server that does not lead got a request forwarded
	// maxHops times. It answers at once, so that the hop before (which
	// may know the new leader by then) tries again.
	errHopLimit = fmt.Errorf("%w: hop limit", ErrNoLeader)
)

// applyAttempt sends the command once: to the local Raft on the leader,
// else to the forward target (forwarded says so).
func (a *Agent) applyAttempt(ctx context.Context, buf []byte, hops int) (res any, idx uint64, forwarded bool, err error) {
	if a.raft != nil && a.raft.IsLeader() {
		res, idx, err = a.raft.ApplyEncoded(ctx, buf)
		return res, idx, false, err
	}
	if hops >= maxHops {
		return nil, 0, false, fmt.Errorf("%w: forwarded %d times without reaching the leader", errHopLimit, hops)
	}
	addr := a.forwardTarget()
	if addr == "" {
		return nil, 0, false, errNoTarget
	}
	res, idx, err = a.forwardApply(ctx, addr, buf, hops)
	return res, idx, true, err
}

// forwardApply sends the command to the server at addr.
func (a *Agent) forwardApply(ctx context.Context, addr string, buf []byte, hops int) (any, uint64, error) {
	start := time.Now()
	callCtx, cancel := context.WithTimeout(ctx, rpcCallTimeout)
	defer cancel()
	send := a.pool.Apply
	if f := a.sendApply.Load(); f != nil {
		send = *f
	}
	resp, err := send(callCtx, addr, &rpc.ApplyRequest{Command: buf, Hops: hops + 1})
	forwardDuration.WithLabelValues("apply").Observe(time.Since(start).Seconds())
	if err != nil {
		if rpc.NotSent(err) {
			return nil, 0, fmt.Errorf("%w: %v", raftstore.ErrNotApplied, err)
		}
		// The request may have reached the leader and committed.
		return nil, 0, fmt.Errorf("%w: %v", raftstore.ErrOutcomeUnknown, err)
	}
	if resp.Error != nil {
		return nil, 0, fromWire(resp.Error)
	}
	res, err := raftstore.DecodeResult(raftstore.CommandTypeOf(buf), resp.Result)
	return res, resp.Index, err
}

// applyFunc sends an Apply RPC (rpc.Pool.Apply, or a test's fault).
type applyFunc = func(ctx context.Context, addr string, req *rpc.ApplyRequest) (*rpc.ApplyResponse, error)

// Outcomes of one write attempt.
const (
	outcomeDone       = iota // applied, or refused by the FSM: the answer
	outcomeNotApplied        // provably not applied: try again
	outcomeUnknown           // may have been applied: try again with the same ID
)

func writeOutcome(err error) int {
	switch {
	case err == nil:
		return outcomeDone
	case errors.Is(err, raftstore.ErrOutcomeUnknown):
		return outcomeUnknown
	case errors.Is(err, errNoTarget), errors.Is(err, ErrNoLeader),
		errors.Is(err, raftstore.ErrNotLeader), errors.Is(err, raftstore.ErrNotApplied):
		return outcomeNotApplied
	}
	return outcomeDone
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
			ctx, cancel := context.WithTimeout(a.stopCtx, rpcCallTimeout)
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
	return a.noLeader(last)
}

// noLeader is ErrNoLeader with what explains it: the last error of an
// attempt, or a server's own failure to write its log (such a server
// steps down at every write, so that failure is why there is no leader).
func (a *Agent) noLeader(last error) error {
	if a.raft != nil {
		if ferr := a.raft.LogWriteFailure(); ferr != nil {
			return fmt.Errorf("%w: %w", ErrNoLeader, ferr)
		}
	}
	switch {
	case last == nil:
		return ErrNoLeader
	case errors.Is(last, ErrNoLeader):
		return last
	}
	return fmt.Errorf("%w: %v", ErrNoLeader, last)
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
