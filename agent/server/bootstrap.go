package server

import (
	"context"
	"time"

	"github.com/hashicorp/raft"

	"github.com/coredns-coord/coredns-coord/agent/cluster"
	"github.com/coredns-coord/coredns-coord/gossip"
	"github.com/coredns-coord/coredns-coord/rpc"
)

// bootstrapLoop tries to form the cluster every second and whenever the
// membership changes, until it is formed (bootstrap_expect of 2 or more;
// a lone server bootstraps itself when Raft opens).
func (s *Server) bootstrapLoop() {
	defer s.wg.Done()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-s.bootstrapWake:
		case <-tick.C:
		}
		s.maybeBootstrap()
	}
}

// maybeBootstrap forms the cluster once bootstrap_expect servers have met
// by gossip, as Consul does: every one of them bootstraps Raft with the same
// list, unless one already belongs to a cluster.
func (s *Server) maybeBootstrap() {
	if s.cfg.BootstrapExpect < 2 || s.raft.HasState() || s.bootstrapped.Load() {
		return
	}
	var peers []cluster.ServerMember
	for _, m := range cluster.Servers(s.members.Members()) {
		if m.Status != gossip.StatusAlive {
			continue
		}
		if m.Expect != s.cfg.BootstrapExpect {
			agentLog.Errorf("server %s expects %d servers, this one %d; not bootstrapping", m.Name, m.Expect, s.cfg.BootstrapExpect)
			return
		}
		peers = append(peers, m)
	}
	if len(peers) < s.cfg.BootstrapExpect {
		return
	}
	for _, p := range peers {
		if p.ID == s.cfg.NodeID {
			continue
		}
		servers, _, err := s.remoteConfiguration(p.Addr)
		if err != nil {
			agentLog.Warningf("bootstrap: ask %s for its Raft peers: %v", p.Name, err)
			return
		}
		if len(servers) > 0 {
			agentLog.Infof("server %s already belongs to a cluster; waiting to be added", p.Name)
			s.bootstrapped.Store(true)
			return
		}
	}
	conf := make([]raft.Server, 0, len(peers))
	for _, p := range peers {
		conf = append(conf, raft.Server{ID: raft.ServerID(p.ID), Address: raft.ServerAddress(p.Addr), Suffrage: raft.Voter})
	}
	if err := s.raft.BootstrapCluster(conf); err != nil {
		agentLog.Errorf("%v", err)
		return
	}
	s.bootstrapped.Store(true)
	agentLog.Infof("bootstrapped the cluster with %d servers", len(conf))
}

// remoteConfiguration asks the server at addr for its own Raft
// configuration.
func (s *Server) remoteConfiguration(addr string) ([]rpc.RaftServer, uint64, error) {
	ctx, cancel := context.WithTimeout(s.ctx, cluster.CallTimeout)
	defer cancel()
	resp, err := s.fwd.Pool().Operator(ctx, addr, &rpc.OperatorRequest{Op: cluster.OpLocalConfiguration})
	if err != nil {
		return nil, 0, err
	}
	return resp.Servers, resp.Index, cluster.FromWire(resp.Error)
}
