package agent

import "github.com/coredns-coord/coredns-coord/internal/logging"

// agentLog is the agent's log: "[LEVEL] agent: ...".
var agentLog = logging.New("agent")
