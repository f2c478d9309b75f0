package agent

import (
	"errors"

	"github.com/coredns-coord/coredns-coord/agent/cluster"
	"github.com/coredns-coord/coredns-coord/rpc"
)

// RaftConfiguration lists the Raft servers (operator/raft/configuration),
// as the leader sees them.
func (a *Agent) RaftConfiguration() ([]rpc.RaftServer, uint64, error) {
	resp, err := a.role.Operator(&rpc.OperatorRequest{Op: cluster.OpConfiguration})
	if err != nil {
		return nil, 0, err
	}
	return resp.Servers, resp.Index, nil
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

// RemovePeer removes a server from the Raft configuration by ID or address.
// The leader checks operator:write on the token.
func (w Writer) RemovePeer(id, address string) error {
	if id == "" && address == "" {
		return errors.New("agent: remove-peer needs an ID or an address")
	}
	_, err := w.a.role.Operator(&rpc.OperatorRequest{Op: cluster.OpRemovePeer, ID: id, Address: address, Token: w.token})
	return err
}

// AutopilotHealth reports every server's health as the leader sees it and
// the cluster's failure tolerance (healthy voters beyond the quorum).
func (a *Agent) AutopilotHealth() (servers []rpc.RaftServer, healthy bool, tolerance int, err error) {
	resp, err := a.role.Operator(&rpc.OperatorRequest{Op: cluster.OpAutopilotHealth})
	if err != nil {
		return nil, false, 0, err
	}
	voters, healthyVoters := 0, 0
	healthy = true
	for _, s := range resp.Servers {
		if !s.Healthy {
			healthy = false
		}
		if s.Voter {
			voters++
			if s.Healthy {
				healthyVoters++
			}
		}
	}
	return resp.Servers, healthy, max(0, healthyVoters-(voters/2+1)), nil
}
