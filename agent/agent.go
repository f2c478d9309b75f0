package agent

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coredns-coord/coredns-coord/agent/local"
	"github.com/coredns-coord/coredns-coord/checks"
	"github.com/coredns-coord/coredns-coord/raftstore"
	"github.com/coredns-coord/coredns-coord/raftstore/state"
	"github.com/coredns-coord/coredns-coord/structs"
)

// HandlerFunc builds the HTTP API for an agent. The agent serves it but does
// not know it, so that the API can depend on the agent and not the reverse.
type HandlerFunc func(*Agent) http.Handler

// Agent is one running coredns-coord agent.
type Agent struct {
	cfg    Config
	nodeID string
	raft   *raftstore.Node

	httpServer *http.Server
	httpAddr   net.Addr

	registered atomic.Bool
	sessions   sessionTimers
	events     eventBuffer

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

	stopCh   chan struct{}
	wg       sync.WaitGroup
	stopOnce sync.Once
}

// Start opens Raft, serves the HTTP API (if cfg.HTTPAddr is set and api is
// not nil) and registers the agent's own node once a leader is known.
func Start(cfg Config, api HandlerFunc) (*Agent, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
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
	a.ConfigureHealth(HealthConfig{CheckUpdateInterval: DefaultCheckUpdateInterval})
	a.local.OnTransition(countTransition)
	a.sessions.expire = a.expireSession
	a.raft, err = raftstore.Open(raftstore.Config{
		ID:        id,
		DataDir:   cfg.DataDir,
		Addr:      cfg.RaftAddr(),
		Bootstrap: cfg.BootstrapExpect == 1,
	})
	if err != nil {
		return nil, err
	}
	if cfg.HTTPAddr != "" && api != nil {
		if err := a.serveHTTP(api(a)); err != nil {
			a.raft.Shutdown()
			return nil, err
		}
	}
	a.wg.Add(1)
	go a.registerSelf()
	return a, nil
}

func (a *Agent) serveHTTP(h http.Handler) error {
	ln, err := net.Listen("tcp", a.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("agent: http listen: %w", err)
	}
	a.httpAddr = ln.Addr()
	a.httpServer = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := a.httpServer.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Printf("[ERROR] coordcatalog: http api: %v", err)
		}
	}()
	return nil
}

// selfRegistration is the agent's own catalog entry: its node, the "consul"
// service every server carries (clients find servers by it, as in Consul),
// and the passing serfHealth check that gossip will own once the cluster
// exists.
func (a *Agent) selfRegistration() *structs.RegisterRequest {
	return &structs.RegisterRequest{
		Datacenter: a.cfg.Datacenter,
		ID:         a.nodeID,
		Node:       a.cfg.NodeName,
		Address:    a.cfg.BindAddr,
		TaggedAddresses: map[string]string{
			"lan": a.cfg.BindAddr, "lan_ipv4": a.cfg.BindAddr,
			"wan": a.cfg.BindAddr, "wan_ipv4": a.cfg.BindAddr,
		},
		NodeMeta: a.cfg.NodeMeta,
		Service:  &structs.NodeService{ID: structs.ConsulServiceID, Service: structs.ConsulServiceID, Port: a.cfg.ServerPort},
		Check: &structs.HealthCheck{
			Node:    a.cfg.NodeName,
			CheckID: structs.SerfCheckID,
			Name:    structs.SerfCheckName,
			Status:  structs.HealthPassing,
			Output:  "Agent alive and reachable",
		},
	}
}

// registerSelf waits for a leader and writes the agent's own entry, retrying
// until it lands or the agent stops.
func (a *Agent) registerSelf() {
	defer a.wg.Done()
	backoff := 50 * time.Millisecond
	for {
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			select {
			case <-a.stopCh:
				cancel()
			case <-ctx.Done():
			}
		}()
		err := a.raft.WaitForLeader(ctx)
		if err == nil {
			err = a.Register(a.selfRegistration())
		}
		cancel()
		if err == nil {
			a.registered.Store(true)
			a.restoreSessionTimers()
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

// Stop shuts the agent down; it is safe to call more than once.
func (a *Agent) Stop() error {
	var err error
	a.stopOnce.Do(func() {
		close(a.stopCh)
		if a.httpServer != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			a.httpServer.Shutdown(ctx)
			cancel()
		}
		a.stopChecks()
		a.wg.Wait()
		a.sessions.stopAll()
		err = a.raft.Shutdown()
	})
	return err
}

// Config is the configuration the agent runs with.
func (a *Agent) Config() Config { return a.cfg }

// NodeID is the agent's node ID.
func (a *Agent) NodeID() string { return a.nodeID }

// HTTPAddr is the address the HTTP API listens on, or nil.
func (a *Agent) HTTPAddr() net.Addr { return a.httpAddr }

// State is the local state store: reads never leave the process.
func (a *Agent) State() *state.Store { return a.raft.State() }

// Ready reports whether a leader is known and the agent's own node is in the
// catalog.
func (a *Agent) Ready() bool { return a.registered.Load() && a.raft.Leader() != "" }

// Leader is the Raft leader's address, or "".
func (a *Agent) Leader() string { return a.raft.Leader() }

// LastContact is how long ago this server heard from the leader.
func (a *Agent) LastContact() time.Duration { return a.raft.LastContact() }

// VerifyLeader confirms leadership, for consistent reads.
func (a *Agent) VerifyLeader() error { return a.raft.VerifyLeader() }

// Peers lists the Raft voters.
func (a *Agent) Peers() ([]string, error) { return a.raft.Peers() }

// Register writes a catalog registration through Raft.
func (a *Agent) Register(req *structs.RegisterRequest) error {
	if req.Datacenter == "" {
		req.Datacenter = a.cfg.Datacenter
	}
	_, err := a.raft.Apply(raftstore.RegisterCommand, req)
	return err
}

// Deregister removes a node, service or check through Raft.
func (a *Agent) Deregister(req *structs.DeregisterRequest) error {
	_, err := a.raft.Apply(raftstore.DeregisterCommand, req)
	return err
}

// KV applies a KV write through Raft; false means a check-and-set failed.
// A refused acquire or release is false with an error wrapping
// state.ErrLockRefused that says why.
func (a *Agent) KV(req *structs.KVRequest) (bool, error) {
	if err := a.lockRefusedEarly(req); err != nil {
		return false, err
	}
	res, err := a.raft.Apply(raftstore.KVCommand, req)
	if err != nil {
		return false, err
	}
	ok, _ := res.(bool)
	return ok, nil
}
