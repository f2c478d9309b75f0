package cluster

// Raft operator commands (rpc.OperatorRequest.Op). The leader answers the
// first three, forwarded there from anywhere; the local ones are answered
// by the server asked, unforwarded.
const (
	OpConfiguration   = "configuration"
	OpRemovePeer      = "remove"
	OpAutopilotHealth = "autopilot-health"
	// OpLocalConfiguration asks one server for its own view: a server
	// about to bootstrap uses it to learn that a cluster exists.
	OpLocalConfiguration = "local-configuration"
	// OpLocalStats asks one server for its own Raft figures (autopilot).
	OpLocalStats = "local-stats"
)
