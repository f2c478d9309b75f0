package aclcheck

import "github.com/coredns-coord/coredns-coord/acl"

// Token is a resolved token as the checks need it: who (for the refusal's
// wording) and what it may do.
type Token struct {
	AccessorID string
	Authorizer *acl.Authorizer
}

// Need refuses with Consul's permission-denied error unless the token
// grants want on name of res.
func (t Token) Need(res acl.Resource, name string, want acl.Access) error {
	if t.Authorizer.Allowed(res, name, want) {
		return nil
	}
	return t.denied(res, name, want)
}

// NeedKeyWritePrefix: write on every key under prefix (no rule below it
// may say less), as Consul's KeyWritePrefix, for a recursive delete.
func (t Token) NeedKeyWritePrefix(prefix string) error {
	if t.Authorizer.KeyWritePrefix(prefix) {
		return nil
	}
	return t.denied(acl.ResourceKey, prefix, acl.AccessWrite)
}

func (t Token) denied(res acl.Resource, name string, want acl.Access) error {
	return &acl.PermissionDeniedError{AccessorID: t.AccessorID, Resource: res, Access: want, Name: name}
}
