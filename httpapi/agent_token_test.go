package httpapi_test

import (
	"testing"

	"github.com/hashicorp/consul/api"

	"github.com/coredns-coord/coredns-coord/agent"
)

// agent/token/:type keeps the token in the agent, under every name the
// official client uses, old ones included.
func TestAgentToken(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	ag := s.client.Agent()
	for _, tc := range []struct {
		set  func(string, *api.WriteOptions) (*api.WriteMeta, error)
		kind string
	}{
		{ag.UpdateDefaultACLToken, agent.TokenDefault},
		{ag.UpdateAgentACLToken, agent.TokenAgent},
		{ag.UpdateAgentRecoveryACLToken, agent.TokenAgentRecovery},
		{ag.UpdateAgentMasterACLToken, agent.TokenAgentRecovery},
		{ag.UpdateReplicationACLToken, agent.TokenReplication},
		{ag.UpdateConfigFileRegistrationToken, agent.TokenConfigFileServiceRegistration},
		{ag.UpdateDNSToken, agent.TokenDNS},
	} {
		secret := "secret-for-" + tc.kind
		if _, err := tc.set(secret, nil); err != nil {
			t.Fatalf("set %s: %v", tc.kind, err)
		}
		if got := s.agent.Token(tc.kind); got != secret {
			t.Fatalf("%s token = %q, want %q", tc.kind, got, secret)
		}
	}
	// The pre-1.4 names the client falls back to.
	s.expect(t, "PUT", "/v1/agent/token/acl_token", `{"Token":"old-default"}`, 200, "")
	if got := s.agent.Token(agent.TokenDefault); got != "old-default" {
		t.Fatalf("default token after acl_token = %q", got)
	}
	s.expect(t, "PUT", "/v1/agent/token/acl_agent_token", `{"Token":""}`, 200, "")
	if got := s.agent.Token(agent.TokenAgent); got != "" {
		t.Fatalf("agent token after clearing = %q", got)
	}

	t.Run("bad input", func(t *testing.T) {
		s.expect(t, "PUT", "/v1/agent/token/master", `{"Token":"x"}`, 404, `Token "master" is unknown`)
		s.expect(t, "PUT", "/v1/agent/token/default", ``, 400, "Request decode failed")
		s.expect(t, "PUT", "/v1/agent/token/default", `{"Token":1}`, 400, "Request decode failed")
		s.expect(t, "GET", "/v1/agent/token/default", "", 405, "")
		if got := s.agent.Token(agent.TokenDefault); got != "old-default" {
			t.Fatalf("a refused request changed the default token to %q", got)
		}
	})
}
