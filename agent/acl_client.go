package agent

import (
	"errors"
	"sync"
	"time"

	"github.com/coredns-coord/coredns-coord/acl"
	"github.com/coredns-coord/coredns-coord/structs"
)

// tokenResolver is a client role: it resolves tokens through a server.
type tokenResolver interface {
	ResolveToken(secret string) (*structs.ACLToken, []*structs.ACLPolicy, error)
}

// clientTokens caches the tokens a client resolved through a server, for
// token_ttl each, as Consul's agents: a hit is a map lookup; a token
// changed or deleted on the servers is seen here within token_ttl.
type clientTokens struct {
	mu      sync.RWMutex
	entries map[string]*cachedIdentity
}

type cachedIdentity struct {
	id      *Identity
	fetched time.Time
}

// resolveThroughServer answers from the cache while the entry is younger
// than token_ttl, else asks a server. When no server answers, down_policy
// decides: extend-cache (and async-cache) the cached identity however old,
// else nothing; deny nothing; allow everything.
func (a *Agent) resolveThroughServer(r tokenResolver, secret string) (*Identity, error) {
	c := &a.clientTokens
	now := time.Now()
	c.mu.RLock()
	e := c.entries[secret]
	c.mu.RUnlock()
	if e != nil && now.Sub(e.fetched) < a.cfg.ACL.TokenTTL && !e.id.Token.Expired(now) {
		return e.id, nil
	}
	tok, policies, err := r.ResolveToken(secret)
	if err == nil && (tok == nil || tok.Expired(now)) {
		err = ErrACLNotFound
	}
	switch {
	case err == nil:
		id := a.compileIdentity(tok, policies)
		c.mu.Lock()
		if c.entries == nil {
			c.entries = map[string]*cachedIdentity{}
		}
		c.entries[secret] = &cachedIdentity{id: id, fetched: now}
		c.mu.Unlock()
		return id, nil
	case errors.Is(err, ErrACLNotFound):
		c.mu.Lock()
		delete(c.entries, secret)
		c.mu.Unlock()
		return nil, ErrACLNotFound
	}
	agentLog.Warningf("no server resolved a token, down_policy %s applies: %v", a.cfg.ACL.DownPolicy, err)
	switch a.cfg.ACL.DownPolicy {
	case ACLPolicyAllow:
		return downIdentity(e, acl.AllowAll()), nil
	case ACLPolicyDeny:
		return downIdentity(e, acl.DenyAll()), nil
	}
	if e != nil {
		return e.id, nil
	}
	return downIdentity(nil, acl.DenyAll()), nil
}

// downIdentity is the identity down_policy gives: the cached token's name
// (if any) with authz.
func downIdentity(e *cachedIdentity, authz *acl.Authorizer) *Identity {
	tok := &structs.ACLToken{}
	if e != nil {
		tok = e.id.Token
	}
	return &Identity{AccessorID: tok.AccessorID, Token: tok, Authorizer: authz}
}
