package httpapi_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/consul/api"

	"github.com/coredns-coord/coredns-coord/agent"
	"github.com/coredns-coord/coredns-coord/httpapi"
	"github.com/coredns-coord/coredns-coord/internal/testagent"
)

// startACLServer starts a dev agent with ACLs on (defaultPolicy) and, if
// management is not "", that initial management token; it waits until
// the servers' ACL setup has landed.
func startACLServer(t *testing.T, defaultPolicy, management string) *testServer {
	t.Helper()
	cfg := testagent.DevConfig(t, "node1", "127.0.0.1:0")
	cfg.ACL = agent.DefaultACLConfig()
	cfg.ACL.DefaultPolicy = defaultPolicy
	cfg.ACL.InitialManagement = management
	a := testagent.Start(t, cfg, httpapi.New)
	addr := a.HTTPAddr().String()
	client, err := api.NewClient(&api.Config{Address: addr, Token: management})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, anon, _ := a.State().ACLTokenGet(nil, "00000000-0000-0000-0000-000000000002")
		_, tok, _ := a.State().ACLTokenBySecret(nil, management)
		if anon != nil && (management == "" || tok != nil) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("ACL setup did not land within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return &testServer{agent: a, client: client, base: "http://" + addr}
}

// clientWith is a Consul client for s that sends token.
func (s *testServer) clientWith(t *testing.T, token string) *api.Client {
	t.Helper()
	c, err := api.NewClient(&api.Config{Address: strings.TrimPrefix(s.base, "http://"), Token: token})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestACLBootstrapAndCRUD(t *testing.T) {
	t.Parallel()
	s := startACLServer(t, "deny", "")
	acl := s.client.ACL()

	// Before bootstrap an unknown token says so; bootstrap ignores it.
	stale := s.clientWith(t, "left-over-token")
	if _, _, err := stale.ACL().TokenList(nil); !isStatus(err, http.StatusForbidden) ||
		!strings.Contains(err.Error(), "ACL system must be bootstrapped before making any requests that require authorization: ACL not found") {
		t.Fatalf("unknown token before bootstrap: %v", err)
	}
	boot, _, err := stale.ACL().Bootstrap()
	if err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	if boot.SecretID == "" || len(boot.Policies) != 1 || boot.Policies[0].Name != "global-management" {
		t.Fatalf("bootstrap token %+v", boot)
	}
	if _, _, err := acl.Bootstrap(); !isStatus(err, http.StatusForbidden) || !strings.Contains(err.Error(), "ACL bootstrap no longer allowed (reset index:") {
		t.Fatalf("second bootstrap: %v", err)
	}

	mgmt := s.clientWith(t, boot.SecretID).ACL()
	self, _, err := mgmt.TokenReadSelf(nil)
	if err != nil || self.AccessorID != boot.AccessorID || self.SecretID != boot.SecretID {
		t.Fatalf("token/self = %+v, %v", self, err)
	}

	// Policies.
	if _, _, err := mgmt.PolicyCreate(&api.ACLPolicy{Name: "bad", Rules: "key \"a\" {\n  policy = \"maybe\"\n}"}, nil); !isStatus(err, http.StatusBadRequest) || !strings.Contains(err.Error(), "line 2, column") {
		t.Fatalf("bad rules: %v", err)
	}
	kvRead, _, err := mgmt.PolicyCreate(&api.ACLPolicy{Name: "kv-read", Description: "read keys", Rules: `key_prefix "" { policy = "read" }`}, nil)
	if err != nil || kvRead.ID == "" || kvRead.CreateIndex == 0 {
		t.Fatalf("policy create: %+v, %v", kvRead, err)
	}
	if _, _, err := mgmt.PolicyCreate(&api.ACLPolicy{Name: "kv-read"}, nil); !isStatus(err, http.StatusBadRequest) {
		t.Fatalf("duplicate policy name: %v", err)
	}
	got, _, err := mgmt.PolicyRead(kvRead.ID, nil)
	if err != nil || got.Rules != kvRead.Rules {
		t.Fatalf("policy read: %+v, %v", got, err)
	}
	if got, _, err = mgmt.PolicyReadByName("kv-read", nil); err != nil || got == nil || got.ID != kvRead.ID {
		t.Fatalf("policy read by name: %+v, %v", got, err)
	}
	if got, _, err = mgmt.PolicyReadByName("nope", nil); err != nil || got != nil {
		t.Fatalf("missing policy by name: %+v, %v", got, err)
	}
	kvRead.Description = "read every key"
	if upd, _, err := mgmt.PolicyUpdate(kvRead, nil); err != nil || upd.Description != "read every key" || upd.ModifyIndex <= kvRead.CreateIndex {
		t.Fatalf("policy update: %+v, %v", upd, err)
	}
	policies, _, err := mgmt.PolicyList(nil)
	if err != nil || len(policies) != 3 { // the two builtin ones and kv-read
		t.Fatalf("policy list: %d, %v", len(policies), err)
	}
	if _, err := mgmt.PolicyDelete("00000000-0000-0000-0000-000000000001", nil); !isStatus(err, http.StatusBadRequest) {
		t.Fatalf("deleting global-management: %v", err)
	}

	// Roles.
	role, _, err := mgmt.RoleCreate(&api.ACLRole{Name: "reader", Policies: []*api.ACLRolePolicyLink{{Name: "kv-read"}}}, nil)
	if err != nil || role.Policies[0].ID != kvRead.ID {
		t.Fatalf("role create: %+v, %v", role, err)
	}
	if r, _, err := mgmt.RoleReadByName("reader", nil); err != nil || r == nil || r.ID != role.ID {
		t.Fatalf("role by name: %+v, %v", r, err)
	}
	if r, _, err := mgmt.RoleRead("no-such-role", nil); err != nil || r != nil {
		t.Fatalf("missing role: %+v, %v", r, err)
	}
	role.Description = "reads"
	if r, _, err := mgmt.RoleUpdate(role, nil); err != nil || r.Description != "reads" {
		t.Fatalf("role update: %+v, %v", r, err)
	}
	if roles, _, err := mgmt.RoleList(nil); err != nil || len(roles) != 1 {
		t.Fatalf("role list: %+v, %v", roles, err)
	}

	// Tokens.
	if _, _, err := mgmt.TokenCreate(&api.ACLToken{Policies: []*api.ACLTokenPolicyLink{{Name: "missing"}}}, nil); !isStatus(err, http.StatusBadRequest) {
		t.Fatalf("token with a missing policy: %v", err)
	}
	tok, _, err := mgmt.TokenCreate(&api.ACLToken{Description: "reader", Roles: []*api.ACLTokenRoleLink{{ID: role.ID}}, ExpirationTTL: time.Hour}, nil)
	if err != nil || tok.SecretID == "" || tok.ExpirationTime == nil || tok.Roles[0].Name != "reader" {
		t.Fatalf("token create: %+v, %v", tok, err)
	}
	tok.Policies = []*api.ACLTokenPolicyLink{{ID: kvRead.ID}}
	tok.Description = "reader with a policy"
	upd, _, err := mgmt.TokenUpdate(tok, nil)
	if err != nil || upd.Description != "reader with a policy" || len(upd.Policies) != 1 || upd.SecretID != tok.SecretID {
		t.Fatalf("token update: %+v, %v", upd, err)
	}
	clone, _, err := mgmt.TokenClone(tok.AccessorID, "a copy", nil)
	if err != nil || clone.AccessorID == tok.AccessorID || clone.SecretID == tok.SecretID || clone.Description != "a copy" || len(clone.Policies) != 1 {
		t.Fatalf("token clone: %+v, %v", clone, err)
	}
	if read, _, err := mgmt.TokenRead(clone.AccessorID, nil); err != nil || read.SecretID != clone.SecretID {
		t.Fatalf("token read: %+v, %v", read, err)
	}
	filtered, _, err := mgmt.TokenListFiltered(api.ACLTokenFilterOptions{Policy: kvRead.ID}, nil)
	if err != nil || len(filtered) != 2 {
		t.Fatalf("tokens with policy kv-read: %d, %v", len(filtered), err)
	}
	all, _, err := mgmt.TokenList(nil)
	if err != nil || len(all) != 4 { // anonymous, bootstrap, tok, clone
		t.Fatalf("token list: %d, %v", len(all), err)
	}
	for _, e := range all {
		if e.SecretID == "" || e.SecretID == "<hidden>" {
			t.Errorf("acl:write reader got SecretID %q for %s", e.SecretID, e.AccessorID)
		}
	}

	// acl:read sees no secrets; no acl rule, no ACL endpoints.
	aclRead, _, err := mgmt.PolicyCreate(&api.ACLPolicy{Name: "acl-read", Rules: `acl = "read"`}, nil)
	if err != nil {
		t.Fatal(err)
	}
	reader, _, err := mgmt.TokenCreate(&api.ACLToken{Policies: []*api.ACLTokenPolicyLink{{ID: aclRead.ID}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	list, _, err := s.clientWith(t, reader.SecretID).ACL().TokenList(nil)
	if err != nil || len(list) != 5 {
		t.Fatalf("acl:read token list: %d, %v", len(list), err)
	}
	for _, e := range list {
		if e.SecretID != "<hidden>" {
			t.Errorf("acl:read reader got SecretID %q", e.SecretID)
		}
	}
	if _, _, err := s.clientWith(t, reader.SecretID).ACL().PolicyCreate(&api.ACLPolicy{Name: "x"}, nil); !isStatus(err, http.StatusForbidden) ||
		!strings.Contains(err.Error(), "Permission denied: token with AccessorID '"+reader.AccessorID+"' lacks permission 'acl:write'") {
		t.Fatalf("acl:read creating a policy: %v", err)
	}
	if _, _, err := s.clientWith(t, tok.SecretID).ACL().TokenList(nil); !isStatus(err, http.StatusForbidden) {
		t.Fatalf("no acl rule, token list: %v", err)
	}

	if _, err := mgmt.TokenDelete(clone.AccessorID, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := mgmt.TokenRead(clone.AccessorID, nil); !isStatus(err, http.StatusForbidden) || !strings.Contains(err.Error(), "ACL not found") {
		t.Fatalf("deleted token read: %v", err)
	}
	if _, _, err := s.clientWith(t, clone.SecretID).KV().Get("k", nil); !isStatus(err, http.StatusForbidden) || !strings.Contains(err.Error(), "ACL not found") {
		t.Fatalf("deleted token used: %v", err)
	}
	if _, err := mgmt.RoleDelete(role.ID, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := mgmt.PolicyDelete(kvRead.ID, nil); err != nil {
		t.Fatal(err)
	}
}

func TestACLInitialManagementEndsBootstrap(t *testing.T) {
	t.Parallel()
	secret := uuid.NewString()
	s := startACLServer(t, "deny", secret)
	if _, _, err := s.client.ACL().Bootstrap(); !isStatus(err, http.StatusForbidden) || !strings.Contains(err.Error(), "reset index") {
		t.Fatalf("bootstrap after initial_management: %v", err)
	}
	self, _, err := s.client.ACL().TokenReadSelf(nil)
	if err != nil || self.SecretID != secret || self.Policies[0].ID != "00000000-0000-0000-0000-000000000001" {
		t.Fatalf("initial management token: %+v, %v", self, err)
	}
}

func TestACLOffLeavesEverythingOpen(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	if _, _, err := s.client.ACL().Bootstrap(); !isStatus(err, http.StatusUnauthorized) || !strings.Contains(err.Error(), "ACL support disabled") {
		t.Fatalf("bootstrap with ACLs off: %v", err)
	}
	c := s.clientWith(t, "any-token-at-all")
	if _, err := c.KV().Put(&api.KVPair{Key: "k", Value: []byte("v")}, nil); err != nil {
		t.Fatalf("write with a token, ACLs off: %v", err)
	}
	resp, _ := s.do(t, "GET", "/v1/kv/?recurse", nil, "X-Consul-Token", "whatever")
	if resp.StatusCode != 200 || resp.Header.Get("X-Consul-Results-Filtered-By-ACLs") != "" {
		t.Fatalf("recurse with ACLs off: %d %v", resp.StatusCode, resp.Header)
	}
}

// A snapshot carries the ACL state: restoring it brings back a token
// deleted since, and the token works again.
func TestACLSnapshotRestore(t *testing.T) {
	t.Parallel()
	s := startACLServer(t, "deny", uuid.NewString())
	tok := tokenWithRules(t, s.client, `key_prefix "" { policy = "read" }`)
	snap, _, err := s.client.Snapshot().Save(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	var buf strings.Builder
	if _, err := io.Copy(&buf, snap); err != nil {
		t.Fatal(err)
	}
	if _, err := s.client.ACL().TokenDelete(tok.AccessorID, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.clientWith(t, tok.SecretID).KV().Keys("", "", nil); !isStatus(err, http.StatusForbidden) {
		t.Fatalf("deleted token: %v", err)
	}
	// Another datacenter is refused before the body is read (the official
	// client's TestAPI_Snapshot_Options).
	if err := s.client.Snapshot().Restore(&api.WriteOptions{Datacenter: "nope"}, strings.NewReader("")); !isStatus(err, http.StatusNotFound) || !strings.Contains(err.Error(), "No path to datacenter") {
		t.Fatalf("restore into another datacenter: %v", err)
	}
	if err := s.client.Snapshot().Restore(nil, strings.NewReader(buf.String())); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.clientWith(t, tok.SecretID).KV().Get("x", nil); err != nil {
		t.Fatalf("restored token: %v", err)
	}
}
