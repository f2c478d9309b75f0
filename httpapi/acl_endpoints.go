package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/coredns-coord/coredns-coord/acl"
	"github.com/coredns-coord/coredns-coord/agent"
	"github.com/coredns-coord/coredns-coord/state"
	"github.com/coredns-coord/coredns-coord/structs"
)

// The ACL endpoints, as Consul's /v1/acl (templated policies, auth
// methods and binding rules are not built). Writes need acl:write, reads
// acl:read; a token's SecretID is shown only to acl:write.

func (s *server) aclRoutes() {
	s.handle("PUT /v1/acl/bootstrap", s.aclBootstrap)

	s.handle("PUT /v1/acl/token", s.aclTokenCreate)
	s.handle("GET /v1/acl/token/self", s.aclTokenSelf)
	s.handle("GET /v1/acl/token/{id}", s.aclTokenRead)
	s.handle("PUT /v1/acl/token/{id}", s.aclTokenUpdate)
	s.handle("DELETE /v1/acl/token/{id}", s.aclTokenDelete)
	s.handle("PUT /v1/acl/token/{id}/clone", s.aclTokenClone)
	s.handle("GET /v1/acl/tokens", s.aclTokenList)

	s.handle("PUT /v1/acl/policy", s.aclPolicyCreate)
	s.handle("GET /v1/acl/policy/{id}", s.aclPolicyRead)
	s.handle("GET /v1/acl/policy/name/{name}", s.aclPolicyReadByName)
	s.handle("PUT /v1/acl/policy/{id}", s.aclPolicyUpdate)
	s.handle("DELETE /v1/acl/policy/{id}", s.aclPolicyDelete)
	s.handle("GET /v1/acl/policies", s.aclPolicyList)

	s.handle("PUT /v1/acl/role", s.aclRoleCreate)
	s.handle("GET /v1/acl/role/{id}", s.aclRoleRead)
	s.handle("GET /v1/acl/role/name/{name}", s.aclRoleReadByName)
	s.handle("PUT /v1/acl/role/{id}", s.aclRoleUpdate)
	s.handle("DELETE /v1/acl/role/{id}", s.aclRoleDelete)
	s.handle("GET /v1/acl/roles", s.aclRoleList)
}

// Consul's answers for ACL requests that cannot be served.
const (
	msgACLDisabled = "ACL support disabled"
	msgACLNotFound = "ACL not found"
)

// aclAccess refuses an ACL endpoint when ACLs are off (401, as Consul)
// or the token lacks acl:want.
func (s *server) aclAccess(r *http.Request, want acl.Access) error {
	if !s.agent.ACLEnabled() {
		return errorf(http.StatusUnauthorized, msgACLDisabled)
	}
	return authorize(r, acl.ResourceACL, "", want)
}

// aclWriteError maps the agent's ACL write errors to Consul's answers.
func aclWriteError(err error) error {
	switch {
	case errors.Is(err, state.ErrACLBootstrapDone):
		return errorf(http.StatusForbidden, "Permission denied: %s", err.Error())
	case errors.Is(err, agent.ErrACLDisabled):
		return errorf(http.StatusUnauthorized, msgACLDisabled)
	}
	return err
}

func (s *server) aclBootstrap(w http.ResponseWriter, r *http.Request) error {
	if !s.agent.ACLEnabled() {
		return errorf(http.StatusUnauthorized, msgACLDisabled)
	}
	tok, err := s.agent.ACLBootstrap()
	if err != nil {
		return aclWriteError(err)
	}
	return writeJSON(w, r, http.StatusOK, tok)
}

// tokenBody is a token as a client sends it; templated policies are
// refused, not silently dropped.
type tokenBody struct {
	structs.ACLToken
	TemplatedPolicies json.RawMessage
}

func decodeToken(r *http.Request) (*structs.ACLToken, error) {
	var body tokenBody
	if err := decodeBody(r.Body, &body); err != nil {
		return nil, err
	}
	if raw := body.TemplatedPolicies; len(raw) > 0 && !isNull(raw) && string(raw) != "[]" {
		return nil, badRequest("TemplatedPolicies are not supported")
	}
	return &body.ACLToken, nil
}

