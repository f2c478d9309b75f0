package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/coredns-coord/coredns-coord/acl"
	"github.com/coredns-coord/coredns-coord/agent/aclcheck"
	"github.com/coredns-coord/coredns-coord/agent/cluster"
	"github.com/coredns-coord/coredns-coord/raftstore"
	"github.com/coredns-coord/coredns-coord/state"
	"github.com/coredns-coord/coredns-coord/structs"
)

// ErrACLNotFound is a token that does not exist or has expired (Consul's
// "ACL not found", a 403).
var ErrACLNotFound = acl.ErrNotFound

// ErrACLDisabled is an ACL endpoint on an agent without an acl block.
var ErrACLDisabled = errors.New("ACL support disabled")

// Identity is a resolved token: who it is and what it may do.
type Identity struct {
	AccessorID string
	// Token is the token's row, as stored (not to be changed).
	Token      *structs.ACLToken
	Authorizer *acl.Authorizer
}

// Checks is the identity as the shared write rules (aclcheck) take it.
func (id *Identity) Checks() aclcheck.Token {
	return aclcheck.Token{AccessorID: id.AccessorID, Authorizer: id.Authorizer}
}

// ACLEnabled reports whether the agent enforces ACLs.
func (a *Agent) ACLEnabled() bool { return a.cfg.ACL.Enabled }

// aclResolver caches compiled authorizers by SecretID until the ACL
// tables change, so that resolving a known token is a map lookup.
type aclResolver struct {
	mu         sync.RWMutex
	generation uint64
	bySecret   map[string]*Identity
}

// ResolveToken turns a request's token into an Identity. An empty token is
// the agent's default token, else the anonymous token.
func (a *Agent) ResolveToken(secret string) (*Identity, error) {
	return a.resolveSecret(a.EffectiveToken(secret))
}

// resolveSecret resolves a SecretID as it is (no default token): a
// server from its own state, a client through a server (cached).
func (a *Agent) resolveSecret(secret string) (*Identity, error) {
	if resolver, ok := a.role.(tokenResolver); ok {
		return a.resolveThroughServer(resolver, secret)
	}
	st := a.State()
	gen := st.ACLGeneration()
	r := &a.acls
	r.mu.RLock()
	id, ok := r.bySecret[secret]
	fresh := r.generation == gen
	r.mu.RUnlock()
	if ok && fresh && (id.Token.ExpirationTime == nil || !id.Token.Expired(time.Now())) {
		return id, nil
	}
	id, err := a.resolveFromState(st, secret)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	if gen > r.generation || r.bySecret == nil {
		r.generation, r.bySecret = gen, map[string]*Identity{}
	}
	if gen == r.generation {
		// Not when a newer generation is cached: this one is outdated.
		r.bySecret[secret] = id
	}
	r.mu.Unlock()
	return id, nil
}

// serverACLs is what a server does for other agents with its ACL state
// (all nil with ACLs off).
type serverACLs struct {
	// authorize is how a leading server checks a write another agent
	// forwarded: the token it carried, resolved against this server's
	// own ACL state (none is the anonymous token, never this server's
	// default), and the command checked with the HTTP API's rules.
	authorize cluster.Authorize
	// resolve answers a client's token resolution.
	resolve func(secret string) (*structs.ACLToken, []*structs.ACLPolicy, error)
	// operator checks operator:write for a Raft configuration change.
	operator func(secret string) error
	// session checks session:write for a session renewal.
	session func(secret, id string) error
}

func (a *Agent) serverACLs() serverACLs {
	if !a.ACLEnabled() {
		return serverACLs{}
	}
	return serverACLs{authorize: a.checkForwardedWrite, resolve: a.tokenForClient, operator: a.checkOperatorWrite, session: a.checkSessionRenewal}
}

// checkSessionRenewal: renewing a session needs session:write on its node.
func (a *Agent) checkSessionRenewal(secret, sessionID string) error {
	id, err := a.resolveSecret(a.secretOrAnonymous(secret))
	if err != nil {
		return err
	}
	return id.Checks().SessionByID(a.State(), sessionID)
}

// checkOperatorWrite: the leader removes a peer or hands leadership on
// only for a token with operator:write (the HTTP API asked the same).
func (a *Agent) checkOperatorWrite(secret string) error {
	id, err := a.resolveSecret(a.secretOrAnonymous(secret))
	if err != nil {
		return err
	}
	return id.Checks().Need(acl.ResourceOperator, "", acl.AccessWrite)
}

