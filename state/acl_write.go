package state

import (
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/coredns-coord/coredns-coord/acl"
	"github.com/coredns-coord/coredns-coord/structs"
)

// validACLName is Consul's rule for policy and role names.
var validACLName = regexp.MustCompile(`^[A-Za-z0-9\-_]{1,128}$`)

// ACLApply applies one ACL write at idx, all or nothing. Every check is
// here, in the FSM, so that two writes racing on different servers cannot
// both pass (two policies with one name, a token naming a policy deleted
// meanwhile).
func (s *Store) ACLApply(idx uint64, req *structs.ACLRequest) error {
	tx := s.write(idx)
	defer tx.Abort()
	var err error
	switch req.Op {
	case structs.ACLTokenSet:
		err = tx.aclTokenSet(req.Token, req.Create)
	case structs.ACLTokenDelete:
		err = tx.aclTokenDelete(req.ID)
	case structs.ACLPolicySet:
		err = tx.aclPolicySet(req.Policy, req.Create)
	case structs.ACLPolicyDelete:
		err = tx.aclPolicyDelete(req.ID)
	case structs.ACLRoleSet:
		err = tx.aclRoleSet(req.Role, req.Create)
	case structs.ACLRoleDelete:
		err = tx.aclDelete(tableACLRoles, req.ID)
	case structs.ACLBootstrap:
		err = tx.aclBootstrap(req.Token, req.ResetIndex)
	case structs.ACLInit:
		err = tx.aclInit(req.Token)
	default:
		err = fmt.Errorf("%w: unknown operation %q", ErrInvalidACL, req.Op)
	}
	if err != nil {
		return err
	}
	return tx.Commit()
}

func invalidACL(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidACL, fmt.Sprintf(format, args...))
}

func (tx *writeTxn) aclTokenSet(tok *structs.ACLToken, create bool) error {
	if tok == nil || tok.AccessorID == "" || tok.SecretID == "" {
		return invalidACL("token needs an AccessorID and a SecretID")
	}
	tok = cloneToken(tok)
	raw, err := tx.First(tableACLTokens, indexID, tok.AccessorID)
	if err != nil {
		return fmt.Errorf("state: token lookup: %w", err)
	}
	if bySecret, _ := tx.First(tableACLTokens, indexSecret, tok.SecretID); bySecret != nil && bySecret.(*structs.ACLToken).AccessorID != tok.AccessorID {
		return invalidACL("SecretID is already in use")
	}
	switch {
	case create && raw != nil:
		return invalidACL("token with AccessorID %q already exists", tok.AccessorID)
	case !create && raw == nil:
		return invalidACL("cannot find token %q", tok.AccessorID)
	case raw != nil:
		old := raw.(*structs.ACLToken)
		if old.SecretID != tok.SecretID {
			return invalidACL("changing a token's SecretID is not permitted")
		}
		if tok.ExpirationTime != nil && (old.ExpirationTime == nil || !tok.ExpirationTime.Equal(*old.ExpirationTime)) {
			return invalidACL("cannot change expiration time")
		}
		tok.CreateIndex, tok.CreateTime, tok.ExpirationTime, tok.ExpirationTTL = old.CreateIndex, old.CreateTime, old.ExpirationTime, old.ExpirationTTL
	default:
		tok.CreateIndex = tx.idx
	}
	if tok.Policies, err = tx.resolveLinks(tableACLPolicies, "policy", tok.Policies); err != nil {
		return err
	}
	if tok.Roles, err = tx.resolveLinks(tableACLRoles, "role", tok.Roles); err != nil {
		return err
	}
	if err := validateIdentities(tok); err != nil {
		return err
	}
	tok.ModifyIndex = tx.idx
	return tx.aclInsert(tableACLTokens, tok)
}

