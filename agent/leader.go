package agent

import (
	"errors"
	"strconv"
	"time"

	"github.com/hashicorp/raft"

	"github.com/coredns-coord/coredns-coord/gossip"
	"github.com/coredns-coord/coredns-coord/raftstore"
	"github.com/coredns-coord/coredns-coord/structs"
)

// Leader duties run on the server that leads, from the moment Raft says so
// until it stops leading.
const (
	// reconcileInterval bounds how long a missed membership event can stay
	// unreflected in the catalog (Consul: 60 s).
	reconcileInterval = 30 * time.Second
	// reconcileRetry is how soon a reconciliation that failed to write is
	// tried again.
	reconcileRetry = time.Second
	// deadServerStabilization is how long a server must have been failed
	// before autopilot removes it from the Raft configuration.
	deadServerStabilization = 10 * time.Second
	barrierTimeout          = 30 * time.Second
)

// Outputs of the serfHealth check, as Consul's.
const (
	serfAliveOutput  = "Agent alive and reachable"
	serfFailedOutput = "Agent not live or unreachable"
)

func (a *Agent) leadershipLoop() {
	defer a.wg.Done()
	var stop chan struct{}
	var done chan struct{}
	end := func() {
		if stop != nil {
			close(stop)
			<-done
			stop = nil
		}
	}
	for {
		select {
		case <-a.stopCh:
			end()
			return
		case leading := <-a.raft.Leadership():
			if leading && stop == nil {
				stop, done = make(chan struct{}), make(chan struct{})
				go func(stop, done chan struct{}) {
					defer close(done)
					a.leaderLoop(stop)
				}(stop, done)
			} else if !leading {
				end()
			}
		}
	}
}

