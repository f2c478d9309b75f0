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

// maxClientTokens bounds the cache; past it, it starts over.
const maxClientTokens = 4096

type cachedIdentity struct {
	id      *Identity
	fetched time.Time
	// policies resolved it; a refresh that finds the same token and
	// policies keeps id, so that what was cached by its authorizer (DNS
	// answers) stays.
	policies []*structs.ACLPolicy
}

// unchanged reports whether a refresh found what e was compiled from.
func (e *cachedIdentity) unchanged(tok *structs.ACLToken, policies []*structs.ACLPolicy) bool {
	if e == nil || e.policies == nil || e.id.Token.ModifyIndex != tok.ModifyIndex || e.id.Token.AccessorID != tok.AccessorID || len(e.policies) != len(policies) {
		return false
	}
	for i, p := range policies {
		if e.policies[i].ID != p.ID || e.policies[i].ModifyIndex != p.ModifyIndex {
			return false
		}
	}
	return true
}

// resolveThroughServer answers from the cache while the entry is younger
// than token_ttl, else asks a server. When no server answers, down_policy
// decides: extend-cache (and async-cache) the cached identity however old,
// else nothing; deny nothing; allow everything. That answer is cached for
// token_ttl too.
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
		id := e.idIfUnchanged(tok, policies)
		if id == nil {
			id = a.compileIdentity(tok, policies)
		}
		return a.cacheClientToken(secret, &cachedIdentity{id: id, fetched: now, policies: policies}), nil
	case errors.Is(err, ErrACLNotFound):
		c.mu.Lock()
		delete(c.entries, secret)
		c.mu.Unlock()
		return nil, ErrACLNotFound
	}
	agentLog.Warningf("no server resolved a token, down_policy %s applies: %v", a.cfg.ACL.DownPolicy, err)
	var id *Identity
	switch {
	case a.cfg.ACL.DownPolicy == ACLPolicyAllow:
		id = downIdentity(e, acl.AllowAll())
	case a.cfg.ACL.DownPolicy == ACLPolicyDeny || e == nil:
		id = downIdentity(e, acl.DenyAll())
	default:
		id = e.id // extend-cache
	}
	// Kept for another token_ttl, so that requests (DNS queries above
	// all) do not each wait for servers that are gone.
	kept := &cachedIdentity{id: id, fetched: now}
	if e != nil && id == e.id {
		kept.policies = e.policies
	}
	return a.cacheClientToken(secret, kept), nil
}

func (e *cachedIdentity) idIfUnchanged(tok *structs.ACLToken, policies []*structs.ACLPolicy) *Identity {
	if e.unchanged(tok, policies) {
		return e.id
	}
	return nil
}

func (a *Agent) cacheClientToken(secret string, e *cachedIdentity) *Identity {
	c := &a.clientTokens
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= maxClientTokens {
		// Made-up tokens during an outage must not grow it without bound.
		c.entries = map[string]*cachedIdentity{}
	}
	c.entries[secret] = e
	return e.id
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
