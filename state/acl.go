package state

import (
	"errors"
	"fmt"

	"github.com/hashicorp/go-memdb"

	"github.com/coredns-coord/coredns-coord/structs"
)

// ACL errors: ErrInvalidACL is a write the API answers 400;
// ErrACLBootstrapDone a bootstrap after the first (403, with the reset
// index in its text, as Consul's).
var (
	ErrInvalidACL       = errors.New("invalid ACL write")
	ErrACLBootstrapDone = errors.New("ACL bootstrap no longer allowed")
)

// aclBootstrapKey is the index-table entry that records the index of the
// bootstrap (Consul's "acl-token-bootstrap"); snapshots carry it with the
// other index entries.
const aclBootstrapKey = "acl-token-bootstrap"

func isACLTable(t string) bool {
	for _, a := range aclTables {
		if t == a {
			return true
		}
	}
	return false
}

// ACLGeneration changes whenever a token, policy or role does (or a
// restore replaces them): a resolved token stays valid while it holds.
func (s *Store) ACLGeneration() uint64 { return s.aclGeneration.Load() }

// ACLBootstrapIndex is the index the ACLs were bootstrapped at, 0 if never.
func (s *Store) ACLBootstrapIndex() uint64 {
	tx := s.txn()
	defer tx.Abort()
	return bootstrapIndex(tx)
}

func bootstrapIndex(tx *memdb.Txn) uint64 {
	raw, err := tx.First(tableIndex, indexID, aclBootstrapKey)
	if err != nil || raw == nil {
		return 0
	}
	return raw.(*IndexEntry).Value
}

// The readers return the stored objects: callers must not change them.

// ACLTokenGet returns a token by AccessorID, or nil.
func (s *Store) ACLTokenGet(ws memdb.WatchSet, accessor string) (uint64, *structs.ACLToken, error) {
	return aclGet[*structs.ACLToken](s, ws, tableACLTokens, indexID, accessor)
}

// ACLTokenBySecret returns a token by SecretID, or nil.
func (s *Store) ACLTokenBySecret(ws memdb.WatchSet, secret string) (uint64, *structs.ACLToken, error) {
	return aclGet[*structs.ACLToken](s, ws, tableACLTokens, indexSecret, secret)
}

// ACLTokenList returns every token.
func (s *Store) ACLTokenList(ws memdb.WatchSet) (uint64, []*structs.ACLToken, error) {
	return aclList[*structs.ACLToken](s, ws, tableACLTokens)
}

// ACLPolicyGet returns a policy by ID, or nil.
func (s *Store) ACLPolicyGet(ws memdb.WatchSet, id string) (uint64, *structs.ACLPolicy, error) {
	return aclGet[*structs.ACLPolicy](s, ws, tableACLPolicies, indexID, id)
}

// ACLPolicyByName returns a policy by name, or nil.
func (s *Store) ACLPolicyByName(ws memdb.WatchSet, name string) (uint64, *structs.ACLPolicy, error) {
	return aclGet[*structs.ACLPolicy](s, ws, tableACLPolicies, indexName, name)
}

// ACLPolicyList returns every policy.
func (s *Store) ACLPolicyList(ws memdb.WatchSet) (uint64, []*structs.ACLPolicy, error) {
	return aclList[*structs.ACLPolicy](s, ws, tableACLPolicies)
}

// ACLRoleGet returns a role by ID, or nil.
func (s *Store) ACLRoleGet(ws memdb.WatchSet, id string) (uint64, *structs.ACLRole, error) {
	return aclGet[*structs.ACLRole](s, ws, tableACLRoles, indexID, id)
}

// ACLRoleByName returns a role by name, or nil.
func (s *Store) ACLRoleByName(ws memdb.WatchSet, name string) (uint64, *structs.ACLRole, error) {
	return aclGet[*structs.ACLRole](s, ws, tableACLRoles, indexName, name)
}

// ACLRoleList returns every role.
func (s *Store) ACLRoleList(ws memdb.WatchSet) (uint64, []*structs.ACLRole, error) {
	return aclList[*structs.ACLRole](s, ws, tableACLRoles)
}

// aclGet reads one row and the table's index (to block on).
func aclGet[T any](s *Store, ws memdb.WatchSet, table, index, arg string) (uint64, T, error) {
	var zero T
	tx := s.txn()
	defer tx.Abort()
	ch, raw, err := tx.FirstWatch(table, index, arg)
	if err != nil {
		return 0, zero, fmt.Errorf("state: %s lookup: %w", table, err)
	}
	ws.Add(ch)
	idx := maxIndex(tx, table)
	if raw == nil {
		return idx, zero, nil
	}
	return idx, raw.(T), nil
}

func aclList[T any](s *Store, ws memdb.WatchSet, table string) (uint64, []T, error) {
	tx := s.txn()
	defer tx.Abort()
	out, err := list[T](tx, ws, table, indexID)
	if err != nil {
		return 0, nil, err
	}
	return maxIndex(tx, table), out, nil
}

// ACLTokenPolicies are the policies a token carries, directly and through
// its roles, as one consistent read; links to deleted policies or roles
// are skipped (as Consul does).
func (s *Store) ACLTokenPolicies(tok *structs.ACLToken) []*structs.ACLPolicy {
	tx := s.txn()
	defer tx.Abort()
	var out []*structs.ACLPolicy
	seen := map[string]bool{}
	add := func(links []*structs.ACLLink) {
		for _, l := range links {
			raw, err := tx.First(tableACLPolicies, indexID, l.ID)
			if err != nil || raw == nil || seen[l.ID] {
				continue
			}
			seen[l.ID] = true
			out = append(out, raw.(*structs.ACLPolicy))
		}
	}
	add(tok.Policies)
	for _, l := range tok.Roles {
		if raw, err := tx.First(tableACLRoles, indexID, l.ID); err == nil && raw != nil {
			add(raw.(*structs.ACLRole).Policies)
		}
	}
	return out
}
