// Package server is the server role of an agent: Raft on the server port
// with the RPC endpoints beside it, the leader's duties (the catalog kept
// in step with gossip membership, session TTL timers, autopilot's
// dead-server cleanup) and bootstrap_expect. The agent reads it as a
// cluster.Role.
package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"

	"github.com/coredns-coord/coredns-coord/agent/cluster"
	"github.com/coredns-coord/coredns-coord/gossip"
	"github.com/coredns-coord/coredns-coord/internal/tlsutil"
	"github.com/coredns-coord/coredns-coord/raftstore"
	"github.com/coredns-coord/coredns-coord/rpc"
	"github.com/coredns-coord/coredns-coord/state"
	"github.com/coredns-coord/coredns-coord/structs"
)

// Config is what a server runs with.
type Config struct {
	NodeName   string
	NodeID     string // also its Raft server ID
	Datacenter string
	// DataDir keeps the Raft log and snapshots; empty keeps them in
	// memory (dev).
	DataDir string
	// BindAddr is the host:port the server port listens on; Addr the one
	// other agents reach it at (Raft and RPC).
	BindAddr string
	Addr     string
	// SourceIP is the address forwards are sent from.
	SourceIP net.IP
	// BootstrapExpect: 1 bootstraps this server alone when it opens; 2 or
	// more forms the cluster once that many servers met by gossip; 0
	// waits to be added to a cluster that exists.
	BootstrapExpect int
	// SnapshotThreshold and SnapshotInterval tune Raft log compaction
	// (zero: raft's defaults).
	SnapshotThreshold uint64
	SnapshotInterval  time.Duration
	// CleanupDeadServers lets the leader remove failed servers from the
	// Raft configuration when the quorum allows (autopilot).
	CleanupDeadServers bool
	// TLS, when set, secures the server port: TLS accepted (demanded
	// under verify_incoming) and used to dial (verify_outgoing).
	TLS *tlsutil.Configurator
	// Authorize checks a write another agent forwarded before this
	// server, leading, applies it (nil: ACLs off).
	Authorize cluster.Authorize
	// ResolveToken answers a client's token resolution from this
	// server's ACL state (nil: ACLs off, every token "ACL not found").
	ResolveToken func(secret string) (*structs.ACLToken, []*structs.ACLPolicy, error)
	// AuthorizeOperator checks operator:write on the token of a Raft
	// operator command that changes the configuration (nil: ACLs off).
	AuthorizeOperator func(secret string) error
	// AuthorizeSession checks session:write on a session's node for a
	// renewal another agent forwarded (nil: ACLs off).
	AuthorizeSession func(secret, id string) error
}

// Server is a running server role.
type Server struct {
	cfg Config
	// ctx ends when the agent begins to stop: the loops end with it.
	ctx       context.Context
	raft      *raftstore.Node
	mux       *rpc.Mux
	rpcServer *grpc.Server
	fwd       *cluster.Forwarder
	members   cluster.Members
	caughtUp  *cluster.CaughtUp

	leaderReady atomic.Bool
	// bootstrapped: the cluster was formed (or found) by bootstrap_expect.
	bootstrapped atomic.Bool
	stable       stableSince
	sessions     sessionTimers
	// sessionsExpired counts the TTL invalidations this server made.
	sessionsExpired atomic.Uint64
	// membersChanged wakes the leader's reconciliation, bootstrapWake a
	// bootstrap attempt.
	membersChanged chan struct{}
	bootstrapWake  chan struct{}
	wg             sync.WaitGroup
}

var _ cluster.Role = (*Server)(nil)

// Open opens the server port and Raft on it; Start starts the rest.
func Open(ctx context.Context, cfg Config) (*Server, error) {
	mux, err := rpc.Listen(cfg.BindAddr, cfg.Addr, cfg.TLS)
	if err != nil {
		return nil, err
	}
	node, err := raftstore.Open(raftstore.Config{
		ID:                cfg.NodeID,
		DataDir:           cfg.DataDir,
		Addr:              cfg.Addr,
		Layer:             mux.RaftLayer(),
		Bootstrap:         cfg.BootstrapExpect == 1,
		SnapshotThreshold: cfg.SnapshotThreshold,
		SnapshotInterval:  cfg.SnapshotInterval,
	})
	if err != nil {
		mux.Close()
		return nil, err
	}
	s := &Server{
		cfg: cfg, ctx: ctx, raft: node, mux: mux,
		caughtUp:       cluster.NewCaughtUp(),
		membersChanged: make(chan struct{}, 1),
		bootstrapWake:  make(chan struct{}, 1),
	}
	s.fwd = cluster.NewForwarder(ctx, rpc.NewPool(cfg.SourceIP, cfg.TLS), s.target, node)
	s.fwd.SetAuthorize(cfg.Authorize)
	s.sessions.expire = s.expireSession
	return s, nil
}

