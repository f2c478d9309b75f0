package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/coredns-coord/coredns-coord/raftstore"
	"github.com/coredns-coord/coredns-coord/rpc"
	"github.com/coredns-coord/coredns-coord/structs"
)

// Forwarding: during an election a request waits (up to HoldTimeout,
// Consul's 7 s) for a leader instead of failing at once; MaxHops stops
// servers with stale leader information from bouncing it.
const (
	HoldTimeout = 7 * time.Second
	CallTimeout = 15 * time.Second
	MaxHops     = 3
	// WriteTimeout is the longest any attempt of one write may run,
	// counted from when the agent that received it first sent it:
	// attempts start within the hold time and each lasts at most one call.
	// Every hop gets it as its gRPC deadline, so no re-send is appended
	// later; state.RequestRetention must outlast it.
	WriteTimeout = HoldTimeout + CallTimeout
)

// Local is the Raft node of a server, which applies a command itself when
// it leads.
type Local interface {
	IsLeader() bool
	ApplyEncoded(ctx context.Context, buf []byte) (any, uint64, error)
	// LogWriteFailure is why this server cannot write its log, or nil.
	LogWriteFailure() error
}

// ApplyFunc sends an Apply RPC (rpc.Pool.Apply, or a test's fault).
type ApplyFunc = func(ctx context.Context, addr string, req *rpc.ApplyRequest) (*rpc.ApplyResponse, error)

// Forwarder sends what only the leader answers towards it: a server to
// the leader it knows, a client to any server (which forwards on).
type Forwarder struct {
	pool *rpc.Pool
	// ctx ends when the agent begins to stop: forwards in flight end
	// then, instead of holding the stop up.
	ctx    context.Context
	target func() string
	local  Local // nil on a client
	// send replaces pool.Apply when set: tests inject faults there.
	send atomic.Pointer[ApplyFunc]
	// authorize checks forwarded writes on the leader (nil: ACLs off).
	authorize Authorize
}

// NewForwarder forwards through pool to target() ("" when no target is
// known); local is the server's own Raft node, nil on a client.
func NewForwarder(ctx context.Context, pool *rpc.Pool, target func() string, local Local) *Forwarder {
	return &Forwarder{pool: pool, ctx: ctx, target: target, local: local}
}

// Pool is the connection pool the forwards use.
func (f *Forwarder) Pool() *rpc.Pool { return f.pool }

// InjectApply replaces the Apply RPC, for tests that lose answers.
func (f *Forwarder) InjectApply(send ApplyFunc) { f.send.Store(&send) }

// Apply sends an encoded command to the leader until one attempt gives a
// definite answer or the hold time (bounded by ctx) ends; hops is how many
// agents forwarded it here. Every attempt carries the same request ID, so
// re-sending after an unknown outcome is safe: if an earlier attempt
// committed, the FSM answers with its result. When the time ends, the
// answer is ErrNoLeader only if no attempt may have been applied;
// otherwise raftstore.ErrOutcomeUnknown.
func (f *Forwarder) Apply(ctx context.Context, buf []byte, hops int) (any, uint64, error) {
	hold := time.Now().Add(HoldTimeout)
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
		res, idx, forwarded, err := f.applyAttempt(ctx, buf, hops)
		if forwarded && !counted {
			forwardedTotal.WithLabelValues("apply").Inc()
			counted = true
		}
		if errors.Is(err, errHopLimit) {
			return nil, 0, f.giveUp(unknown, err)
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
		case <-f.ctx.Done():
			return nil, 0, f.giveUp(unknown, ErrNoLeader)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 500*time.Millisecond)
	}
	return nil, 0, f.giveUp(unknown, last)
}

// giveUp is the answer of a write whose hold time ended: unknown if any
// attempt may have been applied, else why none was.
func (f *Forwarder) giveUp(unknown, last error) error {
	forwardErrors.WithLabelValues("apply").Inc()
	if unknown != nil {
		writesOutcomeUnknown.Inc()
		if errors.Is(unknown, raftstore.ErrOutcomeUnknown) {
			return unknown
		}
		return fmt.Errorf("%w: %w", raftstore.ErrOutcomeUnknown, unknown)
	}
	return f.noLeader(last)
}

