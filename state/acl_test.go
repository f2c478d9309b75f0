package state

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/coredns-coord/coredns-coord/structs"
)

func aclApply(t *testing.T, s *Store, idx uint64, req *structs.ACLRequest) {
	t.Helper()
	if err := s.ACLApply(idx, req); err != nil {
		t.Fatalf("ACLApply %s: %v", req.Op, err)
	}
}

func TestACLWritesAndSnapshot(t *testing.T) {
	s := NewStore()
	gen := s.ACLGeneration()
	aclApply(t, s, 1, &structs.ACLRequest{Op: structs.ACLInit})
	if s.ACLGeneration() == gen {
		t.Error("generation did not move")
	}
	aclApply(t, s, 2, &structs.ACLRequest{Op: structs.ACLPolicySet, Create: true, Policy: &structs.ACLPolicy{ID: "p1", Name: "kv-read", Rules: `key_prefix "" { policy = "read" }`}})
	aclApply(t, s, 3, &structs.ACLRequest{Op: structs.ACLRoleSet, Create: true, Role: &structs.ACLRole{ID: "r1", Name: "reader", Policies: []*structs.ACLLink{{Name: "kv-read"}}}})
	aclApply(t, s, 4, &structs.ACLRequest{Op: structs.ACLTokenSet, Create: true, Token: &structs.ACLToken{AccessorID: "a1", SecretID: "s1", Roles: []*structs.ACLLink{{ID: "r1"}}}})

	_, tok, _ := s.ACLTokenBySecret(nil, "s1")
	if tok == nil || tok.Roles[0].Name != "reader" || tok.CreateIndex != 4 {
		t.Fatalf("token = %+v", tok)
	}
	if ps := s.ACLTokenPolicies(tok); len(ps) != 1 || ps[0].ID != "p1" {
		t.Fatalf("token policies = %+v", ps)
	}

	// Refusals change nothing.
	for _, req := range []*structs.ACLRequest{
		{Op: structs.ACLPolicySet, Create: true, Policy: &structs.ACLPolicy{ID: "p2", Name: "kv-read"}},
		{Op: structs.ACLPolicySet, Create: true, Policy: &structs.ACLPolicy{ID: "p3", Name: "bad", Rules: "nope = \"read\""}},
		{Op: structs.ACLPolicySet, Create: true, Policy: &structs.ACLPolicy{ID: "p4", Name: "bad name"}},
		{Op: structs.ACLTokenSet, Create: true, Token: &structs.ACLToken{AccessorID: "a2", SecretID: "s2", Policies: []*structs.ACLLink{{Name: "missing"}}}},
		{Op: structs.ACLTokenSet, Create: true, Token: &structs.ACLToken{AccessorID: "a3", SecretID: "s1"}},
		{Op: structs.ACLTokenSet, Token: &structs.ACLToken{AccessorID: "a1", SecretID: "other"}},
		{Op: structs.ACLPolicyDelete, ID: structs.ACLManagementPolicyID},
		{Op: structs.ACLTokenDelete, ID: structs.ACLAnonymousTokenID},
	} {
		before := s.ACLGeneration()
		if err := s.ACLApply(5, req); !errors.Is(err, ErrInvalidACL) {
			t.Errorf("%s %+v: err = %v, want ErrInvalidACL", req.Op, req, err)
		}
		if s.ACLGeneration() != before {
			t.Errorf("%s: a refused write changed the ACL tables", req.Op)
		}
	}
	if err := s.ACLApply(5, &structs.ACLRequest{Op: structs.ACLPolicySet, Create: true, Policy: &structs.ACLPolicy{ID: "p3", Name: "bad", Rules: "key \"a\" {\n policy = \"maybe\"\n}"}}); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("rule error without its line: %v", err)
	}

	// Bootstrap once, then refused with the reset index; the reset index
	// allows it again.
	aclApply(t, s, 6, &structs.ACLRequest{Op: structs.ACLBootstrap, Token: &structs.ACLToken{AccessorID: "boot", SecretID: "boot-secret"}})
	err := s.ACLApply(7, &structs.ACLRequest{Op: structs.ACLBootstrap, Token: &structs.ACLToken{AccessorID: "boot2", SecretID: "boot-secret2"}})
	if !errors.Is(err, ErrACLBootstrapDone) || !strings.Contains(err.Error(), "reset index: 6") {
		t.Fatalf("second bootstrap: %v", err)
	}
	aclApply(t, s, 8, &structs.ACLRequest{Op: structs.ACLBootstrap, ResetIndex: 6, Token: &structs.ACLToken{AccessorID: "boot2", SecretID: "boot-secret2"}})

	// A snapshot carries everything, the bootstrap index included.
	var buf bytes.Buffer
	sn := s.Snapshot()
	if err := sn.Persist(&buf); err != nil {
		t.Fatal(err)
	}
	sn.Release()
	r := NewStore()
	if err := r.Restore(&buf); err != nil {
		t.Fatal(err)
	}
	_, toks, _ := r.ACLTokenList(nil)
	_, pols, _ := r.ACLPolicyList(nil)
	_, roles, _ := r.ACLRoleList(nil)
	if len(toks) != 4 || len(pols) != 3 || len(roles) != 1 || r.ACLBootstrapIndex() != 8 {
		t.Errorf("restored %d tokens, %d policies, %d roles, bootstrap %d", len(toks), len(pols), len(roles), r.ACLBootstrapIndex())
	}
}

// A snapshot written before the ACL tables existed still loads, with no
// ACL state.
func TestACLOldSnapshotLoads(t *testing.T) {
	old := `{"Version":1,"Index":3}
{"Node":{"Node":"n1","Address":"10.0.0.1","CreateIndex":3,"ModifyIndex":3}}
{"Index":{"Key":"nodes","Value":3}}
`
	s := NewStore()
	aclApply(t, s, 1, &structs.ACLRequest{Op: structs.ACLInit})
	if err := s.Restore(strings.NewReader(old)); err != nil {
		t.Fatal(err)
	}
	_, toks, _ := s.ACLTokenList(nil)
	_, n, _ := s.GetNode(nil, "n1")
	if len(toks) != 0 || n == nil {
		t.Errorf("after restore: %d tokens, node %v", len(toks), n)
	}
}
