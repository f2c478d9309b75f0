package acl

import "fmt"

// Access is what a rule grants. The order matters: each level includes
// the ones below it (write allows list and read; list allows read), and
// deny is below them all.
type Access uint8

const (
	// AccessUnset: no rule says anything; the default policy decides.
	AccessUnset Access = iota
	AccessDeny
	AccessRead
	AccessList
	AccessWrite
)

func (a Access) String() string {
	switch a {
	case AccessDeny:
		return "deny"
	case AccessRead:
		return "read"
	case AccessList:
		return "list"
	case AccessWrite:
		return "write"
	}
	return "unset"
}

// accessWords are the policy words of the rule language.
var accessWords = map[string]Access{
	"deny": AccessDeny, "read": AccessRead, "list": AccessList, "write": AccessWrite,
}

// merge combines two rules for the same name as Consul's policy merger
// does: deny wins, otherwise the wider access.
func merge(a, b Access) Access {
	if a == AccessDeny || b == AccessDeny {
		return AccessDeny
	}
	return max(a, b)
}

// Resource is a kind of thing a rule governs.
type Resource uint8

const (
	ResourceKey Resource = iota
	ResourceNode
	ResourceService
	ResourceSession
	ResourceEvent
	ResourceQuery
	ResourceAgent
	ResourceOperator
	ResourceKeyring
	ResourceACL
	ResourceMesh
	ResourcePeering
	numResources
)

var resourceNames = [numResources]string{
	ResourceKey: "key", ResourceNode: "node", ResourceService: "service",
	ResourceSession: "session", ResourceEvent: "event", ResourceQuery: "query",
	ResourceAgent: "agent", ResourceOperator: "operator", ResourceKeyring: "keyring",
	ResourceACL: "acl", ResourceMesh: "mesh", ResourcePeering: "peering",
}

func (r Resource) String() string {
	if r < numResources {
		return resourceNames[r]
	}
	return fmt.Sprintf("resource(%d)", uint8(r))
}

// named reports whether rules of r name things (key "a/b"); the others
// are one word for the whole cluster (operator = "read").
func (r Resource) named() bool { return r <= ResourceAgent }

// Rule is one parsed rule: for a named resource, Name is the exact name or,
// with Prefix, the prefix it governs.
type Rule struct {
	Resource Resource
	Name     string
	Prefix   bool
	Access   Access
}

// Policy is a parsed rule set.
type Policy struct {
	Rules []Rule
}