var (
	// errNoTarget: no leader (or, on a client, no server) is known.
	errNoTarget = errors.New("no leader known")
	// errHopLimit: a server that does not lead got a request forwarded
	// MaxHops times. It answers at once, so that the hop before (which
	// may know the new leader by then) tries again.
	errHopLimit = fmt.Errorf("%w: hop limit", ErrNoLeader)
)

// applyAttempt sends the command once: to the local Raft on the leader,
// else to the forward target (forwarded says so).
func (f *Forwarder) applyAttempt(ctx context.Context, buf []byte, hops int) (res any, idx uint64, forwarded bool, err error) {
	if f.local != nil && f.local.IsLeader() {
		if tok := tokenOf(ctx); tok.forwarded && f.authorize != nil {
			if err := f.authorize(tok.secret, buf); err != nil {
				return nil, 0, false, err
			}
		}
		res, idx, err = f.local.ApplyEncoded(ctx, buf)
		return res, idx, false, err
	}
	if hops >= MaxHops {
		return nil, 0, false, fmt.Errorf("%w: forwarded %d times without reaching the leader", errHopLimit, hops)
	}
	addr := f.target()
	if addr == "" {
		return nil, 0, false, errNoTarget
	}
	res, idx, err = f.forwardApply(ctx, addr, buf, hops)
	return res, idx, true, err
}

// forwardApply sends the command to the server at addr.
func (f *Forwarder) forwardApply(ctx context.Context, addr string, buf []byte, hops int) (any, uint64, error) {
	start := time.Now()
	callCtx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	send := f.pool.Apply
	if s := f.send.Load(); s != nil {
		send = *s
	}
	resp, err := send(callCtx, addr, &rpc.ApplyRequest{Command: buf, Hops: hops + 1, Token: tokenOf(ctx).secret})
	forwardDuration.WithLabelValues("apply").Observe(time.Since(start).Seconds())
	if err != nil {
		if rpc.NotSent(err) {
			return nil, 0, fmt.Errorf("%w: %v", raftstore.ErrNotApplied, err)
		}
		// The request may have reached the leader and committed.
		return nil, 0, fmt.Errorf("%w: %v", raftstore.ErrOutcomeUnknown, err)
	}
	if resp.Error != nil {
		return nil, 0, FromWire(resp.Error)
	}
	res, err := raftstore.DecodeResult(raftstore.CommandTypeOf(buf), resp.Result)
	return res, resp.Index, err
}

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
func (f *Forwarder) forward(hops int, what string, fn func(ctx context.Context, addr string) error) error {
	if hops >= MaxHops {
		return fmt.Errorf("%w: forwarded %d times without reaching the leader", errHopLimit, hops)
	}
	forwardedTotal.WithLabelValues(what).Inc()
	deadline := time.Now().Add(HoldTimeout)
	backoff := 20 * time.Millisecond
	var last error
	for {
		addr := f.target()
		if addr != "" {
			ctx, cancel := context.WithTimeout(f.ctx, CallTimeout)
			err := fn(ctx, addr)
			cancel()
			if err == nil || errors.Is(err, raftstore.ErrOutcomeUnknown) {
				return err // done, or must not be sent again
			}
			if !errors.Is(err, errRetry) {
				last = err
			}
		}
		if time.Now().After(deadline) {
			break
		}
		select {
		case <-f.ctx.Done():
			return ErrNoLeader
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 500*time.Millisecond)
	}
	forwardErrors.WithLabelValues(what).Inc()
	return f.noLeader(last)
}

