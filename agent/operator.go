package agent

import (
	"errors"

	"github.com/coredns-coord/coredns-coord/raftstore"
	"github.com/coredns-coord/coredns-coord/rpc"
	"github.com/coredns-coord/coredns-coord/structs"
)

// Operator commands beyond the configuration and peer removal (server.go).
const (
	opTransferLeader  = "transfer-leader"
	opAutopilotConfig = "autopilot-config"
)

// operatorOnLeader runs the operator commands of this file on the leader.
func (a *Agent) operatorOnLeader(req *rpc.OperatorRequest) (*rpc.OperatorResponse, error) {
	switch req.Op {
	case opTransferLeader:
		return &rpc.OperatorResponse{}, a.raft.TransferLeadership(req.ID)
	case opAutopilotConfig:
		c, err := a.localAutopilotConfiguration()
		return &rpc.OperatorResponse{Autopilot: &c}, err
	}
	return nil, errors.New("agent: unknown operator command " + req.Op)
}

// TransferLeader hands Raft leadership to the server with ID id, or to any
// up-to-date server when id is empty (operator/raft/transfer-leader).
func (a *Agent) TransferLeader(id string) error {
	_, err := a.operator(&rpc.OperatorRequest{Op: opTransferLeader, ID: id})
	return err
}

// AutopilotConfiguration is the cluster's autopilot configuration: the one
// in the Raft log, or, before the first leader wrote one, the Corefile's
// (with index 0). A server reads its own copy; a client asks the leader,
// since its replica is not sure to hold it (see state's snapshotTables).
func (a *Agent) AutopilotConfiguration() (structs.AutopilotConfig, error) {
	if a.raft != nil {
		return a.localAutopilotConfiguration()
	}
	resp, err := a.operator(&rpc.OperatorRequest{Op: opAutopilotConfig})
	if err != nil {
		return structs.AutopilotConfig{}, err
	}
	if resp.Autopilot == nil {
		return structs.AutopilotConfig{}, errors.New("agent: the leader sent no autopilot configuration")
	}
	return *resp.Autopilot, nil
}

func (a *Agent) localAutopilotConfiguration() (structs.AutopilotConfig, error) {
	c, err := a.State().AutopilotConfig()
	if err != nil {
		return structs.AutopilotConfig{}, err
	}
	if c == nil {
		return structs.DefaultAutopilotConfig(a.cfg.CleanupDeadServers), nil
	}
	return *c, nil
}

// SetAutopilotConfiguration writes the autopilot configuration through
// Raft; with cas, only if the stored one is still at index casIndex. It
// reports whether it was written.
func (a *Agent) SetAutopilotConfiguration(c structs.AutopilotConfig, cas bool, casIndex uint64) (bool, error) {
	return apply(a, raftstore.Autopilot, &structs.AutopilotRequest{Config: c, CAS: cas, CASIndex: casIndex})
}

// initAutopilotConfig writes the Corefile's autopilot settings as the
// cluster's when no leader has written any yet, as Consul's first leader
// does; the Corefile options only seed a new cluster.
func (a *Agent) initAutopilotConfig() {
	if c, err := a.State().AutopilotConfig(); err != nil || c != nil {
		return
	}
	if _, err := a.SetAutopilotConfiguration(structs.DefaultAutopilotConfig(a.cfg.CleanupDeadServers), true, 0); err != nil {
		agentLog.Warningf("autopilot: write the initial configuration: %v", err)
	}
}

// autopilotConfig is the configuration the leader's autopilot acts on
// now: a zero threshold or trailing-log count (left out of a PUT) means the
// default.
func (a *Agent) autopilotConfig() structs.AutopilotConfig {
	def := structs.DefaultAutopilotConfig(a.cfg.CleanupDeadServers)
	c, err := a.localAutopilotConfiguration()
	if err != nil {
		return def
	}
	if c.LastContactThreshold == 0 {
		c.LastContactThreshold = def.LastContactThreshold
	}
	if c.MaxTrailingLogs == 0 {
		c.MaxTrailingLogs = def.MaxTrailingLogs
	}
	return c
}

// RaftStats are this server's Raft figures (info, debug); ok is false on a
// client.
func (a *Agent) RaftStats() (stats raftstore.Stats, ok bool) {
	if a.raft == nil {
		return raftstore.Stats{}, false
	}
	return a.raft.Stats(), true
}

// SetDebugEndpoints turns the HTTP API's /debug/pprof endpoints on or
// off (coordcatalog's enable_debug, applied at every startup).
func (a *Agent) SetDebugEndpoints(on bool) { a.debugEndpoints.Store(on) }

// DebugEndpoints reports whether /debug/pprof is served.
func (a *Agent) DebugEndpoints() bool { return a.debugEndpoints.Load() }
