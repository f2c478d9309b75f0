package structs

import "time"

// AutopilotConfig is the servers' autopilot configuration, kept in the
// Raft log so that every server (and the next leader) uses the same one;
// operator/autopilot/configuration reads and writes it with Consul's JSON.
type AutopilotConfig struct {
	// CleanupDeadServers lets the leader remove servers that gossip has
	// seen failed from the Raft configuration.
	CleanupDeadServers bool
	// LastContactThreshold and MaxTrailingLogs bound a healthy server:
	// heard from the leader within the threshold, at most that many log
	// entries behind.
	LastContactThreshold Duration
	MaxTrailingLogs      uint64
	// MinQuorum is the fewest voters dead-server cleanup leaves.
	MinQuorum uint
	// ServerStabilizationTime is how long a server must have been failed
	// before cleanup removes it.
	ServerStabilizationTime Duration

	// Consul Enterprise's settings: kept and returned, not acted on.
	RedundancyZoneTag       string
	DisableUpgradeMigration bool
	UpgradeVersionTag       string

	CreateIndex uint64
	ModifyIndex uint64
}

// DefaultAutopilotConfig is the configuration a new cluster starts with,
// cleanup as the Corefile says. Consul's defaults, except a last-contact
// threshold of 2 s (Consul: 200 ms), which leaves room for loaded hosts.
func DefaultAutopilotConfig(cleanupDeadServers bool) AutopilotConfig {
	return AutopilotConfig{
		CleanupDeadServers:      cleanupDeadServers,
		LastContactThreshold:    Duration(2 * time.Second),
		MaxTrailingLogs:         250,
		ServerStabilizationTime: Duration(10 * time.Second),
	}
}

// AutopilotRequest sets the configuration; with CAS, only if the stored one
// is still at CASIndex.
type AutopilotRequest struct {
	Config   AutopilotConfig
	CAS      bool
	CASIndex uint64
}
