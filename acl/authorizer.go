package acl

import (
	"errors"
	"fmt"
	"strings"

	iradix "github.com/hashicorp/go-immutable-radix"
)

// Authorizer answers what a token may do. It is immutable once compiled;
// many requests share one.
type Authorizer struct {
	// named holds, per named resource, the exact rules and the prefix
	// rules (a radix tree of Access).
	named [ResourceAgent + 1]namedRules
	// simple holds the one-word rules (operator, keyring, acl, ...).
	simple [numResources]Access
	// fallback is what the default policy grants where no rule matches.
	fallback Access
	// manage: acl rules fall back to the default too (a management
	// token); otherwise acl:read and acl:write need a rule, even under
	// default allow, as in Consul.
	manage bool
}

type namedRules struct {
	exact  map[string]Access
	prefix *iradix.Tree
}

// Compile merges policies into an authorizer over the default policy
// (allow: write wherever no rule says otherwise; deny: nothing).
func Compile(defaultAllow bool, policies ...*Policy) *Authorizer {
	a := &Authorizer{fallback: AccessDeny}
	if defaultAllow {
		a.fallback = AccessWrite
	}
	var txns [ResourceAgent + 1]*iradix.Txn
	for _, p := range policies {
		for _, r := range p.Rules {
			if !r.Resource.named() {
				a.simple[r.Resource] = mergeSet(a.simple[r.Resource], r.Access)
				continue
			}
			n := &a.named[r.Resource]
			if !r.Prefix {
				if n.exact == nil {
					n.exact = map[string]Access{}
				}
				n.exact[r.Name] = mergeSet(n.exact[r.Name], r.Access)
				continue
			}
			if txns[r.Resource] == nil {
				txns[r.Resource] = iradix.New().Txn()
			}
			t := txns[r.Resource]
			old, _ := t.Get([]byte(r.Name))
			prev, _ := old.(Access)
			t.Insert([]byte(r.Name), mergeSet(prev, r.Access))
		}
	}
	for res, t := range txns {
		if t != nil {
			a.named[res].prefix = t.Commit()
		}
	}
	return a
}

// mergeSet merges a rule into what is already set for the same name.
func mergeSet(prev, next Access) Access {
	if prev == AccessUnset {
		return next
	}
	return merge(prev, next)
}

var (
	allowAll  = Compile(true)
	denyAll   = Compile(false)
	manageAll = &Authorizer{fallback: AccessWrite, manage: true}
)

// AllowAll is the authorizer of default allow without a token's rules.
func AllowAll() *Authorizer { return allowAll }

// DenyAll grants nothing.
func DenyAll() *Authorizer { return denyAll }

// ManageAll is a management token's authorizer: everything.
func ManageAll() *Authorizer { return manageAll }

// Access is what the authorizer grants on name of res: the exact rule,
// else the longest prefix rule, else the default.
func (a *Authorizer) Access(res Resource, name string) Access {
	if res.named() {
		n := &a.named[res]
		if acc, ok := n.exact[name]; ok {
			return acc
		}
		if n.prefix != nil {
			if _, v, ok := n.prefix.Root().LongestPrefix([]byte(name)); ok {
				return v.(Access)
			}
		}
	} else if acc := a.simple[res]; acc != AccessUnset {
		return acc
	}
	if res == ResourceACL && !a.manage {
		return AccessDeny
	}
	return a.fallback
}

// Allowed reports whether the authorizer grants want (or more) on name.
func (a *Authorizer) Allowed(res Resource, name string, want Access) bool {
	return a.Access(res, name) >= want
}

// KeyWritePrefix reports whether every key under prefix may be written:
// the rule that governs the prefix grants write and no rule under it
// grants less (Consul's check for a recursive delete).
func (a *Authorizer) KeyWritePrefix(prefix string) bool {
	if a.Access(ResourceKey, prefix) < AccessWrite {
		return false
	}
	n := &a.named[ResourceKey]
	for name, acc := range n.exact {
		if acc < AccessWrite && strings.HasPrefix(name, prefix) {
			return false
		}
	}
	ok := true
	if n.prefix != nil {
		n.prefix.Root().WalkPrefix([]byte(prefix), func(_ []byte, v any) bool {
			ok = v.(Access) >= AccessWrite
			return !ok
		})
	}
	return ok
}

// PermissionDeniedError is Consul's refusal, worded as Consul words it
// (clients and tools match on it).
type PermissionDeniedError struct {
	AccessorID string
	Resource   Resource
	Access     Access
	Name       string
}

// ErrPermissionDenied is what every PermissionDeniedError is (errors.Is),
// so that a refusal keeps its meaning when it crosses the server port.
var ErrPermissionDenied = errors.New("Permission denied")

// ErrNotFound is a token that does not exist or has expired (Consul's
// "ACL not found", a 403).
var ErrNotFound = errors.New("ACL not found")

func (e *PermissionDeniedError) Is(target error) bool { return target == ErrPermissionDenied }

func (e *PermissionDeniedError) Error() string {
	var b strings.Builder
	anonymous := e.AccessorID == AnonymousTokenID
	if anonymous {
		b.WriteString("Permission denied: anonymous token")
	} else {
		fmt.Fprintf(&b, "Permission denied: token with AccessorID '%s'", e.AccessorID)
	}
	fmt.Fprintf(&b, " lacks permission '%s:%s'", e.Resource, e.Access)
	if e.Name != "" {
		fmt.Fprintf(&b, " on %q", e.Name)
	}
	if anonymous {
		b.WriteString(". The anonymous token is used implicitly when a request does not specify a token.")
	}
	return b.String()
}

// AnonymousTokenID is the anonymous token's AccessorID, as Consul's.
const AnonymousTokenID = "00000000-0000-0000-0000-000000000002"