func cloneToken(t *structs.ACLToken) *structs.ACLToken {
	c := *t
	c.Policies, c.Roles = cloneLinks(t.Policies), cloneLinks(t.Roles)
	c.ServiceIdentities = make([]*structs.ACLServiceIdentity, len(t.ServiceIdentities))
	for i, si := range t.ServiceIdentities {
		if si != nil {
			s := *si
			s.Datacenters = slices.Clone(si.Datacenters)
			c.ServiceIdentities[i] = &s
		}
	}
	c.NodeIdentities = make([]*structs.ACLNodeIdentity, len(t.NodeIdentities))
	for i, ni := range t.NodeIdentities {
		if ni != nil {
			n := *ni
			c.NodeIdentities[i] = &n
		}
	}
	return &c
}

// validIdentityName is Consul's rule for service and node identity names.
var validIdentityName = regexp.MustCompile(`^[a-z0-9]([a-z0-9\-_]*[a-z0-9])?$`)

func validateIdentities(tok *structs.ACLToken) error {
	for _, si := range tok.ServiceIdentities {
		if si == nil || len(si.ServiceName) > 256 || !validIdentityName.MatchString(si.ServiceName) {
			return invalidACL("a service identity needs a service name of lowercase alphanumerics, '-' and '_'")
		}
	}
	for _, ni := range tok.NodeIdentities {
		if ni == nil || len(ni.NodeName) > 256 || !validIdentityName.MatchString(ni.NodeName) {
			return invalidACL("a node identity needs a node name of lowercase alphanumerics, '-' and '_'")
		}
		if ni.Datacenter == "" {
			return invalidACL("a node identity needs a datacenter")
		}
	}
	if len(tok.ServiceIdentities) == 0 {
		tok.ServiceIdentities = nil
	}
	if len(tok.NodeIdentities) == 0 {
		tok.NodeIdentities = nil
	}
	return nil
}

func cloneLinks(links []*structs.ACLLink) []*structs.ACLLink {
	out := make([]*structs.ACLLink, len(links))
	for i, l := range links {
		c := *l
		out[i] = &c
	}
	return out
}

// resolveLinks fills in the ID and Name of every link by whichever it
// gives; a link to nothing refuses the write. Duplicates collapse.
func (tx *writeTxn) resolveLinks(table, kind string, links []*structs.ACLLink) ([]*structs.ACLLink, error) {
	out := make([]*structs.ACLLink, 0, len(links))
	seen := map[string]bool{}
	for _, l := range links {
		if l == nil {
			continue
		}
		var raw any
		var err error
		switch {
		case l.ID != "":
			raw, err = tx.First(table, indexID, l.ID)
		case l.Name != "":
			raw, err = tx.First(table, indexName, l.Name)
		default:
			return nil, invalidACL("a %s link needs an ID or a Name", kind)
		}
		if err != nil {
			return nil, fmt.Errorf("state: %s lookup: %w", kind, err)
		}
		if raw == nil {
			return nil, invalidACL("%s %q does not exist", kind, l.ID+l.Name)
		}
		var id, name string
		switch v := raw.(type) {
		case *structs.ACLPolicy:
			id, name = v.ID, v.Name
		case *structs.ACLRole:
			id, name = v.ID, v.Name
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, &structs.ACLLink{ID: id, Name: name})
		}
	}
	return out, nil
}

func (tx *writeTxn) aclTokenDelete(accessor string) error {
	if accessor == structs.ACLAnonymousTokenID {
		return invalidACL("the anonymous token cannot be deleted")
	}
	return tx.aclDelete(tableACLTokens, accessor)
}

// aclDelete removes a row by ID; a missing one is no error.
func (tx *writeTxn) aclDelete(table, id string) error {
	raw, err := tx.First(table, indexID, id)
	if err != nil {
		return fmt.Errorf("state: %s lookup: %w", table, err)
	}
	if raw == nil {
		return nil
	}
	if err := tx.Delete(table, raw); err != nil {
		return fmt.Errorf("state: delete from %s: %w", table, err)
	}
	tx.touch(table)
	return nil
}

func (tx *writeTxn) aclInsert(table string, obj any) error {
	if err := tx.Insert(table, obj); err != nil {
		return fmt.Errorf("state: insert into %s: %w", table, err)
	}
	tx.touch(table)
	return nil
}

