package agent

import (
	"context"
	"fmt"
	"maps"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"

	"github.com/coredns-coord/coredns-coord/agent/local"
	"github.com/coredns-coord/coredns-coord/checks"
	"github.com/coredns-coord/coredns-coord/gossip"
	"github.com/coredns-coord/coredns-coord/raftstore"
	"github.com/coredns-coord/coredns-coord/raftstore/state"
	"github.com/coredns-coord/coredns-coord/rpc"
	"github.com/coredns-coord/coredns-coord/structs"
)

// HandlerFunc builds the HTTP API for an agent. The agent serves it but does
// not know it, so that the API can depend on the agent and not the reverse:
// the composition root (cmd/coredns-coord) passes httpapi.New.
type HandlerFunc func(*Agent) http.Handler

// Agent is one running coredns-coord agent: a server (Raft on the server
// port) or a client (a replica streamed from the servers), in the LAN
// gossip pool either way.
type Agent struct {
	cfg    Config
	nodeID string

	// Servers: raft, the server port and its RPC service.
	raft        *raftstore.Node
	mux         *rpc.Mux
	rpcServer   *grpc.Server
	leaderReady atomic.Bool
	// caughtUp closes once the state holds what was committed before
	// start (see CaughtUp), on a server or a client alike.
	caughtUp     chan struct{}
	caughtUpOnce sync.Once
	// bootstrapped: the cluster was formed (or found) by bootstrap_expect.
	bootstrapped atomic.Bool
	stable       stableSince

	// Clients: the replicated state and its freshness.
	replica      *raftstore.Replica
	replicaState replicaStatus

	pool *rpc.Pool
	// sendApply replaces pool.Apply when set: tests inject faults there.
	sendApply      atomic.Pointer[applyFunc]
	gossip         *gossip.Pool
	membersChanged chan struct{}
	left           atomic.Bool
	serverMu       sync.Mutex
	serverCache    []string

	httpServer *http.Server
	httpAddr   net.Addr

	registered atomic.Bool
	sessions   sessionTimers
	events     eventBuffer
	tokens     tokenStore

	invalidatedAPI, invalidatedTTL atomic.Uint64

	// local holds the services and checks this agent runs; healthMu
	// serialises changes to them and their runners.
	local    *local.State
	healthMu sync.Mutex
	health   atomic.Pointer[HealthConfig]
	runners  map[string]checks.Check
	reaperMu sync.Mutex
	reapers  map[string]*time.Timer
	syncOnce sync.Once
	reloadMu sync.Mutex

	stopCh chan struct{}
	// stopCtx ends with stopCh: calls in flight (forwards, waits) end
	// when the agent stops, instead of holding Stop up.
	stopCtx    context.Context
	stopCancel context.CancelFunc
	wg         sync.WaitGroup
	stopOnce   sync.Once
}

// Start opens Raft (servers) or the replica (clients), joins the gossip
// pool, serves the HTTP API (if cfg.HTTPAddr is set and api is not nil)
// and registers the agent's own node once a leader is known.
func Start(cfg Config, api HandlerFunc) (*Agent, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// Before anything logs (the gossip logger keeps the writer it is
	// given), so that agent/monitor sees the agent's whole log.
	installLogTap()
	id, err := cfg.loadNodeID()
	if err != nil {
		return nil, err
	}
	a := &Agent{
		cfg:            cfg,
		nodeID:         id,
		local:          local.New(cfg.NodeName),
		runners:        map[string]checks.Check{},
		reapers:        map[string]*time.Timer{},
		stopCh:         make(chan struct{}),
		pool:           rpc.NewPool(net.ParseIP(cfg.BindAddr)),
		membersChanged: make(chan struct{}, 1),
		caughtUp:       make(chan struct{}),
	}
	a.stopCtx, a.stopCancel = context.WithCancel(context.Background())
	a.ConfigureHealth(HealthConfig{CheckUpdateInterval: DefaultCheckUpdateInterval})
	a.local.OnTransition(countTransition)
	a.local.SetNodeInfo(a.selfRegistration())
	a.sessions.expire = a.expireSession
	if cfg.Server {
		err = a.startServer()
	} else {
		a.replica = raftstore.NewReplica()
	}
	if err == nil {
		err = a.startGossip()
	}
	if err == nil && a.rpcServer != nil {
		a.serveRPC()
	}
	if err == nil && cfg.HTTPAddr != "" && api != nil {
		err = a.serveHTTP(api(a))
	}
	if err != nil {
		a.Stop()
		return nil, err
	}
	if a.replica != nil {
		a.wg.Add(1)
		go a.replicationLoop()
	}
	a.wg.Add(1)
	go a.registerSelf()
	return a, nil
}

// ConsulVersion is the Consul release whose API and catalog this agent
// follows; the agent's node carries it as its consul-version meta, as a
// Consul agent's node does.
const ConsulVersion = "1.16.1"

// Node meta keys every Consul agent sets on its own node. We have no
// network segments, so the segment is "", Consul's default segment.
const (
	MetaSegmentKey       = "consul-network-segment"
	MetaConsulVersionKey = "consul-version"
)

