// Package rpc is the server port (8300 by default): one TCP listener that
// carries both Raft and the agents' own RPC, told apart by the first byte of
// each connection, as Consul does.
//
//   - 0x01 (RaftByte): a hashicorp/raft NetworkTransport stream;
//   - 0x08 (GRPCByte): gRPC, used by servers to forward writes and consistent
//     reads to the leader, and by client agents to forward theirs and to
//     subscribe to the replicated state;
//   - 0x04 (TLSByte): a TLS handshake (mutual under verify_incoming), inside
//     which the dialer writes 0x01 or 0x08 as above. Under verify_incoming
//     plaintext is refused, and with verify_server_hostname too a Raft
//     stream must come from a certificate for server.<dc>.consul (without
//     verify_incoming, plaintext Raft is still taken, as Consul's). Dialers use TLS when
//     the agent has verify_outgoing (internal/tlsutil decides per dial, so
//     reloaded certificates apply to the next connection).
//
// Why gRPC rather than net/rpc with msgpack: a client agent keeps one
// long-lived stream (the state subscription) next to ordinary calls, and
// gRPC multiplexes both over one HTTP/2 connection with deadlines,
// cancellation and keepalives; net/rpc has no streams. The service is
// described by hand (ServiceDesc) and messages travel as JSON (the codec
// below), so there is no generated code and the wire types are the same
// structs the HTTP API uses.
package rpc