func (tx *writeTxn) aclPolicySet(p *structs.ACLPolicy, create bool) error {
	if p == nil || p.ID == "" {
		return invalidACL("policy needs an ID")
	}
	if !validACLName.MatchString(p.Name) {
		return invalidACL("invalid policy name %q: only alphanumerics, '-' and '_', 1 to 128 characters", p.Name)
	}
	if _, err := acl.Parse(p.Rules); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidACL, err)
	}
	c := *p
	c.Datacenters = slices.Clone(p.Datacenters)
	raw, err := tx.First(tableACLPolicies, indexID, p.ID)
	if err != nil {
		return fmt.Errorf("state: policy lookup: %w", err)
	}
	if byName, _ := tx.First(tableACLPolicies, indexName, p.Name); byName != nil && byName.(*structs.ACLPolicy).ID != p.ID {
		return invalidACL("a policy named %q already exists", p.Name)
	}
	switch {
	case create && raw != nil:
		return invalidACL("policy %q already exists", p.ID)
	case !create && raw == nil:
		return invalidACL("cannot find policy %q", p.ID)
	case raw != nil:
		old := raw.(*structs.ACLPolicy)
		if isBuiltinPolicy(old.ID) && (c.Rules != old.Rules || c.Name != old.Name) {
			return invalidACL("changing the rules or the name of the builtin policy %s is not permitted", old.Name)
		}
		c.CreateIndex = old.CreateIndex
	default:
		c.CreateIndex = tx.idx
	}
	c.ModifyIndex = tx.idx
	return tx.aclInsert(tableACLPolicies, &c)
}

func (tx *writeTxn) aclPolicyDelete(id string) error {
	if isBuiltinPolicy(id) {
		return invalidACL("deletion of a builtin policy is not permitted")
	}
	return tx.aclDelete(tableACLPolicies, id)
}

func (tx *writeTxn) aclRoleSet(r *structs.ACLRole, create bool) error {
	if r == nil || r.ID == "" {
		return invalidACL("role needs an ID")
	}
	if !validACLName.MatchString(r.Name) {
		return invalidACL("invalid role name %q: only alphanumerics, '-' and '_', 1 to 128 characters", r.Name)
	}
	c := *r
	raw, err := tx.First(tableACLRoles, indexID, r.ID)
	if err != nil {
		return fmt.Errorf("state: role lookup: %w", err)
	}
	if byName, _ := tx.First(tableACLRoles, indexName, r.Name); byName != nil && byName.(*structs.ACLRole).ID != r.ID {
		return invalidACL("a role named %q already exists", r.Name)
	}
	switch {
	case create && raw != nil:
		return invalidACL("role %q already exists", r.ID)
	case !create && raw == nil:
		return invalidACL("cannot find role %q", r.ID)
	case raw != nil:
		c.CreateIndex = raw.(*structs.ACLRole).CreateIndex
	default:
		c.CreateIndex = tx.idx
	}
	if c.Policies, err = tx.resolveLinks(tableACLPolicies, "policy", r.Policies); err != nil {
		return err
	}
	c.ModifyIndex = tx.idx
	return tx.aclInsert(tableACLRoles, &c)
}

// aclBootstrap creates the first management token. After that it is
// refused, unless the operator wrote the reset index that the refusal
// names (Consul's acl-bootstrap-reset).
func (tx *writeTxn) aclBootstrap(tok *structs.ACLToken, reset uint64) error {
	if done := bootstrapIndex(tx.Txn); done != 0 && reset != done {
		return fmt.Errorf("%w (reset index: %d)", ErrACLBootstrapDone, done)
	}
	if err := tx.ensureBuiltinPolicies(); err != nil {
		return err
	}
	tok = cloneToken(tok)
	tok.Policies = []*structs.ACLLink{{ID: structs.ACLManagementPolicyID}}
	if err := tx.aclTokenSet(tok, true); err != nil {
		return err
	}
	return tx.markBootstrapped()
}

