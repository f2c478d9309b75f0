package agent

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/coredns-coord/coredns-coord/acl"
	"github.com/coredns-coord/coredns-coord/raftstore"
	"github.com/coredns-coord/coredns-coord/rpc"
	"github.com/coredns-coord/coredns-coord/structs"
)

const forwardTestManagement = "7d3c1a52-5a0b-4c1e-9d51-2f6a8c3e9b10"

// startDenyCluster is servers and clients under default deny whose agents
// write with the management token (their own node and services).
func startDenyCluster(t *testing.T, servers, clients int) (srv, cli []*Agent) {
	t.Helper()
	srv, cli = startClusterWith(t, servers, clients, func(c *Config) {
		c.ACL = DefaultACLConfig()
		c.ACL.DefaultPolicy = ACLPolicyDeny
		c.ACL.InitialManagement = forwardTestManagement
		c.ACL.AgentToken = forwardTestManagement
	})
	deadline := time.Now().Add(20 * time.Second)
	for _, a := range append(append([]*Agent{}, srv...), cli...) {
		for !a.aclsInitialized() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: ACL setup not done after 20s", a.cfg.NodeName)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return srv, cli
}

// Whoever reaches the server port is behind the ACLs: the leader resolves
// the token a forwarded write carries against its own ACL state and checks
// the command with the HTTP API's rules.
func TestForwardedWriteChecked(t *testing.T) {
	t.Parallel()
	srv, _ := startDenyCluster(t, 1, 0)
	leader := srv[0]
	writeACL(t, leader, &structs.ACLRequest{Op: structs.ACLPolicySet, Create: true, Policy: &structs.ACLPolicy{ID: "papp", Name: "app", Rules: `key_prefix "app/" { policy = "write" }`}})
	writeACL(t, leader, &structs.ACLRequest{Op: structs.ACLTokenSet, Create: true, Token: &structs.ACLToken{AccessorID: "aapp", SecretID: "sapp", Policies: []*structs.ACLLink{{ID: "papp"}}}})

	pool := rpc.NewPool(nil, nil)
	t.Cleanup(func() { pool.Close() })
	send := func(token string, cmd []byte) *rpc.ApplyResponse {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		resp, err := pool.Apply(ctx, leader.cfg.ServerAddr(), &rpc.ApplyRequest{Command: cmd, Token: token})
		if err != nil {
			t.Fatalf("apply: %v", err)
		}
		return resp
	}
	kv := func(key string) []byte {
		buf, err := raftstore.KV.Encode(structs.NewRequestID(), &structs.KVRequest{Op: structs.KVSet, DirEnt: structs.DirEntry{Key: key, Value: []byte("v")}})
		if err != nil {
			t.Fatal(err)
		}
		return buf
	}
	// A management token created by whoever asks: the escalation an
	// open server port would allow.
	grab, err := raftstore.ACL.Encode(structs.NewRequestID(), &structs.ACLRequest{Op: structs.ACLTokenSet, Create: true,
		Token: &structs.ACLToken{AccessorID: "evil", SecretID: "evil", Policies: []*structs.ACLLink{{ID: structs.ACLManagementPolicyID}}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, token string
		cmd         []byte
		wantKind    string
	}{
		{"no token (an old agent, or anyone)", "", kv("app/x"), "permission-denied"},
		{"anonymous", structs.ACLAnonymousSecret, kv("app/x"), "permission-denied"},
		{"unknown token", "nope", kv("app/x"), "acl-not-found"},
		{"app token outside its prefix", "sapp", kv("other/x"), "permission-denied"},
		{"app token in its prefix", "sapp", kv("app/x"), ""},
		{"management token", forwardTestManagement, kv("other/x"), ""},
		{"ACL write without acl:write", "sapp", grab, "permission-denied"},
		{"ACL write without a token", "", grab, "permission-denied"},
	} {
		resp := send(tc.token, tc.cmd)
		gotKind := ""
		if resp.Error != nil {
			gotKind = resp.Error.Kind
		}
		if gotKind != tc.wantKind {
			t.Errorf("%s: error %+v, want kind %q", tc.name, resp.Error, tc.wantKind)
		}
	}
	// Raft configuration changes need operator:write too.
	for _, tc := range []struct{ token, wantKind string }{{"", "permission-denied"}, {"sapp", "permission-denied"}, {"nope", "acl-not-found"}} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		resp, err := pool.Operator(ctx, leader.cfg.ServerAddr(), &rpc.OperatorRequest{Op: "transfer-leader", Token: tc.token})
		cancel()
		if err != nil || resp.Error == nil || resp.Error.Kind != tc.wantKind {
			t.Errorf("transfer-leader with %q: %+v, %v; want kind %q", tc.token, resp, err, tc.wantKind)
		}
	}
	// A session renewal needs session:write on the session's node.
	sessID, err := leader.As(forwardTestManagement).SessionCreate(&structs.Session{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ token, wantKind string }{{"", "permission-denied"}, {"sapp", "permission-denied"}, {forwardTestManagement, ""}} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		resp, err := pool.RenewSession(ctx, leader.cfg.ServerAddr(), &rpc.RenewSessionRequest{ID: sessID, Token: tc.token})
		cancel()
		gotKind := ""
		if err == nil && resp.Error != nil {
			gotKind = resp.Error.Kind
		}
		if err != nil || gotKind != tc.wantKind || (tc.wantKind == "" && resp.Session == nil) {
			t.Errorf("renew with %q: %+v, %v; want kind %q", tc.token, resp, err, tc.wantKind)
		}
	}
	if _, tok, _ := leader.State().ACLTokenBySecret(nil, "evil"); tok != nil {
		t.Fatal("a token was created through the server port without acl:write")
	}
	if _, e, _ := leader.State().KVGet(nil, "other/x"); e == nil {
		t.Fatal("the management token's write did not land")
	}
	// A re-send of a write that was applied (its answer lost) gets its
	// first result, even when its token was revoked in between: the write
	// happened, and a 403 would say it did not.
	once := kv("app/once")
	if resp := send("sapp", once); resp.Error != nil {
		t.Fatalf("first send: %+v", resp.Error)
	}
	writeACL(t, leader, &structs.ACLRequest{Op: structs.ACLTokenDelete, ID: "aapp"})
	if resp := send("sapp", once); resp.Error != nil {
		t.Errorf("re-send of an applied write after its token was deleted: %+v, want its first result", resp.Error)
	}
	if resp := send("sapp", kv("app/new")); resp.Error == nil || resp.Error.Kind != "acl-not-found" {
		t.Errorf("a new write with the deleted token: %+v, want acl-not-found", resp.Error)
	}
}

// A client agent's writes carry the request's token to the leader, and a
// refusal there is the HTTP API's 403 error on the client.
func TestClientWriteCarriesToken(t *testing.T) {
	t.Parallel()
	srv, cli := startDenyCluster(t, 1, 1)
	writeACL(t, srv[0], &structs.ACLRequest{Op: structs.ACLPolicySet, Create: true, Policy: &structs.ACLPolicy{ID: "papp", Name: "app", Rules: `key_prefix "app/" { policy = "write" }`}})
	writeACL(t, srv[0], &structs.ACLRequest{Op: structs.ACLTokenSet, Create: true, Token: &structs.ACLToken{AccessorID: "aapp", SecretID: "sapp", Policies: []*structs.ACLLink{{ID: "papp"}}}})
	client := cli[0]
	set := func(w Writer, key string) error {
		_, err := w.KV(&structs.KVRequest{Op: structs.KVSet, DirEnt: structs.DirEntry{Key: key, Value: []byte("v")}})
		return err
	}
	if err := set(client.As("sapp"), "app/a"); err != nil {
		t.Fatalf("allowed write from the client: %v", err)
	}
	err := set(client.As("sapp"), "other/a")
	if !errors.Is(err, acl.ErrPermissionDenied) || ErrorKindOf(err) != KindForbidden {
		t.Fatalf("denied write from the client: %v (kind %d)", err, ErrorKindOf(err))
	}
	const want = `Permission denied: token with AccessorID 'aapp' lacks permission 'key:write' on "other/a"`
	if err.Error() != want {
		t.Fatalf("refusal %q, want %q", err, want)
	}
	if err := set(client.As(structs.ACLAnonymousSecret), "app/b"); !errors.Is(err, acl.ErrPermissionDenied) {
		t.Fatalf("anonymous write from the client: %v", err)
	}
	// The client's own writes (its registration) use its agent token.
	if _, n, _ := srv[0].State().NodeServices(nil, client.cfg.NodeName); n == nil {
		t.Fatal("the client's node is not in the catalog")
	}
}

// On a follower, a write is forwarded to the leader, which checks it; the
// ACL setup is the leader's alone.
func TestFollowerWriteChecked(t *testing.T) {
	t.Parallel()
	srv, _ := startDenyCluster(t, 3, 0)
	_, followers := leaderOf(t, srv)
	follower := followers[0]
	set := func(w Writer, key string) error {
		_, err := w.KV(&structs.KVRequest{Op: structs.KVSet, DirEnt: structs.DirEntry{Key: key, Value: []byte("v")}})
		return err
	}
	if err := set(follower.As(structs.ACLAnonymousSecret), "x"); !errors.Is(err, acl.ErrPermissionDenied) {
		t.Fatalf("anonymous write through a follower: %v", err)
	}
	if err := set(follower.As(forwardTestManagement), "x"); err != nil {
		t.Fatalf("management write through a follower: %v", err)
	}
}