// Consul's bounds on a token's ExpirationTTL.
const (
	minTokenTTL = time.Minute
	maxTokenTTL = 24 * time.Hour
)

func (s *server) aclTokenCreate(w http.ResponseWriter, r *http.Request) error {
	if err := s.aclAccess(r, acl.AccessWrite); err != nil {
		return err
	}
	tok, err := decodeToken(r)
	if err != nil {
		return err
	}
	return s.createToken(w, r, tok)
}

func (s *server) createToken(w http.ResponseWriter, r *http.Request, tok *structs.ACLToken) error {
	if tok.AccessorID == "" {
		tok.AccessorID = agent.NewACLID()
	}
	if tok.SecretID == "" {
		tok.SecretID = agent.NewACLID()
	}
	now := time.Now().UTC()
	tok.CreateTime = now
	switch {
	case tok.ExpirationTTL != 0 && tok.ExpirationTime != nil:
		return badRequest("Expiration TTL and Expiration Time cannot both be set")
	case tok.ExpirationTTL < 0:
		return badRequest("Token Expiration TTL '%s' should be > 0", tok.ExpirationTTL)
	case tok.ExpirationTTL != 0:
		if tok.ExpirationTTL < minTokenTTL || tok.ExpirationTTL > maxTokenTTL {
			return badRequest("Token Expiration TTL '%s' should be between %s and %s", tok.ExpirationTTL, minTokenTTL, maxTokenTTL)
		}
		exp := now.Add(tok.ExpirationTTL)
		tok.ExpirationTime = &exp
	case tok.ExpirationTime != nil && !tok.ExpirationTime.After(now):
		return badRequest("ExpirationTime cannot be in the past")
	}
	if err := s.writer(r).ACLWrite(&structs.ACLRequest{Op: structs.ACLTokenSet, Create: true, Token: tok}); err != nil {
		return aclWriteError(err)
	}
	return s.writeToken(w, r, tok.AccessorID)
}

// writeToken answers with a token as stored (after the write).
func (s *server) writeToken(w http.ResponseWriter, r *http.Request, accessor string) error {
	_, tok, err := s.agent.State().ACLTokenGet(nil, accessor)
	if err != nil {
		return err
	}
	if tok == nil {
		return errorf(http.StatusForbidden, msgACLNotFound)
	}
	return writeJSON(w, r, http.StatusOK, redactToken(r, tok))
}

// redactToken hides the SecretID from a reader without acl:write.
func redactToken(r *http.Request, tok *structs.ACLToken) *structs.ACLToken {
	if authorize(r, acl.ResourceACL, "", acl.AccessWrite) == nil {
		return tok
	}
	c := *tok
	c.SecretID = structs.ACLSecretHidden
	return &c
}

func (s *server) aclTokenSelf(w http.ResponseWriter, r *http.Request) error {
	if !s.agent.ACLEnabled() {
		return errorf(http.StatusUnauthorized, msgACLDisabled)
	}
	id := identityOf(r)
	if id == nil || id.Token == nil {
		return errorf(http.StatusForbidden, msgACLNotFound)
	}
	// Its own secret: the caller sent it.
	return writeJSON(w, r, http.StatusOK, id.Token)
}

func (s *server) aclTokenRead(w http.ResponseWriter, r *http.Request) error {
	if err := s.aclAccess(r, acl.AccessRead); err != nil {
		return err
	}
	opts, err := s.query(r)
	if err != nil {
		return err
	}
	st := s.agent.State()
	idx, tok, err := blockingQuery(r.Context(), s, opts, func(ws memdb.WatchSet) (uint64, *structs.ACLToken, error) {
		return st.ACLTokenGet(ws, r.PathValue("id"))
	})
	if err != nil {
		return err
	}
	if tok == nil {
		return errorf(http.StatusForbidden, msgACLNotFound)
	}
	s.setMeta(w, opts, idx)
	return writeJSON(w, r, http.StatusOK, redactToken(r, tok))
}

