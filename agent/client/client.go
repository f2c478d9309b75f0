// Package client is the client role of an agent: a replica of the state
// streamed from one server at a time, and everything only the leader
// answers (writes, consistent reads, session renewals, operator commands)
// forwarded to a server, which forwards it on. Servers are found in the
// gossip pool by their tags. The agent reads it as a cluster.Role.
package client

import (
	"context"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/coredns-coord/coredns-coord/agent/cluster"
	"github.com/coredns-coord/coredns-coord/gossip"
	"github.com/coredns-coord/coredns-coord/internal/tlsutil"
	"github.com/coredns-coord/coredns-coord/raftstore"
	"github.com/coredns-coord/coredns-coord/rpc"
	"github.com/coredns-coord/coredns-coord/state"
	"github.com/coredns-coord/coredns-coord/structs"
)

// Config is what a client runs with.
type Config struct {
	// RetryJoin are the gossip addresses the agent joins; the warning of
	// a client without a server names them.
	RetryJoin []string
	// SourceIP is the address forwards and subscriptions are sent from.
	SourceIP net.IP
	// TLS, when set, makes connections to servers TLS (verify_outgoing).
	TLS *tlsutil.Configurator
}

// Client is a running client role.
type Client struct {
	cfg Config
	// ctx ends when the agent begins to stop: the loops end with it.
	ctx      context.Context
	replica  *raftstore.Replica
	status   replicaStatus
	fwd      *cluster.Forwarder
	members  cluster.Members
	caughtUp *cluster.CaughtUp

	// serverCache holds the alive servers' addresses until the
	// membership of a server changes, or serverCacheTTL has passed (a
	// member event dropped from a full channel is not seen).
	serverMu      sync.Mutex
	serverCache   []string
	serverCacheAt time.Time
	wg            sync.WaitGroup
}

var _ cluster.Role = (*Client)(nil)

// New is a client with an empty replica; Start starts following a server.
func New(ctx context.Context, cfg Config) *Client {
	c := &Client{cfg: cfg, ctx: ctx, replica: raftstore.NewReplica(), caughtUp: cluster.NewCaughtUp()}
	c.fwd = cluster.NewForwarder(ctx, rpc.NewPool(cfg.SourceIP, cfg.TLS), c.target, nil)
	return c
}

// Start starts the replication and the warning of a client that knows no
// server, finding servers in members.
func (c *Client) Start(members cluster.Members) {
	c.members = members
	c.wg.Add(2)
	go c.replicationLoop()
	go c.warnWithoutServers()
}

// Shutdown waits for the loops (they end with the context New was given)
// and closes the connections to servers.
func (c *Client) Shutdown() error {
	c.wg.Wait()
	c.fwd.Pool().Close()
	return nil
}

// Forwarder is how this client reaches the leader (tests inject faults
// there).
func (c *Client) Forwarder() *cluster.Forwarder { return c.fwd }

// State is the replica's state store.
func (c *Client) State() *state.Store { return c.replica.State() }

// Feed tracks the index the replica is at.
func (c *Client) Feed() *raftstore.Feed { return c.replica.Feed() }

// CaughtUp closes once the replica has applied everything its first
// server had when the client subscribed.
func (c *Client) CaughtUp() <-chan struct{} { return c.caughtUp.Done() }

// Apply forwards a command to a server.
func (c *Client) Apply(ctx context.Context, cmd []byte) (any, uint64, error) {
	return c.fwd.Apply(ctx, cmd, 0)
}

// ReadIndex asks the leader, through a server, for its read index.
func (c *Client) ReadIndex() (uint64, error) { return c.fwd.ReadIndex(0) }

// RenewSession renews a session on the leader, through a server.
func (c *Client) RenewSession(id, token string) (*structs.Session, error) {
	return c.fwd.RenewSession(id, token, 0)
}

// ResolveToken asks a server what a token is.
func (c *Client) ResolveToken(secret string) (*structs.ACLToken, []*structs.ACLPolicy, error) {
	return c.fwd.ResolveToken(secret)
}

// Operator runs a Raft operator command on the leader, through a server.
func (c *Client) Operator(req *rpc.OperatorRequest) (*rpc.OperatorResponse, error) {
	return c.fwd.Operator(req)
}

// MemberChanged drops the cached server list when a server's membership
// changed.
func (c *Client) MemberChanged(m gossip.Member) {
	if !cluster.IsServer(m) {
		return
	}
	c.serverMu.Lock()
	c.serverCache = nil
	c.serverMu.Unlock()
}

// Stats are the replica's freshness.
func (c *Client) Stats() cluster.Stats {
	var lag uint64
	if srv, own := c.status.serverIndex.Load(), c.replica.Index(); srv > own {
		lag = srv - own
	}
	return cluster.Stats{Replica: &cluster.ReplicaStats{LastContact: c.LastContact(), IndexLag: lag}}
}

// serverAddrs are the server ports of the alive servers.
func (c *Client) serverAddrs() []string {
	c.serverMu.Lock()
	defer c.serverMu.Unlock()
	if c.serverCache == nil || time.Since(c.serverCacheAt) > serverCacheTTL {
		c.serverCache, c.serverCacheAt = nil, time.Now()
		for _, s := range cluster.Servers(c.members.Members()) {
			if s.Status == gossip.StatusAlive {
				c.serverCache = append(c.serverCache, s.Addr)
			}
		}
	}
	return c.serverCache
}

// serverCacheTTL bounds how long the server list is used without reading
// the members again.
const serverCacheTTL = 10 * time.Second

// target is a server picked at random ("" when none is known).
func (c *Client) target() string {
	servers := c.serverAddrs()
	if len(servers) == 0 {
		return ""
	}
	return servers[rand.N(len(servers))]
}