// noLeader is ErrNoLeader with what explains it: the last error of an
// attempt, or a server's own failure to write its log (such a server
// steps down at every write, so that failure is why there is no leader).
func (f *Forwarder) noLeader(last error) error {
	if f.local != nil {
		if ferr := f.local.LogWriteFailure(); ferr != nil {
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

// leaderAnswer turns the error of a read-only call forwarded to the leader
// into errRetry when it reached no leader (safe to repeat), or the error.
func leaderAnswer(e *rpc.Error) error {
	if e != nil && (e.Kind == "no-leader" || e.Kind == "not-leader") {
		return errRetry
	}
	return FromWire(e)
}

// ReadIndex asks the leader for the index a consistent read must wait for.
func (f *Forwarder) ReadIndex(hops int) (uint64, error) {
	var idx uint64
	err := f.forward(hops, "read-index", func(ctx context.Context, addr string) error {
		resp, err := f.pool.ReadIndex(ctx, addr, &rpc.ReadIndexRequest{Hops: hops + 1})
		if err != nil {
			return err
		}
		if err := leaderAnswer(resp.Error); err != nil {
			return err
		}
		idx = resp.Index
		return nil
	})
	return idx, err
}

// RenewSession asks the leader, which runs the TTL timers, to renew one.
func (f *Forwarder) RenewSession(id, token string, hops int) (*structs.Session, error) {
	var s *structs.Session
	err := f.forward(hops, "renew-session", func(ctx context.Context, addr string) error {
		resp, err := f.pool.RenewSession(ctx, addr, &rpc.RenewSessionRequest{ID: id, Hops: hops + 1, Token: token})
		if err != nil {
			return err
		}
		if err := leaderAnswer(resp.Error); err != nil {
			return err
		}
		s = resp.Session
		return nil
	})
	return s, err
}

// Operator sends a Raft operator command to the leader. A command that
// changes the configuration (remove a peer, transfer leadership) whose
// call failed after it may have reached the leader is not sent again: a
// second transfer would move leadership twice, a second removal would
// report an unknown peer for one that worked. It answers
// raftstore.ErrOutcomeUnknown instead.
func (f *Forwarder) Operator(req *rpc.OperatorRequest) (*rpc.OperatorResponse, error) {
	var resp *rpc.OperatorResponse
	changes := req.Op == OpRemovePeer || req.Op == OpTransferLeader
	err := f.forward(req.Hops, "operator", func(ctx context.Context, addr string) error {
		fwd := *req
		fwd.Hops++
		r, err := f.pool.Operator(ctx, addr, &fwd)
		if err != nil {
			if changes && !rpc.NotSent(err) {
				return fmt.Errorf("%w: operator %s: %v", raftstore.ErrOutcomeUnknown, req.Op, err)
			}
			return err
		}
		if r.Error != nil && leaderAnswer(r.Error) == errRetry {
			return errRetry
		}
		resp = r
		return nil
	})
	if err != nil {
		return nil, err
	}
	return resp, FromWire(resp.Error)
}

// Apply encodes a typed command with a new request ID, once (every re-send
// carries it, so it is applied at most once), writes it with send and
// decodes its result.
func Apply[Req, Res any](send func(buf []byte) (any, error), cmd raftstore.Command[Req, Res], req Req) (Res, error) {
	var none Res
	buf, err := cmd.Encode(structs.NewRequestID(), req)
	if err != nil {
		return none, err
	}
	res, err := send(buf)
	if err != nil {
		return none, err
	}
	return cmd.Result(res)
}

// resolveTokenTime bounds a token resolution: when no server answers in
// it, the client's down_policy decides (not the hold time of a write).
const resolveTokenTime = 2 * time.Second

// ResolveToken asks a server what a token is. A server's answer (the token
// or acl.ErrNotFound) is final; when none answers it is ErrNoLeader.
func (f *Forwarder) ResolveToken(secret string) (*structs.ACLToken, []*structs.ACLPolicy, error) {
	deadline := time.Now().Add(resolveTokenTime)
	backoff := 50 * time.Millisecond
	last := errNoTarget
	for time.Now().Before(deadline) {
		if addr := f.target(); addr != "" {
			ctx, cancel := context.WithDeadline(f.ctx, deadline)
			resp, err := f.pool.ResolveToken(ctx, addr, &rpc.ResolveTokenRequest{Token: secret})
			cancel()
			if err == nil {
				forwardedTotal.WithLabelValues("resolve-token").Inc()
				return resp.Token, resp.Policies, FromWire(resp.Error)
			}
			last = err
		}
		select {
		case <-f.ctx.Done():
			return nil, nil, ErrNoLeader
		case <-time.After(backoff):
		}
		backoff *= 2
	}
	forwardErrors.WithLabelValues("resolve-token").Inc()
	return nil, nil, fmt.Errorf("%w: resolve token: %v", ErrNoLeader, last)
}
