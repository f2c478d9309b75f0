package ui_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/hashicorp/consul/api"

	"github.com/coredns-coord/coredns-coord/agent"
	"github.com/coredns-coord/coredns-coord/httpapi"
	"github.com/coredns-coord/coredns-coord/internal/testagent"
)

const managementSecret = "3b0c1c2e-8d0a-4a39-9c55-6f1d7c0e2a41"

// startACLAgent is startAgent with ACLs on (default deny) and an initial
// management token; client carries that token. It returns once the
// management token answers.
func startACLAgent(t testing.TB) *uiAgent {
	t.Helper()
	cfg := testagent.DevConfig(t, "node1", "127.0.0.1:0")
	cfg.ACL = agent.DefaultACLConfig()
	cfg.ACL.DefaultPolicy = "deny"
	cfg.ACL.InitialManagement = managementSecret
	a := testagent.Start(t, cfg, httpapi.New)
	addr := a.HTTPAddr().String()
	client, err := api.NewClient(&api.Config{Address: addr, Token: managementSecret})
	if err != nil {
		t.Fatalf("consul client: %v", err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, _, err = client.ACL().TokenReadSelf(nil); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the management token never worked: %v", err)
		}
	}
	return &uiAgent{base: "http://" + addr, client: client}
}

// login sets token on the token page ("" logs out) and waits for the
// page to say what the agent made of it.
func (b *browser) login(t testing.TB, base, token, want string) {
	t.Helper()
	b.open(t, base, "#/token")
	b.waitFor(t, "main", "ACL token")
	if token == "" {
		b.run(t, chromedp.Click(`//button[normalize-space()="Log out"]`, chromedp.BySearch))
	} else {
		b.run(t, chromedp.SendKeys("#token", token), chromedp.Click(`//button[normalize-space()="Log in"]`, chromedp.BySearch))
	}
	b.waitFor(t, "main", want)
}

// notShown fails when the page's main shows text.
func (b *browser) notShown(t testing.TB, text string) {
	t.Helper()
	var got string
	b.eval(t, `document.querySelector("main").innerText`, &got)
	if strings.Contains(got, text) {
		t.Errorf("the page shows %q:\n%s", text, got)
	}
}

// TestACLLogin runs the UI against an agent with ACLs on (default deny):
// anonymous sees nothing and is told so, a management token sees every
// page, a service-scoped token sees its service only and is refused the
// KV store, an unknown token is named as such, and logging out is
// anonymous again at once.
func TestACLLogin(t *testing.T) {
	b := startBrowser(t) // first: it skips under -short
	a := startACLAgent(t)
	for _, name := range []string{"web", "db"} {
		reg := &api.CatalogRegistration{Node: "node2", Address: "127.0.0.2",
			Service: &api.AgentService{ID: name + "-1", Service: name, Port: 8080}}
		if _, err := a.client.Catalog().Register(reg, nil); err != nil {
			t.Fatalf("register %s: %v", name, err)
		}
	}
	if _, err := a.client.KV().Put(&api.KVPair{Key: "app/config", Value: []byte("x")}, nil); err != nil {
		t.Fatal(err)
	}
	policy, _, err := a.client.ACL().PolicyCreate(&api.ACLPolicy{Name: "web-read",
		Rules: `service "web" { policy = "read" } node_prefix "" { policy = "read" }`}, nil)
	if err != nil {
		t.Fatalf("policy: %v", err)
	}
	webToken, _, err := a.client.ACL().TokenCreate(&api.ACLToken{Description: "web reader",
		Policies: []*api.ACLTokenPolicyLink{{ID: policy.ID}}}, nil)
	if err != nil {
		t.Fatalf("token: %v", err)
	}

	// Anonymous under default deny: empty lists, refusals said plainly.
	anonymous := func(where string) {
		b.open(t, a.base, "#/services")
		b.waitFor(t, "main", "No services registered.")
		b.notShown(t, "web")
		b.waitFor(t, "nav", "Token (anonymous)")
		b.open(t, a.base, "#/kv/")
		b.waitFor(t, "main [role=alert]", "Permission denied")
		b.noErrors(t, where)
	}
	anonymous("anonymous")
	b.login(t, a.base, "", "requests use the anonymous token")

	b.login(t, a.base, "0b6f3a5e-7c1d-4e2f-8a9b-1c2d3e4f5a6b", "ACL not found")
	b.open(t, a.base, "#/services")
	b.waitFor(t, "main [role=alert]", "ACL not found")
	b.waitFor(t, "nav", "Token (token not found)")
	b.noErrors(t, "unknown token")

	b.login(t, a.base, managementSecret, "Initial Management Token")
	b.waitFor(t, "main", "global-management")
	b.waitFor(t, "#dc", "dc1") // read again with the token the agent knows
	b.screenshot(t, "token")
	pages := []struct{ hash, want string }{
		{"#/services", "db"},
		{"#/services/web", "node2"},
		{"#/nodes", "127.0.0.2"},
		{"#/nodes/node1", "Serf Health Status"},
		{"#/kv/", "app/"},
		{"#/kv/app/config", "Modified at index"},
		{"#/sessions", "No sessions."},
		{"#/cluster", "leader"},
	}
	for _, p := range pages {
		b.open(t, a.base, p.hash)
		b.waitFor(t, "main", p.want)
		b.notShown(t, "Permission denied")
		b.noErrors(t, "management "+p.hash)
	}

	b.login(t, a.base, webToken.SecretID, "web reader")
	b.open(t, a.base, "#/services")
	b.waitFor(t, "main tbody", "web")
	b.waitFor(t, "main", "Some services are hidden")
	b.notShown(t, "db")
	b.open(t, a.base, "#/services/db")
	b.waitFor(t, "main", "0 instances; some are hidden")
	b.open(t, a.base, "#/nodes")
	b.waitFor(t, "main tbody", "node2")
	b.open(t, a.base, "#/kv/")
	b.waitFor(t, "main [role=alert]", "Permission denied")
	b.waitFor(t, "main [role=alert]", "key:list")
	b.screenshot(t, "kv-denied")
	b.open(t, a.base, "#/cluster")
	b.waitFor(t, "main", "node1")
	b.waitFor(t, "main [role=alert]", "operator:read")
	b.noErrors(t, "web token")

	b.login(t, a.base, "", "requests use the anonymous token")
	anonymous("after log out")
}
