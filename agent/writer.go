package agent

import (
	"io"

	"github.com/coredns-coord/coredns-coord/structs"
)

// Writer makes the agent's Raft writes with one token: the one the
// request carried (the HTTP API's As), or the agent's own for what the
// agent writes of itself. The token travels with a write that is
// forwarded, and the leader checks the write with it (aclcheck), so that
// the server port is behind the ACLs too.
type Writer struct {
	a     *Agent
	token string
}

// As is a writer that makes writes with secret ("" with ACLs off: no
// token travels, none is checked).
func (a *Agent) As(secret string) Writer { return Writer{a: a, token: secret} }

// internal is the writer of the agent's own writes (its registration,
// anti-entropy of its services and checks, session invalidation, the ACL
// setup): the agent token, else the default token, else anonymous, as
// Consul's agent. Under default deny, an agent that is not the leader
// needs an agent_token that may write its node and its services.
func (a *Agent) internal() Writer {
	if !a.ACLEnabled() {
		return a.As("")
	}
	return a.As(a.EffectiveToken(a.Token(TokenAgent)))
}

// EffectiveToken is the SecretID a request with secret is made with: the
// agent's default token when it carried none, else the anonymous token.
// A write carries it explicitly, so that the server never substitutes a
// default token of its own.
func (a *Agent) EffectiveToken(secret string) string {
	if secret == "" {
		secret = a.Token(TokenDefault)
	}
	if secret == "" {
		secret = structs.ACLAnonymousSecret
	}
	return secret
}

// The agent's writes without a request behind them use its own token.

func (a *Agent) Register(req *structs.RegisterRequest) error { return a.internal().Register(req) }

func (a *Agent) Deregister(req *structs.DeregisterRequest) error {
	return a.internal().Deregister(req)
}

func (a *Agent) KV(req *structs.KVRequest) (bool, error) { return a.internal().KV(req) }

func (a *Agent) Txn(ops structs.TxnOps) (*structs.TxnResponse, error) { return a.internal().Txn(ops) }

func (a *Agent) SessionCreate(s *structs.Session) (string, error) {
	return a.internal().SessionCreate(s)
}

func (a *Agent) SessionDestroy(id string) error { return a.internal().SessionDestroy(id) }

func (a *Agent) SessionRenew(id string) (*structs.Session, error) {
	return a.internal().SessionRenew(id)
}

func (a *Agent) SetAutopilotConfiguration(c structs.AutopilotConfig, cas bool, casIndex uint64) (bool, error) {
	return a.internal().SetAutopilotConfiguration(c, cas, casIndex)
}

func (a *Agent) SnapshotRestore(r io.Reader) error { return a.internal().SnapshotRestore(r) }

func (a *Agent) ACLWrite(req *structs.ACLRequest) error { return a.internal().ACLWrite(req) }
