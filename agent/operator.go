package agent

import (
	"errors"

	"github.com/coredns-coord/coredns-coord/agent/cluster"
	"github.com/coredns-coord/coredns-coord/raftstore"
	"github.com/coredns-coord/coredns-coord/rpc"
	"github.com/coredns-coord/coredns-coord/structs"
)

// TransferLeader hands Raft leadership to the server with ID id, or to any
// up-to-date server when id is empty (operator/raft/transfer-leader).
// The leader checks operator:write on the token.
func (w Writer) TransferLeader(id string) error {
	_, err := w.a.role.Operator(&rpc.OperatorRequest{Op: cluster.OpTransferLeader, ID: id, Token: w.token})
	return err
}

// AutopilotConfiguration is the cluster's autopilot configuration, as the
// leader has it (a client's replica is not sure to hold it; see state's
// snapshotTables).
func (a *Agent) AutopilotConfiguration() (structs.AutopilotConfig, error) {
	resp, err := a.role.Operator(&rpc.OperatorRequest{Op: cluster.OpAutopilotConfig})
	if err != nil {
		return structs.AutopilotConfig{}, err
	}
	if resp.Autopilot == nil {
		return structs.AutopilotConfig{}, errors.New("agent: the leader sent no autopilot configuration")
	}
	return *resp.Autopilot, nil
}

// SetAutopilotConfiguration writes the autopilot configuration through
// Raft; with cas, only if the stored one is still at index casIndex. It
// reports whether it was written.
func (w Writer) SetAutopilotConfiguration(c structs.AutopilotConfig, cas bool, casIndex uint64) (bool, error) {
	return apply(w, raftstore.Autopilot, &structs.AutopilotRequest{Config: c, CAS: cas, CASIndex: casIndex})
}

// RaftStats are this server's Raft figures (info, debug); ok is false on a
// client.
func (a *Agent) RaftStats() (stats raftstore.Stats, ok bool) {
	if st := a.role.Stats().Raft; st != nil {
		return *st, true
	}
	return raftstore.Stats{}, false
}

// SetDebugEndpoints turns the HTTP API's /debug/pprof endpoints on or
// off (coordcatalog's enable_debug, applied at every startup).
func (a *Agent) SetDebugEndpoints(on bool) { a.debugEndpoints.Store(on) }

// DebugEndpoints reports whether /debug/pprof is served.
func (a *Agent) DebugEndpoints() bool { return a.debugEndpoints.Load() }
