package agent

import (
	"errors"
	"testing"
	"time"

	"github.com/coredns-coord/coredns-coord/acl"
	"github.com/coredns-coord/coredns-coord/structs"
)

// startCacheCluster is one server and clients under default deny with a
// token "sapp" that writes app/, each client's token_ttl and down_policy
// from the map by node name (n1, n2, ...).
func startCacheCluster(t *testing.T, clients map[string]ACLConfig) (*Agent, map[string]*Agent) {
	t.Helper()
	srv, cli := startClusterWith(t, 1, len(clients), func(c *Config) {
		c.ACL = DefaultACLConfig()
		c.ACL.DefaultPolicy = ACLPolicyDeny
		c.ACL.InitialManagement = forwardTestManagement
		c.ACL.AgentToken = forwardTestManagement
		if o, ok := clients[c.NodeName]; ok {
			c.ACL.TokenTTL, c.ACL.DownPolicy = o.TokenTTL, o.DownPolicy
		}
	})
	writeACL(t, srv[0], &structs.ACLRequest{Op: structs.ACLPolicySet, Create: true, Policy: &structs.ACLPolicy{ID: "papp", Name: "app", Rules: `key_prefix "app/" { policy = "write" }`}})
	writeACL(t, srv[0], &structs.ACLRequest{Op: structs.ACLTokenSet, Create: true, Token: &structs.ACLToken{AccessorID: "aapp", SecretID: "sapp", Policies: []*structs.ACLLink{{ID: "papp"}}}})
	byName := map[string]*Agent{}
	for _, c := range cli {
		byName[c.cfg.NodeName] = c
	}
	return srv[0], byName
}

func canWriteApp(id *Identity) bool {
	return id.Authorizer.Allowed(acl.ResourceKey, "app/x", acl.AccessWrite)
}

// A client resolves a token through a server and keeps it for token_ttl:
// a token deleted on the servers still works there until then.
func TestClientTokenCache(t *testing.T) {
	t.Parallel()
	srv, cli := startCacheCluster(t, map[string]ACLConfig{"n1": {TokenTTL: time.Hour, DownPolicy: ACLDownExtendCache}})
	client := cli["n1"]
	id, err := client.ResolveToken("sapp")
	if err != nil || id.AccessorID != "aapp" || !canWriteApp(id) {
		t.Fatalf("resolve through a server: %+v, %v", id, err)
	}
	if _, err := client.ResolveToken("no-such-token"); !errors.Is(err, ErrACLNotFound) {
		t.Fatalf("unknown token: %v", err)
	}
	writeACL(t, srv, &structs.ACLRequest{Op: structs.ACLTokenDelete, ID: "aapp"})
	if again, err := client.ResolveToken("sapp"); err != nil || again != id {
		t.Fatalf("within token_ttl the cached identity answers: %+v, %v", again, err)
	}
	if _, err := srv.ResolveToken("sapp"); !errors.Is(err, ErrACLNotFound) {
		t.Fatalf("the server still resolves a deleted token: %v", err)
	}
}

// With every server gone, down_policy decides: extend-cache keeps what was
// resolved (and denies what was not), deny denies, allow allows.
func TestClientDownPolicy(t *testing.T) {
	t.Parallel()
	const ttl = time.Nanosecond // every resolution asks a server
	srv, cli := startCacheCluster(t, map[string]ACLConfig{
		"n1": {TokenTTL: ttl, DownPolicy: ACLDownExtendCache},
		"n2": {TokenTTL: ttl, DownPolicy: ACLPolicyDeny},
		"n3": {TokenTTL: ttl, DownPolicy: ACLPolicyAllow},
	})
	for name, c := range cli {
		if id, err := c.ResolveToken("sapp"); err != nil || !canWriteApp(id) {
			t.Fatalf("%s before the servers went: %+v, %v", name, id, err)
		}
	}
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		node, secret string
		writes       bool
	}{
		{"n1", "sapp", true},        // cached, kept
		{"n1", "never-seen", false}, // nothing cached: nothing allowed
		{"n2", "sapp", false},       // deny
		{"n3", "never-seen", true},  // allow
	} {
		id, err := cli[tc.node].ResolveToken(tc.secret)
		if err != nil {
			t.Fatalf("%s %s with the servers gone: %v", tc.node, tc.secret, err)
		}
		if canWriteApp(id) != tc.writes {
			t.Errorf("%s %s with the servers gone: may write app/ %v, want %v", tc.node, tc.secret, !tc.writes, tc.writes)
		}
	}
}

// A refresh that finds the same token and policies keeps the identity
// (what DNS cached by its authorizer stays); a changed policy makes a new
// one.
func TestClientTokenRefreshKeepsIdentity(t *testing.T) {
	t.Parallel()
	srv, cli := startCacheCluster(t, map[string]ACLConfig{"n1": {TokenTTL: time.Nanosecond, DownPolicy: ACLDownExtendCache}})
	client := cli["n1"]
	first, err := client.ResolveToken("sapp")
	if err != nil {
		t.Fatal(err)
	}
	if again, err := client.ResolveToken("sapp"); err != nil || again != first {
		t.Fatalf("refresh of an unchanged token: %p, %v; want %p", again, err, first)
	}
	writeACL(t, srv, &structs.ACLRequest{Op: structs.ACLPolicySet, Policy: &structs.ACLPolicy{ID: "papp", Name: "app", Rules: `key_prefix "app/" { policy = "read" }`}})
	changed, err := client.ResolveToken("sapp")
	if err != nil || changed == first || canWriteApp(changed) {
		t.Fatalf("refresh after the policy changed: %+v, %v", changed, err)
	}
}
