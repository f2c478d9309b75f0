package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/hashicorp/consul/api"
)

// tokenWithRules creates a policy with rules and a token that carries it.
func tokenWithRules(t *testing.T, mgmt *api.Client, rules string) *api.ACLToken {
	t.Helper()
	p, _, err := mgmt.ACL().PolicyCreate(&api.ACLPolicy{Name: "p-" + uuid.NewString()[:8], Rules: rules}, nil)
	if err != nil {
		t.Fatalf("policy %q: %v", rules, err)
	}
	tok, _, err := mgmt.ACL().TokenCreate(&api.ACLToken{Policies: []*api.ACLTokenPolicyLink{{ID: p.ID}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func denied(err error, accessor, perm, name string) bool {
	want := "Permission denied: token with AccessorID '" + accessor + "' lacks permission '" + perm + "'"
	if name != "" {
		want += ` on "` + name + `"`
	}
	return isStatus(err, http.StatusForbidden) && strings.Contains(err.Error(), want)
}

// Every resource kind allowed and denied under default deny, through the
// official client, with Consul's precedence and wording.
func TestACLEnforcement(t *testing.T) {
	t.Parallel()
	mgmtSecret := uuid.NewString()
	s := startACLServer(t, "deny", mgmtSecret)
	mgmt := s.client
	s.registerNode(t, "web-node", "10.0.0.1", nil, &api.AgentService{ID: "web1", Service: "web", Port: 80}, "passing")
	s.registerNode(t, "db-node", "10.0.0.2", nil, &api.AgentService{ID: "db1", Service: "db", Port: 5432}, "passing")
	for _, k := range []string{"app/a", "app/private/x", "app/private/open", "other"} {
		if _, err := mgmt.KV().Put(&api.KVPair{Key: k, Value: []byte(k)}, nil); err != nil {
			t.Fatal(err)
		}
	}

	tok := tokenWithRules(t, mgmt, `
key_prefix "app/" { policy = "list" }
key_prefix "app/private/" { policy = "deny" }
key "app/private/open" { policy = "write" }
service_prefix "web" { policy = "write" }
node_prefix "web-" { policy = "read" }
node "node1" { policy = "write" }
session_prefix "" { policy = "write" }
event_prefix "deploy" { policy = "write" }
operator = "read"
`)
	c := s.clientWith(t, tok.SecretID)
	id := tok.AccessorID

	t.Run("kv", func(t *testing.T) {
		if p, _, err := c.KV().Get("app/a", nil); err != nil || p == nil {
			t.Errorf("read app/a: %v", err)
		}
		if _, _, err := c.KV().Get("other", nil); !denied(err, id, "key:read", "other") {
			t.Errorf("read other: %v", err)
		}
		if _, _, err := c.KV().Get("app/private/x", nil); !denied(err, id, "key:read", "app/private/x") {
			t.Errorf("longest prefix deny: %v", err)
		}
		if _, err := c.KV().Put(&api.KVPair{Key: "app/private/open", Value: []byte("w")}, nil); err != nil {
			t.Errorf("exact write beats prefix deny: %v", err)
		}
		if _, err := c.KV().Put(&api.KVPair{Key: "app/a", Value: []byte("w")}, nil); !denied(err, id, "key:write", "app/a") {
			t.Errorf("list is not write: %v", err)
		}
		pairs, _, err := c.KV().List("app/", nil)
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, p := range pairs {
			keys = append(keys, p.Key)
		}
		if strings.Join(keys, ",") != "app/a,app/private/open" {
			t.Errorf("recurse app/ = %v", keys)
		}
		resp, _ := s.do(t, "GET", "/v1/kv/app/?recurse", nil, "X-Consul-Token", tok.SecretID)
		if resp.Header.Get("X-Consul-Results-Filtered-By-ACLs") != "true" {
			t.Errorf("filtered listing without the header: %v", resp.Header)
		}
		if ks, _, err := c.KV().Keys("app/", "", nil); err != nil || len(ks) != 2 {
			t.Errorf("keys app/ = %v, %v", ks, err)
		}
		if _, _, err := c.KV().List("", nil); !denied(err, id, "key:list", "") {
			t.Errorf("recurse at the root without list: %v", err)
		}
		if _, err := c.KV().DeleteTree("app/", nil); !denied(err, id, "key:write", "app/") {
			t.Errorf("delete tree: %v", err)
		}
	})

	t.Run("token sources", func(t *testing.T) {
		for _, hdr := range [][]string{
			{"X-Consul-Token", tok.SecretID},
			{"Authorization", "Bearer " + tok.SecretID},
		} {
			if resp, _ := s.do(t, "GET", "/v1/kv/app/a", nil, hdr...); resp.StatusCode != 200 {
				t.Errorf("%s: %d", hdr[0], resp.StatusCode)
			}
		}
		if resp, _ := s.do(t, "GET", "/v1/kv/app/a?token="+tok.SecretID, nil); resp.StatusCode != 200 {
			t.Errorf("?token: %d", resp.StatusCode)
		}
		resp, body := s.do(t, "GET", "/v1/kv/app/a", nil, "X-Consul-Token", "not-a-token")
		if resp.StatusCode != 403 || string(body) != "ACL not found" {
			t.Errorf("unknown token: %d %q", resp.StatusCode, body)
		}
		// No token: the anonymous token, which may do nothing here, and
		// never the header.
		resp, body = s.do(t, "GET", "/v1/kv/app/a", nil)
		if resp.StatusCode != 403 || string(body) != `Permission denied: anonymous token lacks permission 'key:read' on "app/a". The anonymous token is used implicitly when a request does not specify a token.` {
			t.Errorf("anonymous read: %d %q", resp.StatusCode, body)
		}
		resp, body = s.do(t, "GET", "/v1/catalog/nodes", nil)
		if resp.StatusCode != 200 || string(body) != "[]" || resp.Header.Get("X-Consul-Results-Filtered-By-ACLs") != "" {
			t.Errorf("anonymous node list: %d %q %v", resp.StatusCode, body, resp.Header)
		}
	})

	t.Run("catalog and health", func(t *testing.T) {
		nodes, _, err := c.Catalog().Nodes(nil)
		var names []string
		for _, n := range nodes {
			names = append(names, n.Node)
		}
		if err != nil || strings.Join(names, ",") != "node1,web-node" {
			t.Errorf("nodes = %v, %v", names, err)
		}
		services, _, err := c.Catalog().Services(nil)
		if _, ok := services["web"]; err != nil || len(services) != 1 || !ok {
			t.Errorf("services = %v, %v", services, err)
		}
		if db, _, err := c.Catalog().Service("db", "", nil); err != nil || len(db) != 0 {
			t.Errorf("catalog service db = %v, %v", db, err)
		}
		if web, _, err := c.Health().Service("web", "", true, nil); err != nil || len(web) != 1 {
			t.Errorf("health service web = %v, %v", web, err)
		}
		if n, _, err := c.Catalog().Node("db-node", nil); err != nil || n != nil {
			t.Errorf("catalog node db-node = %+v, %v", n, err)
		}
		checks, _, err := c.Health().State("any", nil)
		for _, hc := range checks {
			if hc.ServiceName == "db" {
				t.Errorf("health state shows a db check: %+v", hc)
			}
		}
		if err != nil || len(checks) == 0 {
			t.Errorf("health state = %v, %v", checks, err)
		}
		_, err = c.Catalog().Register(&api.CatalogRegistration{Node: "web-node", Address: "10.0.0.1", Service: &api.AgentService{ID: "web2", Service: "web"}}, nil)
		if err != nil {
			t.Errorf("register web: %v", err)
		}
		_, err = c.Catalog().Register(&api.CatalogRegistration{Node: "web-node", Address: "10.9.9.9", Service: &api.AgentService{ID: "web3", Service: "web"}}, nil)
		if !denied(err, id, "node:write", "web-node") {
			t.Errorf("register web moving its node: %v", err)
		}
		_, err = c.Catalog().Register(&api.CatalogRegistration{Node: "db-node", Address: "10.0.0.2", Service: &api.AgentService{ID: "db2", Service: "db"}}, nil)
		if !denied(err, id, "service:write", "db") {
			t.Errorf("register db: %v", err)
		}
	})

	t.Run("agent", func(t *testing.T) {
		if err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{Name: "web-local", Port: 81}); err != nil {
			t.Errorf("agent register web-local: %v", err)
		}
		if err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{Name: "db-local"}); !denied(err, id, "service:write", "db-local") {
			t.Errorf("agent register db-local: %v", err)
		}
		if err := c.Agent().CheckRegister(&api.AgentCheckRegistration{Name: "node-ttl", AgentServiceCheck: api.AgentServiceCheck{TTL: "30s"}}); err != nil {
			t.Errorf("node check on node1 (node:write): %v", err)
		}
		if _, err := c.Agent().Self(); !denied(err, id, "agent:read", "node1") {
			t.Errorf("agent self: %v", err)
		}
	})

	t.Run("session, txn, event, operator", func(t *testing.T) {
		sid, _, err := c.Session().Create(&api.SessionEntry{Node: "node1", Checks: []string{}}, nil)
		if err != nil {
			t.Fatalf("session create: %v", err)
		}
		if _, err := c.Session().Destroy(sid, nil); err != nil {
			t.Errorf("session destroy: %v", err)
		}
		ok, resp, _, err := c.Txn().Txn(api.TxnOps{
			{KV: &api.KVTxnOp{Verb: api.KVGet, Key: "app/a"}},
			{KV: &api.KVTxnOp{Verb: api.KVSet, Key: "other", Value: []byte("x")}},
		}, nil)
		if err != nil || ok || len(resp.Errors) != 1 || resp.Errors[0].OpIndex != 1 || !strings.Contains(resp.Errors[0].What, "lacks permission 'key:write' on \"other\"") {
			t.Errorf("txn with a denied op: ok=%v %+v %v", ok, resp, err)
		}
		if p, _, _ := mgmt.KV().Get("other", nil); string(p.Value) != "other" {
			t.Errorf("a refused txn wrote: %q", p.Value)
		}
		if _, _, err := c.Event().Fire(&api.UserEvent{Name: "deploy-1"}, nil); err != nil {
			t.Errorf("event deploy-1: %v", err)
		}
		if _, _, err := c.Event().Fire(&api.UserEvent{Name: "restart"}, nil); !denied(err, id, "event:write", "restart") {
			t.Errorf("event restart: %v", err)
		}
		if _, err := c.Operator().RaftGetConfiguration(nil); err != nil {
			t.Errorf("operator read: %v", err)
		}
		if _, err := c.Operator().KeyringList(nil); !denied(err, id, "keyring:read", "") {
			t.Errorf("keyring list: %v", err)
		}
		if _, _, err := c.Snapshot().Save(nil); !denied(err, id, "acl:write", "") {
			t.Errorf("snapshot: %v", err)
		}
	})
}

// Under default allow, rules only take away where they match; the anonymous
// token may do everything but ACLs.
func TestACLDefaultAllow(t *testing.T) {
	t.Parallel()
	s := startACLServer(t, "allow", uuid.NewString())
	anon := s.clientWith(t, "")
	if _, err := anon.KV().Put(&api.KVPair{Key: "k", Value: []byte("v")}, nil); err != nil {
		t.Fatalf("anonymous write under default allow: %v", err)
	}
	if _, _, err := anon.ACL().TokenList(nil); !isStatus(err, http.StatusForbidden) {
		t.Fatalf("anonymous acl list under default allow: %v", err)
	}
	tok := tokenWithRules(t, s.client, `key_prefix "secret/" { policy = "deny" }`)
	c := s.clientWith(t, tok.SecretID)
	if _, err := c.KV().Put(&api.KVPair{Key: "secret/a", Value: []byte("v")}, nil); !denied(err, tok.AccessorID, "key:write", "secret/a") {
		t.Fatalf("deny under default allow: %v", err)
	}
	if _, err := c.KV().Put(&api.KVPair{Key: "open", Value: []byte("v")}, nil); err != nil {
		t.Fatalf("default allow elsewhere: %v", err)
	}
}

// A token's service identity is Consul's template: write on the service,
// read on every service and node, nothing else.
func TestACLServiceIdentity(t *testing.T) {
	t.Parallel()
	s := startACLServer(t, "deny", uuid.NewString())
	acl := s.client.ACL()
	tok, _, err := acl.TokenCreate(&api.ACLToken{ServiceIdentities: []*api.ACLServiceIdentity{{ServiceName: "web"}}}, nil)
	if err != nil || len(tok.ServiceIdentities) != 1 {
		t.Fatalf("token with a service identity: %+v, %v", tok, err)
	}
	if _, _, err := acl.TokenCreate(&api.ACLToken{ServiceIdentities: []*api.ACLServiceIdentity{{ServiceName: "Bad Name"}}}, nil); !isStatus(err, http.StatusBadRequest) {
		t.Fatalf("bad service identity: %v", err)
	}
	if _, _, err := acl.TokenCreate(&api.ACLToken{ServiceIdentities: []*api.ACLServiceIdentity{{ServiceName: "db"}}}, nil); err != nil {
		t.Fatal(err)
	}
	c := s.clientWith(t, tok.SecretID)
	if err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{Name: "web", Port: 80}); err != nil {
		t.Errorf("register its service: %v", err)
	}
	if err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{Name: "db"}); !denied(err, tok.AccessorID, "service:write", "db") {
		t.Errorf("register another service: %v", err)
	}
	if nodes, _, err := c.Catalog().Nodes(nil); err != nil || len(nodes) == 0 {
		t.Errorf("nodes: %v, %v", nodes, err)
	}
	if _, _, err := c.KV().Get("k", nil); !denied(err, tok.AccessorID, "key:read", "k") {
		t.Errorf("kv read: %v", err)
	}
	list, _, err := acl.TokenListFiltered(api.ACLTokenFilterOptions{ServiceName: "web"}, nil)
	if err != nil || len(list) != 1 || list[0].AccessorID != tok.AccessorID {
		t.Errorf("tokens of service web: %+v, %v", list, err)
	}
	if _, _, err := acl.TokenListFiltered(api.ACLTokenFilterOptions{ServiceName: "web", Policy: "p"}, nil); !isStatus(err, http.StatusBadRequest) {
		t.Errorf("two filters: %v", err)
	}
}