func (s *server) aclTokenUpdate(w http.ResponseWriter, r *http.Request) error {
	if err := s.aclAccess(r, acl.AccessWrite); err != nil {
		return err
	}
	tok, err := decodeToken(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if tok.AccessorID != "" && tok.AccessorID != id {
		return badRequest("Token Accessor ID in URL and payload do not match")
	}
	_, old, err := s.agent.State().ACLTokenGet(nil, id)
	if err != nil {
		return err
	}
	if old == nil {
		return badRequest("Cannot find token %q", id)
	}
	tok.AccessorID = id
	if tok.SecretID == "" {
		tok.SecretID = old.SecretID
	}
	if err := s.writer(r).ACLWrite(&structs.ACLRequest{Op: structs.ACLTokenSet, Token: tok}); err != nil {
		return aclWriteError(err)
	}
	return s.writeToken(w, r, id)
}

func (s *server) aclTokenClone(w http.ResponseWriter, r *http.Request) error {
	if err := s.aclAccess(r, acl.AccessWrite); err != nil {
		return err
	}
	var body struct{ Description string }
	if err := decodeOptionalBody(r.Body, &body); err != nil {
		return err
	}
	_, old, err := s.agent.State().ACLTokenGet(nil, r.PathValue("id"))
	if err != nil {
		return err
	}
	if old == nil {
		return errorf(http.StatusForbidden, msgACLNotFound)
	}
	clone := &structs.ACLToken{
		Description: body.Description, Policies: old.Policies, Roles: old.Roles,
		ServiceIdentities: old.ServiceIdentities, NodeIdentities: old.NodeIdentities,
		Local: old.Local, ExpirationTime: old.ExpirationTime,
	}
	if clone.ExpirationTime != nil && !clone.ExpirationTime.After(time.Now()) {
		return badRequest("Cannot clone an expired token")
	}
	return s.createToken(w, r, clone)
}

func (s *server) aclTokenDelete(w http.ResponseWriter, r *http.Request) error {
	if err := s.aclAccess(r, acl.AccessWrite); err != nil {
		return err
	}
	if err := s.writer(r).ACLWrite(&structs.ACLRequest{Op: structs.ACLTokenDelete, ID: r.PathValue("id")}); err != nil {
		return aclWriteError(err)
	}
	return writeJSON(w, r, http.StatusOK, true)
}

func (s *server) aclTokenList(w http.ResponseWriter, r *http.Request) error {
	if err := s.aclAccess(r, acl.AccessRead); err != nil {
		return err
	}
	opts, err := s.query(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	policy, role, service, method := q.Get("policy"), q.Get("role"), q.Get("servicename"), q.Get("authmethod")
	set := 0
	for _, f := range []string{policy, role, service, method} {
		if f != "" {
			set++
		}
	}
	if set > 1 {
		return badRequest("can only filter by one of policy, role, serviceName, or authMethod at a time")
	}
	st := s.agent.State()
	return serveQuery(s, w, r, opts, func(ws memdb.WatchSet) (uint64, []*structs.ACLToken, error) {
		idx, toks, err := st.ACLTokenList(ws)
		if err != nil {
			return 0, nil, err
		}
		out := make([]*structs.ACLToken, 0, len(toks))
		for _, t := range toks {
			if (policy != "" && !hasLink(t.Policies, policy)) || (role != "" && !hasLink(t.Roles, role)) ||
				(service != "" && !hasServiceIdentity(t, service)) || method != "" {
				continue // no token comes from an auth method
			}
			out = append(out, redactToken(r, t))
		}
		return idx, out, nil
	})
}

func hasServiceIdentity(t *structs.ACLToken, service string) bool {
	return slices.ContainsFunc(t.ServiceIdentities, func(si *structs.ACLServiceIdentity) bool { return si.ServiceName == service })
}

func hasLink(links []*structs.ACLLink, id string) bool {
	return slices.ContainsFunc(links, func(l *structs.ACLLink) bool { return l.ID == id })
}

func (s *server) aclPolicyCreate(w http.ResponseWriter, r *http.Request) error {
	return s.aclPolicyWrite(w, r, "", true)
}

func (s *server) aclPolicyUpdate(w http.ResponseWriter, r *http.Request) error {
	return s.aclPolicyWrite(w, r, r.PathValue("id"), false)
}

func (s *server) aclPolicyWrite(w http.ResponseWriter, r *http.Request, id string, create bool) error {
	if err := s.aclAccess(r, acl.AccessWrite); err != nil {
		return err
	}
	var p structs.ACLPolicy
	if err := decodeBody(r.Body, &p); err != nil {
		return err
	}
	if len(p.Rules) > acl.MaxRulesSize {
		return errorf(http.StatusRequestEntityTooLarge, "Policy rules too large: %d bytes, max size: %d bytes", len(p.Rules), acl.MaxRulesSize)
	}
	switch {
	case create && p.ID != "":
		return badRequest("Cannot specify an ID when creating a policy")
	case create:
		p.ID = agent.NewACLID()
	case p.ID != "" && p.ID != id:
		return badRequest("Policy ID in URL and payload do not match")
	default:
		p.ID = id
	}
	if err := s.writer(r).ACLWrite(&structs.ACLRequest{Op: structs.ACLPolicySet, Create: create, Policy: &p}); err != nil {
		return aclWriteError(err)
	}
	_, stored, err := s.agent.State().ACLPolicyGet(nil, p.ID)
	if err != nil {
		return err
	}
	return writeJSON(w, r, http.StatusOK, stored)
}

// What a missing object answers: Consul's 403 for a policy by ID (the
// official client expects it), 404 for a policy by name and for roles
// (the client turns those into nil).
var (
	errPolicyNotFound = errorf(http.StatusForbidden, msgACLNotFound)
	errNameNotFound   = errorf(http.StatusNotFound, "ACL not found")
)

func (s *server) aclPolicyRead(w http.ResponseWriter, r *http.Request) error {
	return aclRead(s, w, r, errPolicyNotFound, func(st *state.Store, ws memdb.WatchSet) (uint64, *structs.ACLPolicy, error) {
		return st.ACLPolicyGet(ws, r.PathValue("id"))
	})
}

func (s *server) aclPolicyReadByName(w http.ResponseWriter, r *http.Request) error {
	return aclRead(s, w, r, errNameNotFound, func(st *state.Store, ws memdb.WatchSet) (uint64, *structs.ACLPolicy, error) {
		return st.ACLPolicyByName(ws, r.PathValue("name"))
	})
}

// aclRead serves one policy or role (acl:read); a missing one is notFound.
func aclRead[T any](s *server, w http.ResponseWriter, r *http.Request, notFound error, get func(*state.Store, memdb.WatchSet) (uint64, *T, error)) error {
	if err := s.aclAccess(r, acl.AccessRead); err != nil {
		return err
	}
	opts, err := s.query(r)
	if err != nil {
		return err
	}
	st := s.agent.State()
	idx, obj, err := blockingQuery(r.Context(), s, opts, func(ws memdb.WatchSet) (uint64, *T, error) { return get(st, ws) })
	if err != nil {
		return err
	}
	s.setMeta(w, opts, idx)
	if obj == nil {
		return notFound
	}
	return writeJSON(w, r, http.StatusOK, obj)
}

func (s *server) aclPolicyDelete(w http.ResponseWriter, r *http.Request) error {
	return s.aclDelete(w, r, structs.ACLPolicyDelete)
}

func (s *server) aclDelete(w http.ResponseWriter, r *http.Request, op structs.ACLOp) error {
	if err := s.aclAccess(r, acl.AccessWrite); err != nil {
		return err
	}
	if err := s.writer(r).ACLWrite(&structs.ACLRequest{Op: op, ID: r.PathValue("id")}); err != nil {
		return aclWriteError(err)
	}
	return writeJSON(w, r, http.StatusOK, true)
}

// policyListEntry is Consul's ACLPolicyListEntry: a policy without its
// rules.
type policyListEntry struct {
	ID          string
	Name        string
	Description string
	Datacenters []string `json:",omitempty"`
	Hash        []byte   `json:",omitempty"`
	CreateIndex uint64
	ModifyIndex uint64
}

func (s *server) aclPolicyList(w http.ResponseWriter, r *http.Request) error {
	if err := s.aclAccess(r, acl.AccessRead); err != nil {
		return err
	}
	opts, err := s.query(r)
	if err != nil {
		return err
	}
	st := s.agent.State()
	return serveQuery(s, w, r, opts, func(ws memdb.WatchSet) (uint64, []*policyListEntry, error) {
		idx, ps, err := st.ACLPolicyList(ws)
		out := make([]*policyListEntry, len(ps))
		for i, p := range ps {
			out[i] = &policyListEntry{ID: p.ID, Name: p.Name, Description: p.Description, Datacenters: p.Datacenters, Hash: p.Hash, CreateIndex: p.CreateIndex, ModifyIndex: p.ModifyIndex}
		}
		return idx, out, err
	})
}

func (s *server) aclRoleCreate(w http.ResponseWriter, r *http.Request) error {
	return s.aclRoleWrite(w, r, "", true)
}

func (s *server) aclRoleUpdate(w http.ResponseWriter, r *http.Request) error {
	return s.aclRoleWrite(w, r, r.PathValue("id"), false)
}

// roleBody is a role as a client sends it; identities (on roles: not
// built yet) and templated policies are refused.
type roleBody struct {
	structs.ACLRole
	ServiceIdentities json.RawMessage
	NodeIdentities    json.RawMessage
	TemplatedPolicies json.RawMessage
}

func (s *server) aclRoleWrite(w http.ResponseWriter, r *http.Request, id string, create bool) error {
	if err := s.aclAccess(r, acl.AccessWrite); err != nil {
		return err
	}
	var body roleBody
	if err := decodeBody(r.Body, &body); err != nil {
		return err
	}
	for _, raw := range []json.RawMessage{body.ServiceIdentities, body.NodeIdentities, body.TemplatedPolicies} {
		if len(raw) > 0 && !isNull(raw) && string(raw) != "[]" {
			return badRequest("service identities, node identities and templated policies are not supported")
		}
	}
	role := &body.ACLRole
	switch {
	case create && role.ID != "":
		return badRequest("Cannot specify an ID when creating a role")
	case create:
		role.ID = agent.NewACLID()
	case role.ID != "" && role.ID != id:
		return badRequest("Role ID in URL and payload do not match")
	default:
		role.ID = id
	}
	if err := s.writer(r).ACLWrite(&structs.ACLRequest{Op: structs.ACLRoleSet, Create: create, Role: role}); err != nil {
		return aclWriteError(err)
	}
	_, stored, err := s.agent.State().ACLRoleGet(nil, role.ID)
	if err != nil {
		return err
	}
	return writeJSON(w, r, http.StatusOK, stored)
}

func (s *server) aclRoleRead(w http.ResponseWriter, r *http.Request) error {
	return aclRead(s, w, r, errNameNotFound, func(st *state.Store, ws memdb.WatchSet) (uint64, *structs.ACLRole, error) {
		return st.ACLRoleGet(ws, r.PathValue("id"))
	})
}

func (s *server) aclRoleReadByName(w http.ResponseWriter, r *http.Request) error {
	return aclRead(s, w, r, errNameNotFound, func(st *state.Store, ws memdb.WatchSet) (uint64, *structs.ACLRole, error) {
		return st.ACLRoleByName(ws, r.PathValue("name"))
	})
}

func (s *server) aclRoleDelete(w http.ResponseWriter, r *http.Request) error {
	return s.aclDelete(w, r, structs.ACLRoleDelete)
}

func (s *server) aclRoleList(w http.ResponseWriter, r *http.Request) error {
	if err := s.aclAccess(r, acl.AccessRead); err != nil {
		return err
	}
	opts, err := s.query(r)
	if err != nil {
		return err
	}
	policy := r.URL.Query().Get("policy")
	st := s.agent.State()
	return serveQuery(s, w, r, opts, func(ws memdb.WatchSet) (uint64, []*structs.ACLRole, error) {
		idx, roles, err := st.ACLRoleList(ws)
		if policy == "" || err != nil {
			return idx, roles, err
		}
		out := []*structs.ACLRole{}
		for _, role := range roles {
			if hasLink(role.Policies, policy) {
				out = append(out, role)
			}
		}
		return idx, out, nil
	})
}
