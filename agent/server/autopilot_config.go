package server

import (
	"github.com/coredns-coord/coredns-coord/agent/cluster"
	"github.com/coredns-coord/coredns-coord/raftstore"
	"github.com/coredns-coord/coredns-coord/structs"
)

// autopilotConfiguration is the stored autopilot configuration or, before
// the first leader wrote one, the Corefile's (with index 0).
func (s *Server) autopilotConfiguration() (structs.AutopilotConfig, error) {
	c, err := s.State().AutopilotConfig()
	if err != nil {
		return structs.AutopilotConfig{}, err
	}
	if c == nil {
		return structs.DefaultAutopilotConfig(s.cfg.CleanupDeadServers), nil
	}
	return *c, nil
}

// initAutopilotConfig writes the Corefile's autopilot settings as the
// cluster's when no leader has written any yet, as Consul's first leader
// does; the Corefile options only seed a new cluster.
func (s *Server) initAutopilotConfig() {
	if c, err := s.State().AutopilotConfig(); err != nil || c != nil {
		return
	}
	req := &structs.AutopilotRequest{Config: structs.DefaultAutopilotConfig(s.cfg.CleanupDeadServers), CAS: true}
	if _, err := cluster.Apply(s.write, raftstore.Autopilot, req); err != nil {
		agentLog.Warningf("autopilot: write the initial configuration: %v", err)
	}
}

// autopilotConfig is the configuration the leader's autopilot acts on
// now: a zero threshold or trailing-log count (left out of a PUT) means the
// default.
func (s *Server) autopilotConfig() structs.AutopilotConfig {
	def := structs.DefaultAutopilotConfig(s.cfg.CleanupDeadServers)
	c, err := s.autopilotConfiguration()
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
