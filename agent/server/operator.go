package server

import (
	"errors"
	"fmt"

	"github.com/coredns-coord/coredns-coord/agent/cluster"
	"github.com/coredns-coord/coredns-coord/rpc"
)

// raftServers is this server's view of the Raft configuration, with the
// node names gossip knows for the IDs.
func (s *Server) raftServers() ([]rpc.RaftServer, uint64, error) {
	servers, idx, err := s.raft.Configuration()
	if err != nil {
		return nil, 0, err
	}
	leader := s.raft.LeaderID()
	names := map[string]string{}
	for _, m := range cluster.Servers(s.members.Members()) {
		names[m.ID] = m.Name
	}
	out := make([]rpc.RaftServer, 0, len(servers))
	for _, srv := range servers {
		suffrage := "Nonvoter"
		if srv.Voter {
			suffrage = "Voter"
		}
		out = append(out, rpc.RaftServer{
			ID: srv.ID, Node: names[srv.ID], Address: srv.Address,
			Leader: srv.ID == leader, Voter: srv.Voter, Suffrage: suffrage,
		})
	}
	return out, idx, nil
}

// Operator runs a Raft operator command on the leader: here when this
// server leads, else forwarded to it.
func (s *Server) Operator(req *rpc.OperatorRequest) (*rpc.OperatorResponse, error) {
	if !s.raft.IsLeader() {
		return s.fwd.Operator(req)
	}
	switch req.Op {
	case cluster.OpConfiguration:
		servers, idx, err := s.raftServers()
		return &rpc.OperatorResponse{Servers: servers, Index: idx}, err
	case cluster.OpAutopilotHealth:
		servers, err := s.autopilotHealth()
		return &rpc.OperatorResponse{Servers: servers}, err
	case cluster.OpRemovePeer, cluster.OpTransferLeader:
		if s.cfg.AuthorizeOperator != nil {
			if err := s.cfg.AuthorizeOperator(req.Token); err != nil {
				return nil, err
			}
		}
	}
	switch req.Op {
	case cluster.OpRemovePeer:
		if req.ID == s.raft.ID() || (req.ID == "" && req.Address == s.cfg.Addr) {
			return nil, errors.New("agent: the leader cannot remove itself; transfer leadership or stop it first")
		}
		return &rpc.OperatorResponse{}, s.raft.RemoveServer(req.ID, req.Address)
	case cluster.OpTransferLeader:
		return &rpc.OperatorResponse{}, s.raft.TransferLeadership(req.ID)
	case cluster.OpAutopilotConfig:
		c, err := s.autopilotConfiguration()
		return &rpc.OperatorResponse{Autopilot: &c}, err
	}
	return nil, fmt.Errorf("agent: unknown operator command %q", req.Op)
}