func (tx *writeTxn) markBootstrapped() error {
	if err := tx.Insert(tableIndex, &IndexEntry{Key: aclBootstrapKey, Value: tx.idx}); err != nil {
		return fmt.Errorf("state: record bootstrap: %w", err)
	}
	return nil
}

// aclInit adds what is missing of the builtin objects: the builtin
// policies, the anonymous token, and the initial management token (initial, when
// configured), which also ends bootstrapping. It changes nothing that
// exists.
func (tx *writeTxn) aclInit(initial *structs.ACLToken) error {
	if err := tx.ensureBuiltinPolicies(); err != nil {
		return err
	}
	if anon, _ := tx.First(tableACLTokens, indexID, structs.ACLAnonymousTokenID); anon == nil {
		err := tx.aclTokenSet(&structs.ACLToken{
			AccessorID:  structs.ACLAnonymousTokenID,
			SecretID:    structs.ACLAnonymousSecret,
			Description: "Anonymous Token",
			CreateTime:  initTime(initial),
		}, true)
		if err != nil {
			return err
		}
	}
	if initial == nil {
		return nil
	}
	if existing, _ := tx.First(tableACLTokens, indexSecret, initial.SecretID); existing != nil {
		return nil
	}
	tok := cloneToken(initial)
	tok.Policies = []*structs.ACLLink{{ID: structs.ACLManagementPolicyID}}
	if err := tx.aclTokenSet(tok, true); err != nil {
		return err
	}
	if bootstrapIndex(tx.Txn) == 0 {
		return tx.markBootstrapped()
	}
	return nil
}

func initTime(t *structs.ACLToken) (zero time.Time) {
	if t != nil {
		return t.CreateTime
	}
	return zero
}

// ensureBuiltinPolicies adds Consul's builtin policies that are missing:
// global-management and builtin/global-read-only (whose name the API's
// name rule would refuse, so it is inserted as it is).
func (tx *writeTxn) ensureBuiltinPolicies() error {
	for _, p := range []*structs.ACLPolicy{{
		ID:          structs.ACLManagementPolicyID,
		Name:        structs.ACLManagementPolicyName,
		Description: "Builtin Policy that grants unlimited access",
		Rules:       ManagementRules,
	}, {
		ID:          structs.ACLReadOnlyPolicyID,
		Name:        structs.ACLReadOnlyPolicyName,
		Description: "Builtin Policy that grants unlimited read-only access to all components",
		Rules:       ReadOnlyRules,
	}} {
		if raw, _ := tx.First(tableACLPolicies, indexID, p.ID); raw != nil {
			continue
		}
		p.CreateIndex, p.ModifyIndex = tx.idx, tx.idx
		if err := tx.aclInsert(tableACLPolicies, p); err != nil {
			return err
		}
	}
	return nil
}

func isBuiltinPolicy(id string) bool {
	return id == structs.ACLManagementPolicyID || id == structs.ACLReadOnlyPolicyID
}

// ReadOnlyRules are builtin/global-read-only's rules, as Consul's.
const ReadOnlyRules = `acl = "read"
agent_prefix "" {
  policy = "read"
}
event_prefix "" {
  policy = "read"
}
key_prefix "" {
  policy = "read"
}
keyring = "read"
node_prefix "" {
  policy = "read"
}
operator = "read"
mesh = "read"
peering = "read"
query_prefix "" {
  policy = "read"
}
service_prefix "" {
  policy = "read"
  intentions = "read"
}
session_prefix "" {
  policy = "read"
}`

// ManagementRules are the global-management policy's rules, as Consul
// shows them. The policy's ID, not these rules, makes a token a
// management token.
const ManagementRules = `acl = "write"
agent_prefix "" {
  policy = "write"
}
event_prefix "" {
  policy = "write"
}
key_prefix "" {
  policy = "write"
}
keyring = "write"
node_prefix "" {
  policy = "write"
}
operator = "write"
mesh = "write"
peering = "write"
query_prefix "" {
  policy = "write"
}
service_prefix "" {
  policy = "write"
  intentions = "write"
}
session_prefix "" {
  policy = "write"
}`