// Start serves the RPC endpoints and starts the leader duties, the
// catch-up and the bootstrap attempts, reading membership from members.
func (s *Server) Start(members cluster.Members) {
	s.members = members
	s.rpcServer = rpc.NewServer(rpcBackend{s})
	go func(srv *grpc.Server) {
		if err := srv.Serve(s.mux.GRPCListener()); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			agentLog.Errorf("rpc server: %v", err)
		}
	}(s.rpcServer)
	s.wg.Add(3)
	go s.leadershipLoop()
	go s.catchUp()
	go s.bootstrapLoop()
}

// Shutdown waits for the loops (they end with the context Open was given)
// and stops RPC, Raft and the server port, in that order.
func (s *Server) Shutdown() error {
	s.wg.Wait()
	s.sessions.stopAll()
	if s.rpcServer != nil {
		s.rpcServer.Stop()
	}
	err := s.raft.Shutdown()
	s.mux.Close()
	s.fwd.Pool().Close()
	return err
}

// Forwarder is how this server reaches the leader (tests inject faults
// there).
func (s *Server) Forwarder() *cluster.Forwarder { return s.fwd }

// IsLeader reports whether this server leads.
func (s *Server) IsLeader() bool { return s.raft.IsLeader() }

// State is the state store the Raft FSM applies to.
func (s *Server) State() *state.Store { return s.raft.State() }

// Feed tracks the index the state is at.
func (s *Server) Feed() *raftstore.Feed { return s.raft.Feed() }

// Leader is the leader's server address, or "".
func (s *Server) Leader() string { return s.raft.Leader() }

// LastContact is the time since this server heard from the leader (0 on
// the leader).
func (s *Server) LastContact() time.Duration { return s.raft.LastContact() }

// CaughtUp closes once this server has applied the read index the leader
// gave it after it started.
func (s *Server) CaughtUp() <-chan struct{} { return s.caughtUp.Done() }

// Apply applies a command on Raft when this server leads, else forwards it
// to the leader.
func (s *Server) Apply(ctx context.Context, cmd []byte) (any, uint64, error) {
	return s.fwd.Apply(ctx, cmd, 0)
}

// write applies a leader duty's command (membership reconciliation,
// session expiry, the first autopilot configuration) on this server's own
// Raft, and fails at once when it does not lead. It never forwards: a
// server that has just lost leadership acts on a stale view (its gossip
// may see healthy nodes as failed across a partition; its session timers
// did not see renewals sent to the new leader), and the new leader's own
// duties do the same work from a current one. A failed duty is retried by
// its loop with a new command.
func (s *Server) write(buf []byte) (any, error) {
	if !s.raft.IsLeader() {
		return nil, fmt.Errorf("%w: leader duty dropped, this server no longer leads", raftstore.ErrNotLeader)
	}
	ctx, cancel := context.WithTimeout(s.ctx, cluster.WriteTimeout)
	defer cancel()
	res, _, err := s.raft.ApplyEncoded(ctx, buf)
	return res, err
}

func (s *Server) register(req *structs.RegisterRequest) error {
	_, err := cluster.Apply(s.write, raftstore.Register, req)
	return err
}

func (s *Server) deregister(req *structs.DeregisterRequest) error {
	_, err := cluster.Apply(s.write, raftstore.Deregister, req)
	return err
}

// ReadIndex is the index a consistent read must wait for, from the leader
// (forwarded there from anywhere else).
func (s *Server) ReadIndex() (uint64, error) { return s.readIndex(0) }

func (s *Server) readIndex(hops int) (uint64, error) {
	if !s.raft.IsLeader() {
		return s.fwd.ReadIndex(hops)
	}
	if !s.leaderReady.Load() {
		return 0, fmt.Errorf("%w: the new leader has not applied its predecessors' log yet", cluster.ErrNoLeader)
	}
	return s.raft.ReadIndex()
}

// RenewSession resets a session's TTL timer on the leader.
// A renewal made on this server was checked by its HTTP API already.
func (s *Server) RenewSession(id, token string) (*structs.Session, error) {
	return s.renewSession(id, token, 0, false)
}

// MemberChanged wakes the leader's reconciliation and a bootstrap attempt.
func (s *Server) MemberChanged(gossip.Member) {
	for _, ch := range []chan struct{}{s.membersChanged, s.bootstrapWake} {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// Stats are this server's Raft figures.
func (s *Server) Stats() cluster.Stats {
	st := s.raft.Stats()
	return cluster.Stats{Raft: &st, SessionsExpired: s.sessionsExpired.Load()}
}

// target is where a write goes: this server when it leads, else the
// leader it knows ("" during an election).
func (s *Server) target() string {
	if s.raft.IsLeader() {
		return s.cfg.Addr
	}
	return s.raft.Leader()
}
