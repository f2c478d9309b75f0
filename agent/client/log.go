package client

import "github.com/coredns-coord/coredns-coord/agent/cluster"

// agentLog is the agent's log: a client's lines are the agent's.
var agentLog = cluster.Log
