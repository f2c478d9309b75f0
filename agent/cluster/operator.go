package cluster

// Raft operator commands (rpc.OperatorRequest.Op). The leader answers the
// first five, forwarded there from anywhere; the local ones are answered
// by the server asked, unforwarded.
const (
	OpConfiguration   = "configuration"
	OpRemovePeer      = "remove"
	OpAutopilotHealth = "autopilot-health"
	// OpTransferLeader hands leadership to ID, or to any up-to-date voter.
	OpTransferLeader = "transfer-leader"
	// OpAutopilotConfig answers the autopilot configuration.
	OpAutopilotConfig = "autopilot-config"
	// OpLocalConfiguration asks one server for its own view: a server
	// about to bootstrap uses it to learn that a cluster exists.
	OpLocalConfiguration = "local-configuration"
	// OpLocalStats asks one server for its own Raft figures (autopilot).
	OpLocalStats = "local-stats"
)
