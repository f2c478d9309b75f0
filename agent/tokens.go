package agent

import (
	"errors"
	"fmt"
	"sync"
)

// The agent's ACL tokens, by Consul's names (agent/token/:type): the
// acl block sets them, agent/token replaces them. The default token is
// what a request without a token acts with; the others are kept for the
// agent's own requests and DNS (a later step).
const (
	TokenDefault                       = "default"
	TokenAgent                         = "agent"
	TokenAgentRecovery                 = "agent_recovery"
	TokenReplication                   = "replication"
	TokenConfigFileServiceRegistration = "config_file_service_registration"
	TokenDNS                           = "dns"
)

// ErrUnknownToken is a token type Consul does not have: a 404.
var ErrUnknownToken = errors.New("unknown token type")

// tokenAliases maps every name agent/token accepts, the pre-1.11 and
// pre-1.4 ones included (clients fall back to them), to its token.
var tokenAliases = map[string]string{
	TokenDefault: TokenDefault, "acl_token": TokenDefault,
	TokenAgent: TokenAgent, "acl_agent_token": TokenAgent,
	TokenAgentRecovery: TokenAgentRecovery, "agent_master": TokenAgentRecovery, "acl_agent_master_token": TokenAgentRecovery,
	TokenReplication: TokenReplication, "acl_replication_token": TokenReplication,
	TokenConfigFileServiceRegistration: TokenConfigFileServiceRegistration,
	TokenDNS:                           TokenDNS, "dns_token": TokenDNS,
}

// tokenStore holds the tokens set through the API, in memory only (as
// Consul without acl.enable_token_persistence).
type tokenStore struct {
	mu     sync.Mutex
	tokens map[string]string
}

// SetToken sets one of the agent's tokens by any of its names; "" clears
// it. It returns the canonical name.
func (a *Agent) SetToken(name, token string) (string, error) {
	kind, ok := tokenAliases[name]
	if !ok {
		return "", fmt.Errorf("%w: %q", ErrUnknownToken, name)
	}
	a.tokens.mu.Lock()
	defer a.tokens.mu.Unlock()
	if a.tokens.tokens == nil {
		a.tokens.tokens = map[string]string{}
	}
	if token == "" {
		delete(a.tokens.tokens, kind)
	} else {
		a.tokens.tokens[kind] = token
	}
	return kind, nil
}

// Token returns one of the agent's tokens by any of its names, "" if it
// is not set or the name is unknown.
func (a *Agent) Token(name string) string {
	a.tokens.mu.Lock()
	defer a.tokens.mu.Unlock()
	return a.tokens.tokens[tokenAliases[name]]
}

// setConfiguredTokens sets the tokens of the acl block; agent/token
// replaces them later.
func (a *Agent) setConfiguredTokens() {
	for kind, token := range map[string]string{
		TokenAgent:   a.cfg.ACL.AgentToken,
		TokenDefault: a.cfg.ACL.DefaultToken,
		TokenDNS:     a.cfg.ACL.DNSToken,
	} {
		if token != "" {
			a.SetToken(kind, token)
		}
	}
}
