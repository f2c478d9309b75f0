package structs

import (
	"time"

	"github.com/coredns-coord/coredns-coord/acl"
)

// ACL objects, with Consul's JSON field names (the official client decodes
// them as they are).

// Built-in IDs, as Consul's.
const (
	ACLManagementPolicyID   = "00000000-0000-0000-0000-000000000001"
	ACLManagementPolicyName = "global-management"
	ACLReadOnlyPolicyID     = "00000000-0000-0000-0000-000000000002"
	ACLReadOnlyPolicyName   = "builtin/global-read-only"
	ACLAnonymousTokenID     = acl.AnonymousTokenID
	ACLAnonymousSecret      = "anonymous"
	// ACLSecretHidden replaces a SecretID for readers without acl:write.
	ACLSecretHidden = "<hidden>"
)

// ACLLink names a policy or a role a token or role refers to; a write
// may give either field and the store fills in the other.
type ACLLink struct {
	ID   string `json:",omitempty"`
	Name string `json:",omitempty"`
}

// ACLToken is a token as Consul's API has it.
type ACLToken struct {
	AccessorID  string
	SecretID    string
	Description string
	Policies    []*ACLLink `json:",omitempty"`
	Roles       []*ACLLink `json:",omitempty"`
	// ServiceIdentities and NodeIdentities grant Consul's templated
	// rules for a service (write on it, read on every service and node)
	// and a node (write on it, read on every service).
	ServiceIdentities []*ACLServiceIdentity `json:",omitempty"`
	NodeIdentities    []*ACLNodeIdentity    `json:",omitempty"`
	Local             bool
	ExpirationTime    *time.Time    `json:",omitempty"`
	ExpirationTTL     time.Duration `json:",omitempty"`
	CreateTime        time.Time
	Hash              []byte `json:",omitempty"`
	CreateIndex       uint64
	ModifyIndex       uint64
}

// Expired reports whether the token's expiration time has passed at now.
func (t *ACLToken) Expired(now time.Time) bool {
	return t.ExpirationTime != nil && !now.Before(*t.ExpirationTime)
}

// ACLServiceIdentity names a service a token acts as; Datacenters, when
// set, limits where.
type ACLServiceIdentity struct {
	ServiceName string
	Datacenters []string `json:",omitempty"`
}

// ACLNodeIdentity names a node a token acts as, in one datacenter.
type ACLNodeIdentity struct {
	NodeName   string
	Datacenter string
}

// ACLPolicy is a named rule set.
type ACLPolicy struct {
	ID          string
	Name        string
	Description string
	Rules       string
	Datacenters []string `json:",omitempty"`
	Hash        []byte   `json:",omitempty"`
	CreateIndex uint64
	ModifyIndex uint64
}

// ACLRole is a named set of policies a token may carry.
type ACLRole struct {
	ID          string
	Name        string
	Description string
	Policies    []*ACLLink `json:",omitempty"`
	Hash        []byte     `json:",omitempty"`
	CreateIndex uint64
	ModifyIndex uint64
}

// ACLOp is what an ACL write does.
type ACLOp string

const (
	ACLTokenSet     ACLOp = "token-set"
	ACLTokenDelete  ACLOp = "token-delete"
	ACLPolicySet    ACLOp = "policy-set"
	ACLPolicyDelete ACLOp = "policy-delete"
	ACLRoleSet      ACLOp = "role-set"
	ACLRoleDelete   ACLOp = "role-delete"
	// ACLBootstrap creates the first management token, once (again only
	// with the reset index).
	ACLBootstrap ACLOp = "bootstrap"
	// ACLInit makes sure the built-in policy and the anonymous token exist,
	// and the initial management token when one is configured; it changes
	// nothing that is already there.
	ACLInit ACLOp = "init"
)

// ACLRequest is one ACL write (one Raft command). Create marks a set that
// must not replace an existing object.
type ACLRequest struct {
	Op     ACLOp
	Token  *ACLToken  `json:",omitempty"`
	Policy *ACLPolicy `json:",omitempty"`
	Role   *ACLRole   `json:",omitempty"`
	ID     string     `json:",omitempty"`
	Create bool       `json:",omitempty"`
	// ResetIndex is the bootstrap reset index the operator wrote (0: none).
	ResetIndex uint64 `json:",omitempty"`
}
