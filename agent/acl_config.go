package agent

import (
	"fmt"
	"time"
)

// ACLConfig is the Corefile's acl { } block. Without the block (Enabled
// false) every request is allowed and no ACL code runs on any request.
type ACLConfig struct {
	Enabled bool
	// DefaultPolicy is what a token may do where no rule of its policies
	// matches: "allow" or "deny".
	DefaultPolicy string
	// DownPolicy decides when no server can resolve a token (used once
	// clients resolve through servers): extend-cache, deny, allow.
	DownPolicy string
	// InitialManagement is the SecretID of a management token the servers
	// create (Consul's tokens.initial_management); it ends bootstrapping.
	InitialManagement string
	// The agent's own tokens (Consul's tokens.agent, tokens.default,
	// tokens.dns); agent/token/:type replaces them at run time.
	AgentToken   string
	DefaultToken string
	DNSToken     string
	// TokenTTL is how long a client caches a resolved token.
	TokenTTL time.Duration
}

// ACL policy words, as Consul's.
const (
	ACLPolicyAllow        = "allow"
	ACLPolicyDeny         = "deny"
	ACLDownExtendCache    = "extend-cache"
	ACLDownAsyncCache     = "async-cache"
	DefaultACLTokenTTL    = 30 * time.Second
	aclBootstrapResetFile = "acl-bootstrap-reset"
)

// DefaultACLConfig is an enabled acl { } block with nothing set in it:
// Consul's defaults.
func DefaultACLConfig() ACLConfig {
	return ACLConfig{
		Enabled:       true,
		DefaultPolicy: ACLPolicyAllow,
		DownPolicy:    ACLDownExtendCache,
		TokenTTL:      DefaultACLTokenTTL,
	}
}

func (c *ACLConfig) validate() error {
	if !c.Enabled {
		return nil
	}
	switch c.DefaultPolicy {
	case ACLPolicyAllow, ACLPolicyDeny:
	default:
		return fmt.Errorf("acl default_policy %q: want allow or deny", c.DefaultPolicy)
	}
	switch c.DownPolicy {
	case ACLPolicyAllow, ACLPolicyDeny, ACLDownExtendCache, ACLDownAsyncCache:
	default:
		return fmt.Errorf("acl down_policy %q: want extend-cache, async-cache, allow or deny", c.DownPolicy)
	}
	if c.TokenTTL <= 0 {
		return fmt.Errorf("acl token_ttl %s must be positive", c.TokenTTL)
	}
	return nil
}