// secretOrAnonymous: a request that carried no token over the server port
// is the anonymous token's, never this server's default token.
func (a *Agent) secretOrAnonymous(secret string) string {
	if secret == "" {
		return structs.ACLAnonymousSecret
	}
	return secret
}

// tokenForClient is a token's row and its policies, for a client that
// compiles them itself.
func (a *Agent) tokenForClient(secret string) (*structs.ACLToken, []*structs.ACLPolicy, error) {
	return tokenAndPolicies(a.State(), secret)
}

// tokenAndPolicies is a token's row and the policies it links (directly
// and through its roles); ErrACLNotFound for none or an expired one.
func tokenAndPolicies(st *state.Store, secret string) (*structs.ACLToken, []*structs.ACLPolicy, error) {
	_, tok, err := st.ACLTokenBySecret(nil, secret)
	if err != nil {
		return nil, nil, err
	}
	if tok == nil || tok.Expired(time.Now()) {
		return nil, nil, ErrACLNotFound
	}
	return tok, st.ACLTokenPolicies(tok), nil
}

func (a *Agent) checkForwardedWrite(secret string, cmd []byte) error {
	// A re-send of a write already applied gets its first result, which
	// was checked when it was applied: checking again could answer 403
	// for a write that happened (its token revoked in between).
	if reqID, ok := raftstore.RequestIDOf(cmd); ok {
		if _, applied := a.State().RequestResult(reqID); applied {
			return nil
		}
	}
	id, err := a.resolveSecret(a.secretOrAnonymous(secret))
	if err != nil {
		return err
	}
	return id.Checks().Command(a.State(), cmd)
}

// resolveFromState resolves a token from this agent's own state (a
// server's).
func (a *Agent) resolveFromState(st *state.Store, secret string) (*Identity, error) {
	tok, policies, err := tokenAndPolicies(st, secret)
	if err != nil {
		return nil, err
	}
	return a.compileIdentity(tok, policies), nil
}

// compileIdentity compiles a token's policies (directly and through its
// roles) and identities over the default policy.
func (a *Agent) compileIdentity(tok *structs.ACLToken, policies []*structs.ACLPolicy) *Identity {
	parsed := make([]*acl.Policy, 0, len(policies)+1)
	if p := a.identityRules(tok); p != nil {
		parsed = append(parsed, p)
	}
	for _, p := range policies {
		if p.ID == structs.ACLManagementPolicyID {
			return &Identity{AccessorID: tok.AccessorID, Token: tok, Authorizer: acl.ManageAll()}
		}
		rules, err := acl.Parse(p.Rules)
		if err != nil {
			// Rules are checked when written; one that no longer parses
			// (a newer binary's) grants nothing.
			agentLog.Warningf("policy %s: %v", p.Name, err)
			continue
		}
		parsed = append(parsed, rules)
	}
	authz := acl.Compile(a.cfg.ACL.DefaultPolicy == ACLPolicyAllow, parsed...)
	return &Identity{AccessorID: tok.AccessorID, Token: tok, Authorizer: authz}
}

// identityRules are the rules of a token's service and node identities,
// as Consul's templates: a service identity writes its service (and its
// sidecar proxy's) and reads every service and node; a node identity
// writes its node and reads every service. An identity for another
// datacenter grants nothing here.
func (a *Agent) identityRules(tok *structs.ACLToken) *acl.Policy {
	if len(tok.ServiceIdentities) == 0 && len(tok.NodeIdentities) == 0 {
		return nil
	}
	dc := a.cfg.Datacenter
	p := &acl.Policy{}
	readAll := func(resources ...acl.Resource) {
		for _, res := range resources {
			p.Rules = append(p.Rules, acl.Rule{Resource: res, Prefix: true, Access: acl.AccessRead})
		}
	}
	for _, si := range tok.ServiceIdentities {
		if len(si.Datacenters) > 0 && !slices.Contains(si.Datacenters, dc) {
			continue
		}
		p.Rules = append(p.Rules,
			acl.Rule{Resource: acl.ResourceService, Name: si.ServiceName, Access: acl.AccessWrite},
			acl.Rule{Resource: acl.ResourceService, Name: si.ServiceName + "-sidecar-proxy", Access: acl.AccessWrite})
		readAll(acl.ResourceService, acl.ResourceNode)
	}
	for _, ni := range tok.NodeIdentities {
		if ni.Datacenter != dc {
			continue
		}
		p.Rules = append(p.Rules, acl.Rule{Resource: acl.ResourceNode, Name: ni.NodeName, Access: acl.AccessWrite})
		readAll(acl.ResourceService)
	}
	return p
}

