package agent

import (
	"errors"
	"testing"
	"time"

	"github.com/coredns-coord/coredns-coord/acl"
	"github.com/coredns-coord/coredns-coord/internal/testutil"
	"github.com/coredns-coord/coredns-coord/structs"
)

func startACLServer(t testing.TB, defaultPolicy string) *Agent {
	t.Helper()
	cfg := Config{
		Dev: true, Server: true, BootstrapExpect: 1, NodeName: "n1", Datacenter: "dc1",
		BindAddr: "127.0.0.1", ServerPort: testutil.FreePort(t), ACL: DefaultACLConfig(),
	}
	cfg.ACL.DefaultPolicy = defaultPolicy
	a, err := Start(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Stop() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, anon, _ := a.State().ACLTokenGet(nil, structs.ACLAnonymousTokenID); anon != nil && a.Ready() {
			return a
		}
		if time.Now().After(deadline) {
			t.Fatal("ACL setup not done after 20s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func writeACL(t testing.TB, a *Agent, req *structs.ACLRequest) {
	t.Helper()
	if err := a.ACLWrite(req); err != nil {
		t.Fatalf("%s: %v", req.Op, err)
	}
}

func TestResolveToken(t *testing.T) {
	t.Parallel()
	a := startACLServer(t, ACLPolicyDeny)
	writeACL(t, a, &structs.ACLRequest{Op: structs.ACLPolicySet, Create: true, Policy: &structs.ACLPolicy{ID: "p1", Name: "read", Rules: `key_prefix "" { policy = "read" }`}})
	writeACL(t, a, &structs.ACLRequest{Op: structs.ACLTokenSet, Create: true, Token: &structs.ACLToken{AccessorID: "a1", SecretID: "s1", Policies: []*structs.ACLLink{{ID: "p1"}}}})
	past := time.Now().Add(-time.Second)
	writeACL(t, a, &structs.ACLRequest{Op: structs.ACLTokenSet, Create: true, Token: &structs.ACLToken{AccessorID: "a2", SecretID: "s2", ExpirationTime: &past}})

	id, err := a.ResolveToken("s1")
	if err != nil || id.AccessorID != "a1" || !id.Authorizer.Allowed(acl.ResourceKey, "x", acl.AccessRead) || id.Authorizer.Allowed(acl.ResourceKey, "x", acl.AccessWrite) {
		t.Fatalf("s1: %+v, %v", id, err)
	}
	if again, _ := a.ResolveToken("s1"); again != id {
		t.Error("a second resolution did not come from the cache")
	}
	if _, err := a.ResolveToken("s2"); !errors.Is(err, ErrACLNotFound) {
		t.Errorf("expired token: %v", err)
	}
	if _, err := a.ResolveToken("nope"); !errors.Is(err, ErrACLNotFound) {
		t.Errorf("unknown token: %v", err)
	}
	anon, err := a.ResolveToken("")
	if err != nil || anon.AccessorID != structs.ACLAnonymousTokenID || anon.Authorizer.Allowed(acl.ResourceKey, "x", acl.AccessRead) {
		t.Fatalf("anonymous: %+v, %v", anon, err)
	}

	// A changed policy reaches the next resolution.
	writeACL(t, a, &structs.ACLRequest{Op: structs.ACLPolicySet, Policy: &structs.ACLPolicy{ID: "p1", Name: "read", Rules: `key_prefix "" { policy = "write" }`}})
	if id, _ := a.ResolveToken("s1"); !id.Authorizer.Allowed(acl.ResourceKey, "x", acl.AccessWrite) {
		t.Error("policy change not seen")
	}
	// The default token stands in for a request without one.
	a.SetToken(TokenDefault, "s1")
	if id, _ := a.ResolveToken(""); id.AccessorID != "a1" {
		t.Errorf("no token with a default token: %s", id.AccessorID)
	}
}

// ACL writes from a client agent are forwarded to the leader and reach
// the client's replica.
func TestACLWriteFromClient(t *testing.T) {
	t.Parallel()
	srv, cli := startClusterWith(t, 1, 1, func(c *Config) { c.ACL = DefaultACLConfig() })
	client := cli[0]
	tok, err := client.ACLBootstrap()
	if err != nil {
		t.Fatalf("bootstrap through a client: %v", err)
	}
	if _, err := srv[0].ACLBootstrap(); err == nil {
		t.Fatal("a second bootstrap through the server was accepted")
	}
	id, err := client.ResolveToken(tok.SecretID)
	if err != nil || id.Authorizer != acl.ManageAll() {
		t.Fatalf("bootstrap token on the client: %+v, %v", id, err)
	}
}

func BenchmarkResolveToken(b *testing.B) {
	a := startACLServer(b, ACLPolicyDeny)
	writeACL(b, a, &structs.ACLRequest{Op: structs.ACLPolicySet, Create: true, Policy: &structs.ACLPolicy{ID: "p1", Name: "read", Rules: `key_prefix "app/" { policy = "read" }`}})
	writeACL(b, a, &structs.ACLRequest{Op: structs.ACLTokenSet, Create: true, Token: &structs.ACLToken{AccessorID: "a1", SecretID: "s1", Policies: []*structs.ACLLink{{ID: "p1"}}}})
	if _, err := a.ResolveToken("s1"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		id, _ := a.ResolveToken("s1")
		id.Authorizer.Allowed(acl.ResourceKey, "app/config", acl.AccessRead)
	}
}
