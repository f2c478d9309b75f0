package httpapi

import (
	"errors"
	"github.com/coredns-coord/coredns-coord/acl"
	"net/http"

	"github.com/coredns-coord/coredns-coord/agent"
	"github.com/coredns-coord/coredns-coord/gossip"
)

// agentMember is Consul's api.AgentMember. Status is serf's numbering
// (1 alive, 2 leaving, 3 left, 4 failed); the protocol figures are the
// ones Consul 1.16 reports, for clients that check them.
type agentMember struct {
	Name        string
	Addr        string
	Port        uint16
	Tags        map[string]string
	Status      int
	ProtocolMin uint8
	ProtocolMax uint8
	ProtocolCur uint8
	DelegateMin uint8
	DelegateMax uint8
	DelegateCur uint8
}

func toAgentMember(m gossip.Member) agentMember {
	tags := map[string]string{"build": agent.ConsulVersion, "vsn": "2", "vsn_min": "2", "vsn_max": "3"}
	if m.Tags["role"] == "consul" {
		tags["raft_vsn"] = "3"
	}
	for k, v := range m.Tags {
		tags[k] = v
	}
	addr := ""
	if m.Addr != nil {
		addr = m.Addr.String()
	}
	return agentMember{
		Name: m.Name, Addr: addr, Port: m.Port, Tags: tags, Status: int(m.Status) + 1,
		ProtocolMin: 1, ProtocolMax: 5, ProtocolCur: 2,
		DelegateMin: 2, DelegateMax: 5, DelegateCur: 4,
	}
}

// allSegments is Consul's ?segment value for the members of every
// network segment (api.AllSegments).
const allSegments = "_all"

// agentMembers lists the LAN pool as this agent sees it, narrowed by
// ?filter. ?wan=1 is refused: there is no WAN pool yet. There are no
// network segments either: ?segment may only name the default one ("")
// or all of them ("_all"), which are the same pool.
func (s *server) agentMembers(w http.ResponseWriter, r *http.Request) error {
	_, filter, err := s.filteredQuery(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	if v := q.Get("wan"); v != "" && v != "0" && v != "false" {
		return badRequest("WAN members are not available: this agent has no WAN pool")
	}
	switch seg := q.Get("segment"); seg {
	case "", allSegments:
	default:
		return badRequest("Network segments are not supported: no segment %q", seg)
	}
	members := s.agent.Members()
	out := make([]agentMember, 0, len(members))
	authz := authorizerOf(r)
	for _, m := range members {
		if authz != nil && !authz.Allowed(acl.ResourceNode, m.Name, acl.AccessRead) {
			markRequestFiltered(w, r)
			continue
		}
		out = append(out, toAgentMember(m))
	}
	if out, err = applyFilter(filter, out); err != nil {
		return err
	}
	return writeJSON(w, r, http.StatusOK, out)
}

// agentJoin joins the LAN pool through the address in the path.
func (s *server) agentJoin(w http.ResponseWriter, r *http.Request) error {
	addr := r.PathValue("address")
	if addr == "" {
		return badRequest("Missing address to join")
	}
	if v := r.URL.Query().Get("wan"); v != "" && v != "0" && v != "false" {
		return badRequest("WAN join is not available: this agent has no WAN pool")
	}
	if _, err := s.agent.Join([]string{addr}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// agentLeave leaves the pool gracefully; the agent keeps serving until it
// is stopped (Consul shuts down; a CoreDNS plugin stops with its process).
func (s *server) agentLeave(w http.ResponseWriter, r *http.Request) error {
	if err := s.agent.Leave(); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// agentForceLeave marks a failed node as left (?prune: forget it now).
func (s *server) agentForceLeave(w http.ResponseWriter, r *http.Request) error {
	node := r.PathValue("node")
	if node == "" {
		return badRequest("Missing node name")
	}
	_, prune := r.URL.Query()["prune"]
	if err := s.agent.ForceLeave(node, prune); err != nil {
		if errors.Is(err, gossip.ErrUnknownMember) {
			return errorf(http.StatusNotFound, "%v", err)
		}
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
