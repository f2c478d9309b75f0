package rpc

import (
	"encoding/json"
	"time"

	"github.com/coredns-coord/coredns-coord/structs"
)

// Error is an error that crossed the wire: Kind names the sentinel it wraps
// (so that a forwarded "invalid session" is still a 400), Message is the
// original text.
type Error struct {
	Kind    string `json:",omitempty"`
	Message string
}

// ApplyRequest carries one encoded Raft command towards the leader. Hops
// counts forwards so that servers with stale leader information cannot
// bounce a request between them.
//
// Token is the SecretID the write was made with (the agent's own token
// for its internal writes): the leader resolves it against its own ACL
// state and checks the command before applying it. Older agents send
// none, which is the anonymous token.
type ApplyRequest struct {
	Command []byte
	Hops    int    `json:",omitempty"`
	Token   string `json:",omitempty"`
}

// ApplyResponse is the leader's FSM result (JSON of the command's result
// type, or empty) or the error.
type ApplyResponse struct {
	Result json.RawMessage `json:",omitempty"`
	// Index is the command's log index: the forwarding agent waits until
	// its own copy has applied it, so that it reads its own writes.
	Index uint64
	Error *Error `json:",omitempty"`
}

// ReadIndexRequest asks the leader for the index a linearizable read must
// wait for.
type ReadIndexRequest struct {
	Hops int `json:",omitempty"`
}

// ReadIndexResponse is the leader's applied index, taken after it
// confirmed its leadership with a quorum.
type ReadIndexResponse struct {
	Index uint64
	Error *Error `json:",omitempty"`
}

// RenewSessionRequest resets a session's TTL timer, which runs on the
// leader.
//
// Token is the SecretID of the request: the leader checks session:write
// on the session's node.
type RenewSessionRequest struct {
	ID    string
	Hops  int    `json:",omitempty"`
	Token string `json:",omitempty"`
}

// RenewSessionResponse says whether the session exists.
type RenewSessionResponse struct {
	Session *structs.Session `json:",omitempty"`
	Error   *Error           `json:",omitempty"`
}

// SubscribeRequest opens the replication stream. Index is the last index
// the subscriber has applied (0 for none): the server answers with the
// entries after it, or with a full snapshot when it no longer has them.
type SubscribeRequest struct {
	Index uint64
}

// Entry is one applied Raft command.
type Entry struct {
	Index uint64
	Data  []byte
}

// Update is one message of the replication stream. A snapshot arrives in
// chunks; the last one has SnapshotEnd set, and the subscriber's state is
// then at Index. Entries follow in index order. Every update also says
// whether the server knows a leader and how long ago it heard from it, so
// that a subscriber can tell how stale it is.
type Update struct {
	Snapshot    []byte  `json:",omitempty"`
	SnapshotEnd bool    `json:",omitempty"`
	Entries     []Entry `json:",omitempty"`
	// Index is the server's applied index when it sent this update.
	Index uint64
	// Leader is the leader's server address as the server knows it.
	Leader      string `json:",omitempty"`
	KnownLeader bool
	// LastContact is how long ago the server heard from its leader (zero
	// on the leader).
	LastContact time.Duration
}

// RaftServer is one member of the Raft configuration, with its health
// when the leader reports autopilot state.
type RaftServer struct {
	ID       string
	Node     string
	Address  string
	Leader   bool
	Voter    bool
	Suffrage string

	SerfStatus string `json:",omitempty"`
	Healthy    bool   `json:",omitempty"`
	// NoAnswer: the server did not answer the leader; LastContact is then
	// how long it has been silent.
	NoAnswer    bool          `json:",omitempty"`
	LastContact time.Duration `json:",omitempty"`
	LastTerm    uint64        `json:",omitempty"`
	LastIndex   uint64        `json:",omitempty"`
	StableSince time.Time     `json:",omitempty"`
}

// OperatorRequest is a Raft operator command, answered by the leader:
// Op "configuration" lists the servers, "remove" removes one by ID or
// Address, "autopilot-health" lists them with their health,
// "transfer-leader" hands leadership to ID (or any), "autopilot-config"
// answers the autopilot configuration. Ops
// "local-configuration" and "local-stats" are answered by the server asked.
//
// Token is the SecretID of the request: the leader checks operator:write
// on it for the commands that change the configuration.
type OperatorRequest struct {
	Op      string
	ID      string `json:",omitempty"`
	Address string `json:",omitempty"`
	Hops    int    `json:",omitempty"`
	Token   string `json:",omitempty"`
}

// OperatorResponse is the configuration (with its Raft index) or the error.
type OperatorResponse struct {
	Servers []RaftServer `json:",omitempty"`
	Index   uint64
	Error   *Error `json:",omitempty"`
	// Autopilot answers "autopilot-config" (agent/operator.go).
	Autopilot *structs.AutopilotConfig `json:",omitempty"`
}

// ResolveTokenRequest asks a server what a token is: a client agent, which
// keeps no ACL state of its own to trust, resolves tokens so and caches
// the answer for token_ttl.
type ResolveTokenRequest struct {
	Token string
}

// ResolveTokenResponse is the token's row and the policies it links
// (directly and through its roles), which the client compiles; or the
// error ("acl-not-found" for a token that does not exist or expired).
type ResolveTokenResponse struct {
	Token    *structs.ACLToken    `json:",omitempty"`
	Policies []*structs.ACLPolicy `json:",omitempty"`
	Error    *Error               `json:",omitempty"`
}