// ACLWrite applies one ACL write through Raft.
func (w Writer) ACLWrite(req *structs.ACLRequest) error {
	a := w.a
	if !a.ACLEnabled() {
		return ErrACLDisabled
	}
	_, err := apply(w, raftstore.ACL, req)
	return err
}

// NewACLID is a fresh AccessorID, SecretID, policy or role ID.
func NewACLID() string { return uuid.NewString() }

// ACLBootstrap creates the first management token. After the first (or
// once initial_management is set) it is refused with the reset index;
// writing that index into <data_dir>/acl-bootstrap-reset allows one more,
// as in Consul.
func (a *Agent) ACLBootstrap() (*structs.ACLToken, error) {
	if !a.ACLEnabled() {
		return nil, ErrACLDisabled
	}
	reset := a.readBootstrapReset()
	tok := &structs.ACLToken{
		AccessorID:  NewACLID(),
		SecretID:    NewACLID(),
		Description: "Bootstrap Token (Global Management)",
		CreateTime:  time.Now().UTC(),
	}
	if err := a.ACLWrite(&structs.ACLRequest{Op: structs.ACLBootstrap, Token: tok, ResetIndex: reset}); err != nil {
		return nil, err
	}
	if reset != 0 {
		if err := os.Remove(filepath.Join(a.cfg.DataDir, aclBootstrapResetFile)); err != nil {
			agentLog.Warningf("remove %s: %v", aclBootstrapResetFile, err)
		}
	}
	_, stored, err := a.State().ACLTokenGet(nil, tok.AccessorID)
	if err != nil || stored == nil {
		return nil, fmt.Errorf("agent: bootstrap token not found after the write: %v", err)
	}
	return stored, nil
}

func (a *Agent) readBootstrapReset() uint64 {
	if a.cfg.DataDir == "" {
		return 0
	}
	raw, err := os.ReadFile(filepath.Join(a.cfg.DataDir, aclBootstrapResetFile))
	if err != nil {
		return 0
	}
	idx, err := strconv.ParseUint(strings.TrimSpace(string(raw)), 10, 64)
	if err != nil {
		agentLog.Warningf("%s: %v", aclBootstrapResetFile, err)
		return 0
	}
	return idx
}

// initACLs makes sure, while this server leads, that the builtin policy,
// the anonymous token and the initial management token exist: a leader
// duty, as in Consul, since a forwarded write that creates a management
// token would need one. Every server runs it (the write changes nothing
// that exists), so that it happens whichever server leads; it ends once
// the state holds what it writes, or when the agent stops.
func (a *Agent) initACLs() {
	defer a.wg.Done()
	req := &structs.ACLRequest{Op: structs.ACLInit}
	if secret := a.cfg.ACL.InitialManagement; secret != "" {
		req.Token = &structs.ACLToken{
			AccessorID:  NewACLID(),
			SecretID:    secret,
			Description: "Initial Management Token",
			CreateTime:  time.Now().UTC(),
		}
	}
	leads, _ := a.role.(interface{ IsLeader() bool })
	backoff := 20 * time.Millisecond
	for !a.aclsInitialized() {
		if a.waitForLeader(a.stopCtx) == nil && leads != nil && leads.IsLeader() {
			if err := a.ACLWrite(req); err != nil {
				agentLog.Warningf("ACL setup: %v", err)
			}
		}
		select {
		case <-a.stopCh:
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 500*time.Millisecond)
	}
}

// aclsInitialized reports whether the state holds the anonymous token and
// this server's initial management token.
func (a *Agent) aclsInitialized() bool {
	st := a.State()
	if _, anon, _ := st.ACLTokenGet(nil, structs.ACLAnonymousTokenID); anon == nil {
		return false
	}
	if secret := a.cfg.ACL.InitialManagement; secret != "" {
		if _, tok, _ := st.ACLTokenBySecret(nil, secret); tok == nil {
			return false
		}
	}
	return true
}

// DNSAuthorizer is what DNS answers may show: the dns token's
// authorizer, else the default token's, else the anonymous token's; nil
// with ACLs off. A token that does not resolve may read nothing. On a
// hit it is a map lookup, cached until the ACL tables change.
func (a *Agent) DNSAuthorizer() *acl.Authorizer {
	if !a.ACLEnabled() {
		return nil
	}
	id, err := a.ResolveToken(a.Token(TokenDNS))
	if err != nil {
		return acl.DenyAll()
	}
	return id.Authorizer
}
