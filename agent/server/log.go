package server

import "github.com/coredns-coord/coredns-coord/agent/cluster"

// agentLog is the agent's log: a server's lines are the agent's.
var agentLog = cluster.Log
