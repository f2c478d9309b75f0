package agent

import (
	"errors"
	"testing"
)

// Every name agent/token takes sets its token; the old names set the same
// one; "" clears; unknown names are refused and change nothing.
func TestAgentTokens(t *testing.T) {
	t.Parallel()
	a := startTestServer(t, "tokens")
	for _, tc := range []struct{ name, kind string }{
		{"default", TokenDefault}, {"acl_token", TokenDefault},
		{"agent", TokenAgent}, {"acl_agent_token", TokenAgent},
		{"agent_recovery", TokenAgentRecovery}, {"agent_master", TokenAgentRecovery}, {"acl_agent_master_token", TokenAgentRecovery},
		{"replication", TokenReplication}, {"acl_replication_token", TokenReplication},
		{"config_file_service_registration", TokenConfigFileServiceRegistration},
		{"dns", TokenDNS}, {"dns_token", TokenDNS},
	} {
		secret := "secret-" + tc.name
		kind, err := a.SetToken(tc.name, secret)
		if err != nil || kind != tc.kind {
			t.Fatalf("SetToken(%q) = %q, %v; want %q", tc.name, kind, err, tc.kind)
		}
		if got := a.Token(tc.kind); got != secret {
			t.Fatalf("after SetToken(%q), Token(%q) = %q", tc.name, tc.kind, got)
		}
		if got := a.Token(tc.name); got != secret {
			t.Fatalf("Token(%q) by its own name = %q", tc.name, got)
		}
	}
	if _, err := a.SetToken(TokenDNS, ""); err != nil || a.Token(TokenDNS) != "" {
		t.Fatalf("clearing the dns token: err %v, token now %q", err, a.Token(TokenDNS))
	}
	before := a.Token(TokenDefault)
	if _, err := a.SetToken("master", "x"); !errors.Is(err, ErrUnknownToken) {
		t.Fatalf("SetToken(master) = %v, want ErrUnknownToken", err)
	}
	if a.Token("master") != "" || a.Token(TokenDefault) != before {
		t.Fatal("an unknown token name changed a token")
	}
}

// Force-leave of the agent itself is accepted and changes nothing (the
// live member would refute it); of an unknown node it is still an error.
func TestForceLeaveSelf(t *testing.T) {
	t.Parallel()
	a := startTestServer(t, "self-leave")
	for _, prune := range []bool{false, true} {
		if err := a.ForceLeave("self-leave", prune); err != nil {
			t.Fatalf("ForceLeave(self, prune %v) = %v", prune, err)
		}
	}
	if m := a.LocalMember(); m.Status.String() != "alive" {
		t.Fatalf("after force-leave of itself the agent is %v", m.Status)
	}
	if err := a.ForceLeave("nobody", false); err == nil {
		t.Fatal("force-leave of an unknown node succeeded")
	}
}