// leaderLoop establishes leadership (a barrier, so that everything the
// previous leaders committed is applied here), then keeps the catalog in
// step with gossip membership, runs the session TTL timers and removes
// dead servers.
func (a *Agent) leaderLoop(stop chan struct{}) {
	for {
		if err := a.raft.Barrier(barrierTimeout); err == nil {
			break
		} else {
			agentLog.Warningf("leader barrier: %v", err)
		}
		select {
		case <-stop:
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
	a.leaderReady.Store(true)
	defer a.leaderReady.Store(false)
	defer a.sessions.stopAll()
	agentLog.Infof("%s leads the cluster", a.cfg.NodeName)
	a.initAutopilotConfig()

	// Each duty runs when its own input changes: membership on gossip
	// events (and every reconcileInterval, or sooner after a failed write),
	// session timers on changes to the sessions table, autopilot every
	// second.
	reconcile := time.NewTimer(0)
	defer reconcile.Stop()
	autopilot := time.NewTicker(time.Second)
	defer autopilot.Stop()
	failedSince := map[string]time.Time{}
	sessionsChanged := a.syncSessionTimers()
	for {
		select {
		case <-stop:
			return
		case <-a.stopCh:
			return
		case <-a.membersChanged:
		case <-reconcile.C:
		case <-sessionsChanged:
			sessionsChanged = a.syncSessionTimers()
			continue
		case <-autopilot.C:
			a.cleanupDeadServers(failedSince)
			continue
		}
		next := reconcileInterval
		if !a.reconcileMembers() {
			next = reconcileRetry
		}
		reconcile.Reset(next)
	}
}

// reconcileMembers writes the gossip view into the catalog: alive members
// are registered with a passing serfHealth check, failed ones get it
// critical (their instances leave DNS answers and their sessions are
// invalidated), members that left are deregistered, and nodes that gossip
// has forgotten (reaped) are removed. Servers are added to, or removed
// from, the Raft configuration. It reports whether every write succeeded.
func (a *Agent) reconcileMembers() bool {
	ok := true
	members := a.gossip.Members()
	known := make(map[string]bool, len(members))
	for _, m := range members {
		known[m.Name] = true
		var err error
		switch m.Status {
		case gossip.StatusAlive:
			err = a.memberAlive(m)
		case gossip.StatusFailed:
			err = a.memberFailed(m)
		case gossip.StatusLeft:
			err = a.memberGone(m.Name, m)
		}
		if err != nil {
			ok = false
			agentLog.Warningf("reconcile member %s (%s): %v", m.Name, m.Status, err)
		}
	}
	// Reaped: nodes with a serfHealth check that gossip no longer knows.
	// Nodes registered without one (catalog/register) are not ours.
	_, checks, err := a.State().ChecksInState(nil, structs.HealthAny)
	if err != nil {
		return false
	}
	for _, hc := range checks {
		if hc.CheckID == structs.SerfCheckID && !known[hc.Node] {
			if err := a.memberGone(hc.Node, gossip.Member{}); err != nil {
				ok = false
				agentLog.Warningf("reap node %s: %v", hc.Node, err)
			}
		}
	}
	return ok
}

func (a *Agent) memberAlive(m gossip.Member) error {
	if m.Tags[tagRole] == roleServer {
		a.ensureVoter(m)
	}
	addr := m.Addr.String()
	st := a.State()
	_, node, err := st.GetNode(nil, m.Name)
	if err != nil {
		return err
	}
	serf := a.serfCheck(m.Name)
	if node != nil && node.Address == addr && serf != nil && serf.Status == structs.HealthPassing && a.hasConsulService(m) {
		return nil
	}
	return a.Register(a.aliveRegistration(m, node))
}

// aliveRegistration is the leader's write for an alive member whose entry
// (node, as read before) is missing or out of date.
func (a *Agent) aliveRegistration(m gossip.Member, node *structs.Node) *structs.RegisterRequest {
	addr := m.Addr.String()
	port, _ := strconv.Atoi(m.Tags[tagPort])
	req := nodeRegistration(a.cfg.Datacenter, m.Name, m.Tags[tagID], addr, m.Tags[tagRole] == roleServer, port)
	switch {
	case node == nil:
		// The agent may register its own node between that read and this
		// write: create the node if it is still missing, never overwrite
		// what the agent wrote (its meta).
		req.SkipNodeUpdate = true
	case node.Address == addr:
		// An existing node keeps its metadata (set by the agent itself).
		req.SkipNodeUpdate = true
	default:
		// A new address: the agent's meta and locality stay, as Consul's
		// leader keeps them.
		req.NodeMeta, req.Locality = node.Meta, node.Locality
	}
	return req
}

func (a *Agent) hasConsulService(m gossip.Member) bool {
	if m.Tags[tagRole] != roleServer {
		return true
	}
	_, svcs, err := a.State().NodeServices(nil, m.Name)
	if err != nil || svcs == nil {
		return false
	}
	_, ok := svcs.Services[structs.ConsulServiceID]
	return ok
}

func (a *Agent) serfCheck(node string) *structs.HealthCheck {
	_, checks, err := a.State().NodeChecks(nil, node)
	if err != nil {
		return nil
	}
	for _, hc := range checks {
		if hc.CheckID == structs.SerfCheckID {
			return hc
		}
	}
	return nil
}

func (a *Agent) memberFailed(m gossip.Member) error {
	_, node, err := a.State().GetNode(nil, m.Name)
	if err != nil || node == nil {
		return err
	}
	if serf := a.serfCheck(m.Name); serf != nil && serf.Status == structs.HealthCritical {
		return nil
	}
	// SkipNodeUpdate leaves the node as it is; should it have been removed
	// meanwhile, the catalog creates it from these fields, not bare.
	req := nodeRegistration(a.cfg.Datacenter, m.Name, m.Tags[tagID], m.Addr.String(), false, 0)
	req.SkipNodeUpdate = true
	req.Check = serfHealth(m.Name, structs.HealthCritical, serfFailedOutput)
	return a.Register(req)
}

// nodeRegistration is an agent's catalog entry as the leader (or the agent
// itself) writes it: the node at addr with its tagged addresses, a passing
// serfHealth check and, for a server, the "consul" service on its server
// port (as in Consul).
func nodeRegistration(dc, name, id, addr string, server bool, serverPort int) *structs.RegisterRequest {
	req := &structs.RegisterRequest{
		Datacenter: dc,
		ID:         id,
		Node:       name,
		Address:    addr,
		TaggedAddresses: map[string]string{
			"lan": addr, "lan_ipv4": addr, "wan": addr, "wan_ipv4": addr,
		},
		Check: serfHealth(name, structs.HealthPassing, serfAliveOutput),
	}
	if server {
		req.Service = &structs.NodeService{ID: structs.ConsulServiceID, Service: structs.ConsulServiceID, Port: serverPort}
	}
	return req
}

func serfHealth(node, status, output string) *structs.HealthCheck {
	return &structs.HealthCheck{
		Node: node, CheckID: structs.SerfCheckID, Name: structs.SerfCheckName,
		Status: status, Output: output,
	}
}

// memberGone deregisters a node that left or was reaped, and removes a
// server from Raft. The leader never removes itself this way.
func (a *Agent) memberGone(name string, m gossip.Member) error {
	if name == a.cfg.NodeName {
		return nil
	}
	if m.Tags[tagRole] == roleServer {
		a.removeServer(m.Tags[tagID])
	}
	_, node, err := a.State().GetNode(nil, name)
	if err != nil || node == nil {
		return err
	}
	return a.Deregister(&structs.DeregisterRequest{Datacenter: a.cfg.Datacenter, Node: name})
}

// ensureVoter adds an alive server that the Raft configuration lacks (a
// server that joined an existing cluster).
func (a *Agent) ensureVoter(m gossip.Member) {
	id, port := m.Tags[tagID], m.Tags[tagPort]
	if id == "" || port == "" || id == a.raft.ID() {
		return
	}
	addr := m.Addr.String() + ":" + port
	servers, _, err := a.raft.Configuration()
	if err != nil {
		return
	}
	for _, s := range servers {
		if s.ID == id && s.Address == addr {
			return
		}
	}
	if err := a.raft.AddVoter(id, addr); err != nil {
		agentLog.Warningf("add server %s to Raft: %v", m.Name, err)
		return
	}
	agentLog.Infof("added server %s (%s) to Raft", m.Name, addr)
}

func (a *Agent) removeServer(id string) {
	if id == "" || id == a.raft.ID() {
		return
	}
	switch err := a.raft.RemoveServer(id, ""); {
	case errors.Is(err, raftstore.ErrUnknownPeer):
	case err != nil:
		agentLog.Warningf("remove server %s from Raft: %v", id, err)
	default:
		agentLog.Infof("removed server %s from Raft", id)
	}
}

// cleanupDeadServers is autopilot's dead-server cleanup: voters that
// gossip has seen failed (or does not know) for deadServerStabilization
// are removed, as long as fewer than half of the voters are removed, so
// that a partition can never shrink the quorum away.
func (a *Agent) cleanupDeadServers(failedSince map[string]time.Time) {
	ap := a.autopilotConfig()
	if !ap.CleanupDeadServers {
		return
	}
	servers, _, err := a.raft.Configuration()
	if err != nil {
		return
	}
	status := map[string]gossip.Status{}
	for _, s := range a.servers() {
		status[s.ID] = s.Status
	}
	now := time.Now()
	var dead []string
	voters := 0
	for _, s := range servers {
		if !s.Voter {
			continue
		}
		voters++
		st, ok := status[s.ID]
		if s.ID == a.raft.ID() || (ok && st != gossip.StatusFailed) {
			delete(failedSince, s.ID)
			continue
		}
		since, seen := failedSince[s.ID]
		if !seen {
			failedSince[s.ID] = now
			continue
		}
		if now.Sub(since) >= deadServerStabilization {
			dead = append(dead, s.ID)
		}
	}
	if len(dead) == 0 || len(dead)*2 >= voters || voters-len(dead) < int(ap.MinQuorum) {
		return
	}
	for _, id := range dead {
		if err := a.raft.RemoveServer(id, ""); err != nil {
			agentLog.Warningf("autopilot: remove dead server %s: %v", id, err)
			continue
		}
		delete(failedSince, id)
		autopilotRemoved.Inc()
		agentLog.Infof("autopilot: removed dead server %s", id)
	}
}

// maybeBootstrap forms the cluster once bootstrap_expect servers have met
// by gossip, as Consul does: every one of them bootstraps Raft with the same
// list, unless one already belongs to a cluster.
func (a *Agent) maybeBootstrap() {
	if a.raft == nil || a.cfg.BootstrapExpect < 2 || a.raft.HasState() || a.bootstrapped.Load() {
		return
	}
	var peers []serverMember
	for _, s := range a.servers() {
		if s.Status != gossip.StatusAlive {
			continue
		}
		if s.Expect != a.cfg.BootstrapExpect {
			agentLog.Errorf("server %s expects %d servers, this one %d; not bootstrapping", s.Name, s.Expect, a.cfg.BootstrapExpect)
			return
		}
		peers = append(peers, s)
	}
	if len(peers) < a.cfg.BootstrapExpect {
		return
	}
	for _, p := range peers {
		if p.ID == a.nodeID {
			continue
		}
		servers, _, err := a.remoteConfiguration(p.Addr)
		if err != nil {
			agentLog.Warningf("bootstrap: ask %s for its Raft peers: %v", p.Name, err)
			return
		}
		if len(servers) > 0 {
			agentLog.Infof("server %s already belongs to a cluster; waiting to be added", p.Name)
			a.bootstrapped.Store(true)
			return
		}
	}
	conf := make([]raft.Server, 0, len(peers))
	for _, p := range peers {
		conf = append(conf, raft.Server{ID: raft.ServerID(p.ID), Address: raft.ServerAddress(p.Addr), Suffrage: raft.Voter})
	}
	if err := a.raft.BootstrapCluster(conf); err != nil {
		agentLog.Errorf("%v", err)
		return
	}
	a.bootstrapped.Store(true)
	agentLog.Infof("bootstrapped the cluster with %d servers", len(conf))
}
