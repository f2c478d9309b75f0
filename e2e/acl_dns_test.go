package e2e

import (
	"fmt"
	"testing"

	"github.com/hashicorp/consul/api"
	"github.com/miekg/dns"
)

const (
	aclE2EManagement = "5f0e3c2a-7b1d-4e8f-a6c9-1d2e3f4a5b6c"
	aclE2EDNSToken   = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
)

// startACLNode runs the binary under default deny with the acl block's
// extra lines, registers web and db through the API with the management
// token, and returns a management client. It does not wait for the node's
// own name over DNS: under default deny that is no answer to count on.
func startACLNode(t *testing.T, aclLines string) (*node, *api.Client) {
	t.Helper()
	n := newNode(t)
	n.Extra = fmt.Sprintf("acl {\n default_policy deny\n initial_management %s\n %s\n }", aclE2EManagement, aclLines)
	launch(t, n)
	c, err := api.NewClient(&api.Config{Address: fmt.Sprintf("127.0.0.1:%d", n.HTTP), Token: aclE2EManagement})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the management token", func() bool {
		_, _, err := c.ACL().TokenReadSelf(nil)
		return err == nil
	})
	registerService(t, c, "web", 1)
	registerService(t, c, "db", 1)
	return n, c
}

// DNS with ACLs on answers what the dns_token may read and nothing else
// (NXDOMAIN, as if absent); without a dns_token it is the anonymous
// token, which under default deny reads nothing.
func TestDNSACLs(t *testing.T) {
	multiProcess(t)
	n, c := startACLNode(t, "dns_token "+aclE2EDNSToken)
	policy, _, err := c.ACL().PolicyCreate(&api.ACLPolicy{Name: "dns", Rules: `service "web" { policy = "read" } node_prefix "" { policy = "read" }`}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.ACL().TokenCreate(&api.ACLToken{SecretID: aclE2EDNSToken, Policies: []*api.ACLTokenPolicyLink{{ID: policy.ID}}}, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "web over DNS with the dns token", func() bool {
		r, err := exchange(n, "udp", "web.service.consul.", dns.TypeA)
		return err == nil && r.Rcode == dns.RcodeSuccess && len(r.Answer) == 1
	})
	if r := query(t, n, "udp", "db.service.consul.", dns.TypeA); r.Rcode != dns.RcodeNameError {
		t.Errorf("db with a token that may not read it: %s, want NXDOMAIN", dns.RcodeToString[r.Rcode])
	}
	if r := query(t, n, "udp", "web-0.node.consul.", dns.TypeA); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
		t.Errorf("web-0's node: %s with %d answers", dns.RcodeToString[r.Rcode], len(r.Answer))
	}
	// The policy no longer reads web: the next answer says so.
	policy.Rules = `service "db" { policy = "read" } node_prefix "" { policy = "read" }`
	if _, _, err := c.ACL().PolicyUpdate(policy, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "web gone and db answered", func() bool {
		web, err1 := exchange(n, "udp", "web.service.consul.", dns.TypeA)
		db, err2 := exchange(n, "udp", "db.service.consul.", dns.TypeA)
		return err1 == nil && err2 == nil && web.Rcode == dns.RcodeNameError && db.Rcode == dns.RcodeSuccess
	})

	anon, _ := startACLNode(t, "")
	// SERVFAIL until the agent has caught up; then NXDOMAIN for all.
	for _, name := range []string{"web.service.consul.", "db.service.consul.", "web-0.node.consul."} {
		var last *dns.Msg
		waitFor(t, "an answer to "+name, func() bool {
			r, err := exchange(anon, "udp", name, dns.TypeA)
			last = r
			return err == nil && r.Rcode != dns.RcodeServerFailure
		})
		if last.Rcode != dns.RcodeNameError {
			t.Errorf("anonymous %s: %s, want NXDOMAIN", name, dns.RcodeToString[last.Rcode])
		}
	}
}