// selfRegistration is the agent's own catalog entry: its node, the "consul"
// service every server carries (as in Consul), and a passing serfHealth
// check (the leader turns it critical when gossip declares the node
// failed). The node's meta is the configured node_meta with the keys a
// Consul agent adds.
func (a *Agent) selfRegistration() *structs.RegisterRequest {
	req := nodeRegistration(a.cfg.Datacenter, a.cfg.NodeName, a.nodeID, a.cfg.Advertise(), a.cfg.Server, a.cfg.ServerPort)
	meta := make(map[string]string, len(a.cfg.NodeMeta)+2)
	maps.Copy(meta, a.cfg.NodeMeta)
	meta[MetaSegmentKey] = ""
	meta[MetaConsulVersionKey] = ConsulVersion
	req.NodeMeta = meta
	return req
}

// registerSelf waits for a leader and writes the agent's own entry, retrying
// until it lands or the agent stops.
func (a *Agent) registerSelf() {
	defer a.wg.Done()
	backoff := 50 * time.Millisecond
	for {
		err := a.waitForLeader(a.stopCtx)
		if err == nil {
			err = a.Register(a.selfRegistration())
		}
		if err == nil {
			a.registered.Store(true)
			return
		}
		select {
		case <-a.stopCh:
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// Stop shuts the agent down; it is safe to call more than once. A client
// leaves the gossip pool first (its node is deregistered, as Consul's
// leave_on_terminate); a server does not, so that it stays in the Raft
// configuration and rejoins when it restarts.
func (a *Agent) Stop() error {
	var err error
	a.stopOnce.Do(func() {
		if a.gossip != nil && !a.cfg.Server {
			a.Leave()
		}
		close(a.stopCh)
		a.stopCancel()
		if a.httpServer != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			a.httpServer.Shutdown(ctx)
			cancel()
		}
		a.stopChecks()
		a.wg.Wait()
		a.sessions.stopAll()
		if a.gossip != nil {
			a.gossip.Shutdown()
		}
		if a.raft != nil {
			err = a.stopServer()
		}
		a.pool.Close()
	})
	return err
}

// Config is the configuration the agent runs with.
func (a *Agent) Config() Config { return a.cfg }

// NodeID is the agent's node ID.
func (a *Agent) NodeID() string { return a.nodeID }

// HTTPAddr is the address the HTTP API listens on, or nil.
func (a *Agent) HTTPAddr() net.Addr { return a.httpAddr }

// State is the local state store (a server's, or a client's replica):
// reads never leave the process.
func (a *Agent) State() *state.Store {
	if a.raft != nil {
		return a.raft.State()
	}
	return a.replica.State()
}

// feed tracks the index the local state is at.
func (a *Agent) feed() *raftstore.Feed {
	if a.raft != nil {
		return a.raft.Feed()
	}
	return a.replica.Feed()
}

// IsServer reports whether this agent runs Raft.
func (a *Agent) IsServer() bool { return a.raft != nil }

// Ready reports whether a leader is known, the agent's own node is in the
// catalog and the local state has caught up (see CaughtUp).
func (a *Agent) Ready() bool {
	return a.registered.Load() && a.Leader() != "" && a.CaughtUp()
}

// Leader is the Raft leader's server address, or "".
func (a *Agent) Leader() string {
	if a.raft != nil {
		return a.raft.Leader()
	}
	return a.replicaLeader()
}

// waitForLeader blocks until a leader is known or ctx ends.
func (a *Agent) waitForLeader(ctx context.Context) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for a.Leader() == "" {
		select {
		case <-ctx.Done():
			return fmt.Errorf("agent: no leader: %w", ctx.Err())
		case <-t.C:
		}
	}
	return nil
}

// LastContact is how long ago this agent's copy was known current: a
// server's time since it heard from the leader, a client's time since its
// last update plus its server's.
func (a *Agent) LastContact() time.Duration {
	if a.raft != nil {
		return a.raft.LastContact()
	}
	return a.replicaLastContact()
}

// Peers lists the Raft voters' addresses.
func (a *Agent) Peers() ([]string, error) {
	servers, _, err := a.RaftConfiguration()
	if err != nil {
		return nil, err
	}
	out := []string{}
	for _, s := range servers {
		if s.Voter {
			out = append(out, s.Address)
		}
	}
	return out, nil
}

// Register writes a catalog registration through Raft.
func (a *Agent) Register(req *structs.RegisterRequest) error {
	if req.Datacenter == "" {
		req.Datacenter = a.cfg.Datacenter
	}
	_, err := apply(a, raftstore.Register, req)
	return err
}

// Deregister removes a node, service or check through Raft.
func (a *Agent) Deregister(req *structs.DeregisterRequest) error {
	_, err := apply(a, raftstore.Deregister, req)
	return err
}

// KV applies a KV write through Raft; false means a check-and-set failed.
// A refused acquire or release is false with an error wrapping
// state.ErrLockRefused that says why.
func (a *Agent) KV(req *structs.KVRequest) (bool, error) {
	if err := a.lockRefusedEarly(req); err != nil {
		return false, err
	}
	return apply(a, raftstore.KV, req)
}
