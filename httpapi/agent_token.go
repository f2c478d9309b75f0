package httpapi

import (
	"errors"
	"net/http"

	"github.com/coredns-coord/coredns-coord/agent"
)

// agentTokenBody is agent/token/:type's body (Consul's api.AgentToken).
type agentTokenBody struct {
	Token string
}

// agentToken sets one of the agent's ACL tokens (default, agent,
// agent_recovery, replication, config_file_service_registration, dns, and
// their older names). The agent keeps it in memory. With ACLs on, the
// default token is what a request without a token acts with.
func (s *server) agentToken(w http.ResponseWriter, r *http.Request) error {
	var body agentTokenBody
	if err := decodeBody(r.Body, &body); err != nil {
		return err
	}
	kind, err := s.agent.SetToken(r.PathValue("type"), body.Token)
	if errors.Is(err, agent.ErrUnknownToken) {
		return errorf(http.StatusNotFound, "Token %q is unknown", r.PathValue("type"))
	}
	if err != nil {
		return err
	}
	// The name only: a token is a secret.
	httpLog.Infof("updated the agent's %q token", kind)
	writeText(w, http.StatusOK, "")
	return nil
}
