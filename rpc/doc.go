// Package rpc is the server port (8300 by default): one TCP listener that
// carries both Raft and the agents' own RPC, told apart by the first byte of
// each connection, as Consul does.
//
//   - 0x01 (RaftByte): a hashicorp/raft NetworkTransport stream;
//   - 0x08 (GRPCByte): gRPC, used by servers to forward writes and consistent
//     reads to the leader, and by client agents to forward theirs and to
//     subscribe to the replicated state.
//
// Why gRPC rather than net/rpc with msgpack: a client agent keeps one
// long-lived stream (the state subscription) next to ordinary calls, and
// gRPC multiplexes both over one HTTP/2 connection with deadlines,
// cancellation and keepalives; net/rpc has no streams. The service is
// described by hand (ServiceDesc) and messages travel as JSON (the codec
// below), so there is no generated code and the wire types are the same
// structs the HTTP API uses.
package rpc
