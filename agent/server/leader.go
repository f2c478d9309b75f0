package server

import (
	"errors"
	"strconv"
	"time"

	"github.com/coredns-coord/coredns-coord/agent/cluster"
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
	barrierTimeout = 30 * time.Second
)

// leadershipLoop runs the leader duties while this server leads.
func (s *Server) leadershipLoop() {
	defer s.wg.Done()
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
		case <-s.ctx.Done():
			end()
			return
		case leading := <-s.raft.Leadership():
			if leading && stop == nil {
				stop, done = make(chan struct{}), make(chan struct{})
				go func(stop, done chan struct{}) {
					defer close(done)
					s.leaderLoop(stop)
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
func (s *Server) leaderLoop(stop chan struct{}) {
	for {
		if err := s.raft.Barrier(barrierTimeout); err == nil {
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
	s.leaderReady.Store(true)
	defer s.leaderReady.Store(false)
	defer s.sessions.stopAll()
	agentLog.Infof("%s leads the cluster", s.cfg.NodeName)
	s.initAutopilotConfig()

	// Each duty runs when its own input changes: membership on gossip
	// events (and every reconcileInterval, or sooner after a failed write),
	// session timers on changes to the sessions table, autopilot every
	// second.
	reconcile := time.NewTimer(0)
	defer reconcile.Stop()
	autopilot := time.NewTicker(time.Second)
	defer autopilot.Stop()
	failedSince := map[string]time.Time{}
	// A renewal racing the end of an earlier term may have left a timer
	// behind; start the term with none, so that every session gets one.
	s.sessions.stopAll()
	sessionsChanged := s.syncSessionTimers()
	for {
		select {
		case <-stop:
			return
		case <-s.ctx.Done():
			return
		case <-s.membersChanged:
		case <-reconcile.C:
		case <-sessionsChanged:
			sessionsChanged = s.syncSessionTimers()
			continue
		case <-autopilot.C:
			s.cleanupDeadServers(failedSince)
			continue
		}
		// select picks at random among ready cases: never reconcile once
		// the term has ended.
		select {
		case <-stop:
			return
		default:
		}
		next := reconcileInterval
		if !s.reconcileMembers() {
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
func (s *Server) reconcileMembers() bool {
	ok := true
	members := s.members.Members()
	known := make(map[string]bool, len(members))
	for _, m := range members {
		if !s.raft.IsLeader() {
			return false // the term ended: the new leader reconciles
		}
		known[m.Name] = true
		var err error
		switch m.Status {
		case gossip.StatusAlive:
			err = s.memberAlive(m)
		case gossip.StatusFailed:
			err = s.memberFailed(m)
		case gossip.StatusLeft:
			err = s.memberGone(m.Name, m)
		}
		if err != nil {
			ok = false
			agentLog.Warningf("reconcile member %s (%s): %v", m.Name, m.Status, err)
		}
	}
	// Reaped: nodes with a serfHealth check that gossip no longer knows.
	// Nodes registered without one (catalog/register) are not ours.
	_, checks, err := s.State().ChecksInState(nil, structs.HealthAny)
	if err != nil {
		return false
	}
	for _, hc := range checks {
		if hc.CheckID == structs.SerfCheckID && !known[hc.Node] {
			if err := s.memberGone(hc.Node, gossip.Member{}); err != nil {
				ok = false
				agentLog.Warningf("reap node %s: %v", hc.Node, err)
			}
		}
	}
	return ok
}

func (s *Server) memberAlive(m gossip.Member) error {
	if cluster.IsServer(m) {
		s.ensureVoter(m)
	}
	addr := m.Addr.String()
	st := s.State()
	_, node, err := st.GetNode(nil, m.Name)
	if err != nil {
		return err
	}
	serf := s.serfCheck(m.Name)
	if node != nil && node.Address == addr && serf != nil && serf.Status == structs.HealthPassing && s.hasConsulService(m) {
		return nil
	}
	return s.register(s.aliveRegistration(m, node))
}

// aliveRegistration is the leader's write for an alive member whose entry
// (node, as read before) is missing or out of date.
func (s *Server) aliveRegistration(m gossip.Member, node *structs.Node) *structs.RegisterRequest {
	addr := m.Addr.String()
	port, _ := strconv.Atoi(m.Tags[cluster.TagPort])
	req := cluster.NodeRegistration(s.cfg.Datacenter, m.Name, m.Tags[cluster.TagID], addr, cluster.IsServer(m), port)
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

func (s *Server) hasConsulService(m gossip.Member) bool {
	if !cluster.IsServer(m) {
		return true
	}
	_, svcs, err := s.State().NodeServices(nil, m.Name)
	if err != nil || svcs == nil {
		return false
	}
	_, ok := svcs.Services[structs.ConsulServiceID]
	return ok
}

func (s *Server) serfCheck(node string) *structs.HealthCheck {
	_, checks, err := s.State().NodeChecks(nil, node)
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

func (s *Server) memberFailed(m gossip.Member) error {
	_, node, err := s.State().GetNode(nil, m.Name)
	if err != nil || node == nil {
		return err
	}
	if serf := s.serfCheck(m.Name); serf != nil && serf.Status == structs.HealthCritical {
		return nil
	}
	// SkipNodeUpdate leaves the node as it is; should it have been removed
	// meanwhile, the catalog creates it from these fields, not bare.
	req := cluster.NodeRegistration(s.cfg.Datacenter, m.Name, m.Tags[cluster.TagID], m.Addr.String(), false, 0)
	req.SkipNodeUpdate = true
	req.Check = cluster.SerfHealth(m.Name, structs.HealthCritical, cluster.SerfFailedOutput)
	return s.register(req)
}

// memberGone deregisters a node that left or was reaped, and removes a
// server from Raft. The leader never removes itself this way.
func (s *Server) memberGone(name string, m gossip.Member) error {
	if name == s.cfg.NodeName {
		return nil
	}
	if cluster.IsServer(m) {
		s.removeServer(m.Tags[cluster.TagID])
	}
	_, node, err := s.State().GetNode(nil, name)
	if err != nil || node == nil {
		return err
	}
	return s.deregister(&structs.DeregisterRequest{Datacenter: s.cfg.Datacenter, Node: name})
}

// ensureVoter adds an alive server that the Raft configuration lacks (a
// server that joined an existing cluster).
func (s *Server) ensureVoter(m gossip.Member) {
	id, port := m.Tags[cluster.TagID], m.Tags[cluster.TagPort]
	if id == "" || port == "" || id == s.raft.ID() {
		return
	}
	addr := m.Addr.String() + ":" + port
	servers, _, err := s.raft.Configuration()
	if err != nil {
		return
	}
	for _, srv := range servers {
		if srv.ID == id && srv.Address == addr {
			return
		}
	}
	if err := s.raft.AddVoter(id, addr); err != nil {
		agentLog.Warningf("add server %s to Raft: %v", m.Name, err)
		return
	}
	agentLog.Infof("added server %s (%s) to Raft", m.Name, addr)
}

func (s *Server) removeServer(id string) {
	if id == "" || id == s.raft.ID() {
		return
	}
	switch err := s.raft.RemoveServer(id, ""); {
	case errors.Is(err, raftstore.ErrUnknownPeer):
	case err != nil:
		agentLog.Warningf("remove server %s from Raft: %v", id, err)
	default:
		agentLog.Infof("removed server %s from Raft", id)
	}
}
