package agent

import (
	"context"
	"maps"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coredns-coord/coredns-coord/agent/cluster"
	"github.com/coredns-coord/coredns-coord/agent/local"
	"github.com/coredns-coord/coredns-coord/checks"
	"github.com/coredns-coord/coredns-coord/gossip"
	"github.com/coredns-coord/coredns-coord/internal/tlsutil"
	"github.com/coredns-coord/coredns-coord/raftstore"
	"github.com/coredns-coord/coredns-coord/structs"
)

// HandlerFunc builds the HTTP API for an agent. The agent serves it but does
// not know it, so that the API can depend on the agent and not the reverse:
// the composition root (cmd/coredns-coord) passes httpapi.New.
type HandlerFunc func(*Agent) http.Handler

// Agent is one running coredns-coord agent. Its role (a server or a
// client, see cluster.Role) holds the state and the way to the leader; the
// agent holds what every agent has: the LAN gossip pool, the HTTP
// listener, its own catalog entry, and the services and checks it runs.
type Agent struct {
	cfg    Config
	nodeID string
	// debugEndpoints: the HTTP API serves /debug/pprof (enable_debug; a
	// Corefile reload changes it).
	debugEndpoints atomic.Bool

	role   cluster.Role
	gossip *gossip.Pool
	left   atomic.Bool

	httpServer *http.Server
	httpAddr   net.Addr
	httpsAddr  net.Addr
	// tls holds the certificates (nil without a tls block).
	tls   *tlsutil.Configurator
	tlsMu sync.Mutex // ReloadTLS and ReloadTLSFiles, one at a time

	registered atomic.Bool
	events     eventBuffer
	tokens     tokenStore
	acls       aclResolver
	// clientTokens: a client's tokens, resolved through a server.
	clientTokens clientTokens

	// sessionsDestroyed counts the sessions destroyed through this agent.
	sessionsDestroyed atomic.Uint64

	// local holds the services and checks this agent runs; localMu
	// serialises changes to them and their runners.
	local    *local.State
	localMu  sync.Mutex
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

// Start opens its role (a server's Raft, a client's replica), joins the
// gossip pool, serves the HTTP API (on cfg.HTTPAddr and cfg.HTTPSAddr,
// those set, when api is not nil) and registers the agent's own node once a leader is known.
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
		cfg:     cfg,
		nodeID:  id,
		local:   local.New(cfg.NodeName),
		runners: map[string]checks.Check{},
		reapers: map[string]*time.Timer{},
		stopCh:  make(chan struct{}),
	}
	a.stopCtx, a.stopCancel = context.WithCancel(context.Background())
	a.ConfigureHealth(HealthConfig{CheckUpdateInterval: DefaultCheckUpdateInterval})
	a.setConfiguredTokens()
	a.local.OnTransition(countTransition)
	a.local.SetNodeInfo(a.selfRegistration())
	a.tls, err = openTLS(cfg)
	if err == nil {
		a.role, err = openRole(a.stopCtx, cfg, id, a.tls, a.serverACLs())
	}
	if err == nil {
		err = a.startGossip()
	}
	if err == nil {
		a.role.Start(a.gossip)
	}
	if err == nil && (cfg.HTTPAddr != "" || cfg.HTTPSAddr != "") && api != nil {
		err = a.serveHTTP(api(a))
	}
	if err != nil {
		a.Stop()
		return nil, err
	}
	a.wg.Add(1)
	go a.registerSelf()
	if cfg.ACL.Enabled && cfg.Server {
		a.wg.Add(1)
		go a.initACLs()
	}
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
	req := cluster.NodeRegistration(a.cfg.Datacenter, a.cfg.NodeName, a.nodeID, a.cfg.Advertise(), a.cfg.Server, a.cfg.ServerPort)
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
		if a.role != nil {
			err = a.role.Shutdown()
		}
		if a.gossip != nil {
			a.gossip.Shutdown()
		}
	})
	return err
}

// Config is the configuration the agent runs with.
func (a *Agent) Config() Config { return a.cfg }

// NodeID is the agent's node ID.
func (a *Agent) NodeID() string { return a.nodeID }

// HTTPAddr is the address the HTTP API listens on, or nil.
func (a *Agent) HTTPAddr() net.Addr { return a.httpAddr }

// HTTPSAddr is the address the HTTPS API listens on, or nil.
func (a *Agent) HTTPSAddr() net.Addr { return a.httpsAddr }

// Ready reports whether a leader is known, the agent's own node is in the
// catalog and the local state has caught up (see CaughtUp).
func (a *Agent) Ready() bool {
	return a.registered.Load() && a.Leader() != "" && a.CaughtUp()
}

// Register writes a catalog registration through Raft.
func (w Writer) Register(req *structs.RegisterRequest) error {
	a := w.a
	if req.Datacenter == "" {
		req.Datacenter = a.cfg.Datacenter
	}
	_, err := apply(w, raftstore.Register, req)
	return err
}

// Deregister removes a node, service or check through Raft.
func (w Writer) Deregister(req *structs.DeregisterRequest) error {
	_, err := apply(w, raftstore.Deregister, req)
	return err
}
