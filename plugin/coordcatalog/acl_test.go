package coordcatalog

import (
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/coredns-coord/coredns-coord/acl"
	"github.com/coredns-coord/coredns-coord/agent"
	"github.com/coredns-coord/coredns-coord/internal/testagent"
	"github.com/coredns-coord/coredns-coord/structs"
)

// startACLAgent is a real dev agent under default deny whose catalog has
// web (on node web-node) and db (on node db-node), and whose DNS token is
// dnsToken ("" for none): its policy reads service web and the nodes
// named in readNodes.
func startACLAgent(t testing.TB, dnsToken string, readNodes ...string) (*agent.Agent, *CoordCatalog) {
	t.Helper()
	const management = "0c1b7a3e-8f5d-4d2a-9e6b-3a7c5d1f2e40"
	cfg := testagent.DevConfig(t, "ns", "")
	cfg.ACL = agent.DefaultACLConfig()
	cfg.ACL.DefaultPolicy = agent.ACLPolicyDeny
	cfg.ACL.InitialManagement = management
	cfg.ACL.DNSToken = dnsToken
	a := testagent.Start(t, cfg, nil)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, tok, _ := a.State().ACLTokenBySecret(nil, management); tok != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("ACL setup not done after 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	rules := `service "web" { policy = "read" }`
	for _, n := range readNodes {
		rules += "\nnode \"" + n + "\" { policy = \"read\" }"
	}
	w := a.As(management)
	for _, req := range []*structs.ACLRequest{
		{Op: structs.ACLPolicySet, Create: true, Policy: &structs.ACLPolicy{ID: "pdns", Name: "dns", Rules: rules}},
		{Op: structs.ACLTokenSet, Create: true, Token: &structs.ACLToken{AccessorID: "adns", SecretID: "dns-secret", Policies: []*structs.ACLLink{{ID: "pdns"}}}},
	} {
		if err := w.ACLWrite(req); err != nil {
			t.Fatal(err)
		}
	}
	for i, svc := range []string{"web", "db"} {
		err := w.Register(&structs.RegisterRequest{
			Node: svc + "-node", Address: "10.0.0." + string(rune('1'+i)),
			Service: &structs.NodeService{Service: svc, Port: 80},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	c := newTestPlugin(a.State())
	c.Zones = []string{"consul.", "in-addr.arpa."}
	c.Next = nextMarker
	c.authz = a.DNSAuthorizer
	return a, c
}

func rcodeOf(t *testing.T, c *CoordCatalog, name string, qtype uint16) (int, int) {
	t.Helper()
	m := serve(t, c, new(dns.Msg).SetQuestion(name, qtype), false)
	return m.Rcode, len(m.Answer)
}

// With ACLs on, DNS answers only what the dns token may read; the rest is
// NXDOMAIN, as if absent. Without a dns token (and no default token) it is
// the anonymous token, which under default deny reads nothing.
func TestDNSACL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an agent")
	}
	t.Parallel()
	_, c := startACLAgent(t, "dns-secret", "web-node")
	for _, tc := range []struct {
		name  string
		qtype uint16
		rcode int
	}{
		{"web.service.consul.", dns.TypeA, dns.RcodeSuccess},
		{"db.service.consul.", dns.TypeA, dns.RcodeNameError},
		{"web-node.node.consul.", dns.TypeA, dns.RcodeSuccess},
		{"db-node.node.consul.", dns.TypeA, dns.RcodeNameError},
		{"1.0.0.10.in-addr.arpa.", dns.TypePTR, dns.RcodeSuccess},
	} {
		if rcode, n := rcodeOf(t, c, tc.name, tc.qtype); rcode != tc.rcode || (rcode == dns.RcodeSuccess && n == 0) {
			t.Errorf("%s: rcode %s with %d answers, want %s", tc.name, dns.RcodeToString[rcode], n, dns.RcodeToString[tc.rcode])
		}
	}
	// A PTR of an address whose node it may not read goes to the next
	// plugin, as an address the catalog does not know.
	m := serve(t, c, new(dns.Msg).SetQuestion("2.0.0.10.in-addr.arpa.", dns.TypePTR), false)
	if len(m.Answer) != 1 || m.Answer[0].Header().Rrtype != dns.TypeTXT {
		t.Errorf("PTR of db-node: %v, want the next plugin's answer", m.Answer)
	}

	_, anon := startACLAgent(t, "")
	for _, name := range []string{"web.service.consul.", "db.service.consul.", "web-node.node.consul."} {
		if rcode, _ := rcodeOf(t, anon, name, dns.TypeA); rcode != dns.RcodeNameError {
			t.Errorf("anonymous %s: rcode %s, want NXDOMAIN", name, dns.RcodeToString[rcode])
		}
	}
}

// The service may be read but its instance's node not: no instance, and
// the name is NXDOMAIN, as Consul.
func TestDNSACLNodeOfInstance(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an agent")
	}
	t.Parallel()
	a, c := startACLAgent(t, "dns-secret")
	if rcode, _ := rcodeOf(t, c, "web.service.consul.", dns.TypeA); rcode != dns.RcodeNameError {
		t.Fatalf("web without node:read: rcode %s, want NXDOMAIN", dns.RcodeToString[rcode])
	}
	// Granting node:read changes the answer at once: the tables changed,
	// so the cached sets are dropped.
	err := a.As("0c1b7a3e-8f5d-4d2a-9e6b-3a7c5d1f2e40").ACLWrite(&structs.ACLRequest{Op: structs.ACLPolicySet, Policy: &structs.ACLPolicy{ID: "pdns", Name: "dns",
		Rules: `service "web" { policy = "read" } node_prefix "" { policy = "read" }`}})
	if err != nil {
		t.Fatal(err)
	}
	if rcode, n := rcodeOf(t, c, "web.service.consul.", dns.TypeA); rcode != dns.RcodeSuccess || n != 1 {
		t.Fatalf("web with node:read: rcode %s, %d answers", dns.RcodeToString[rcode], n)
	}
	if got := c.dnsAuthorizer(); got == nil || got == acl.DenyAll() {
		t.Fatalf("dns authorizer %v", got)
	}
}
