// Package agent owns the lifetime of one coredns-coord agent, kept across
// Corefile reloads: what every agent has, whichever its role.
//
//   - its role (package cluster's Role, opened in role.go): a server
//     (package server: Raft, the RPC endpoints, the leader's duties) or a
//     client (package client: a replica streamed from a server). The agent
//     reads the state, the leader and its freshness through it and sends
//     through it what only the leader answers; it never asks which role it
//     holds.
//   - the LAN gossip pool (gossip.go), user events (events.go) and the
//     keyring;
//   - the HTTP listener (http.go), which serves the handler the composition
//     root gives it (httpapi), and the log tap agent/monitor reads;
//   - its own catalog entry (agent.go), the services and checks it runs
//     (registration.go, maintenance.go, definitions.go, persist.go, with
//     package local) and the anti-entropy sync that keeps the catalog in
//     step with them (sync.go);
//   - the catalog, KV, transaction, session and snapshot calls of the HTTP
//     API (agent.go, kv.go, session.go, snapshot.go, raft_operator.go).
//   - ACLs (acl.go, acl_config.go, tokens.go, acl_client.go, writer.go):
//     the ACL writes, bootstrap, the leader's setup of the builtin policies
//     and tokens, token resolution (a server's cached until the ACL tables
//     change, a client's through a server for token_ttl), the checks a
//     leading server makes of forwarded writes, and Writer, which carries
//     a write's token to the leader.
//
// The DNS plugin and the HTTP API read through it; it knows neither.
package agent
