package cluster

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/coredns-coord/coredns-coord/gossip"
	"github.com/coredns-coord/coredns-coord/raftstore"
	"github.com/coredns-coord/coredns-coord/rpc"
	"github.com/coredns-coord/coredns-coord/state"
	"github.com/coredns-coord/coredns-coord/structs"
)

// Role is a server or a client, as the agent (and through it the HTTP API
// and the DNS plugin) sees it: a local state store and how current it is,
// and a way to the leader for what only the leader answers. A role is
// opened with a context that ends when the agent begins to stop (calls in
// flight end then), started once the gossip pool exists, and shut down
// after the agent's own loops, before the gossip pool.
type Role interface {
	// State is the local state store; reads never leave the process.
	State() *state.Store
	// Feed tracks the index the state is at: waits for an index, and
	// snapshots of the state at one.
	Feed() *raftstore.Feed
	// Leader is the Raft leader's server address, or "".
	Leader() string
	// LastContact is how long ago the state was known current.
	LastContact() time.Duration
	// CaughtUp closes once the state holds every write the cluster had
	// committed when the role started.
	CaughtUp() <-chan struct{}

	// Apply writes an encoded command through Raft, on the leader (this
	// server, or the one it is forwarded to) and returns its result and
	// log index.
	Apply(ctx context.Context, cmd []byte) (any, uint64, error)
	// ReadIndex is the index a linearizable read must wait for.
	ReadIndex() (uint64, error)
	// RenewSession resets a session's TTL timer on the leader; nil when
	// the session does not exist.
	// token is the request's SecretID (session:write on the session's
	// node, checked by the leader when it comes over the server port).
	RenewSession(id, token string) (*structs.Session, error)
	// Operator runs a Raft operator command on the leader.
	Operator(req *rpc.OperatorRequest) (*rpc.OperatorResponse, error)

	// Start starts the role's loops, reading membership from members.
	Start(members Members)
	// MemberChanged is told of every change in the gossip pool.
	MemberChanged(m gossip.Member)
	// Stats are the role's figures, for the metrics.
	Stats() Stats
	// Shutdown waits for the role's loops (which end with the context it
	// was opened with) and closes what it holds.
	Shutdown() error
}

// Members is the gossip pool's view of its members (a *gossip.Pool).
type Members interface {
	Members() []gossip.Member
}

// Stats are a role's figures at scrape time. A server fills Raft, a
// client Replica.
type Stats struct {
	Raft    *raftstore.Stats
	Replica *ReplicaStats
	// SessionsExpired counts the sessions this agent invalidated because
	// their TTL lapsed (the leader's timers do).
	SessionsExpired uint64
}

// ReplicaStats is a client's replica freshness.
type ReplicaStats struct {
	// LastContact: the time since its last update plus its server's own
	// time since it heard from the leader.
	LastContact time.Duration
	// IndexLag: log entries the replica is behind its server's last
	// report.
	IndexLag uint64
}

// CaughtUp is closed once, when a role's state has caught up.
type CaughtUp struct {
	once sync.Once
	ch   chan struct{}
}

// NewCaughtUp is an open latch.
func NewCaughtUp() *CaughtUp { return &CaughtUp{ch: make(chan struct{})} }

// Mark closes the latch; later calls do nothing.
func (c *CaughtUp) Mark() { c.once.Do(func() { close(c.ch) }) }

// Done is closed once Mark was called.
func (c *CaughtUp) Done() <-chan struct{} { return c.ch }

// ConsistentRead makes r's next local read linearizable: it learns the
// leader's read index and waits until r's state has applied it.
func ConsistentRead(ctx context.Context, r Role) error {
	idx, err := r.ReadIndex()
	if err != nil {
		return err
	}
	if err := r.Feed().WaitFor(ctx, idx); err != nil {
		return fmt.Errorf("agent: wait for index %d: %w", idx, err)
	}
	return nil
}
