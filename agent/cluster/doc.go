// Package cluster is what the two roles of an agent share, and the one
// interface the agent reads them through: a server (package
// agent/server: Raft, leader duties, the RPC endpoints) and a client
// (package agent/client: a replica streamed from a server) are each a
// Role. Below both it holds the forwarding of writes and leader-only reads
// to the leader, the errors that cross the wire with their kinds, the
// gossip tags that say which member is a server, and the catalog entry of
// an agent's own node.
//
// It knows neither role nor the agent: the agent picks a role from its
// configuration and never asks which one it holds.
package cluster
