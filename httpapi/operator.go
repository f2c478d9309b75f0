package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/coredns-coord/coredns-coord/agent"
	"github.com/coredns-coord/coredns-coord/gossip"
)

// raftServer is Consul's api.RaftServer.
type raftServer struct {
	ID              string
	Node            string
	Address         string
	Leader          bool
	ProtocolVersion string
	Voter           bool
	LastIndex       uint64
}

// operatorRaftConfiguration lists the Raft servers as the leader sees them.
func (s *server) operatorRaftConfiguration(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.query(r); err != nil {
		return err
	}
	servers, idx, err := s.agent.RaftConfiguration()
	if err != nil {
		return err
	}
	out := struct {
		Servers []raftServer
		Index   uint64
	}{Servers: make([]raftServer, 0, len(servers)), Index: idx}
	for _, sv := range servers {
		out.Servers = append(out.Servers, raftServer{
			ID: sv.ID, Node: sv.Node, Address: sv.Address, Leader: sv.Leader,
			ProtocolVersion: "3", Voter: sv.Voter,
		})
	}
	return writeJSON(w, r, http.StatusOK, out)
}

// operatorRaftPeerDelete removes a server by ?id= or ?address=.
func (s *server) operatorRaftPeerDelete(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	id, addr := q.Get("id"), q.Get("address")
	if (id == "") == (addr == "") {
		return badRequest("Must specify either ?id with the server's ID or ?address with IP:port of peer to remove")
	}
	if err := s.writer(r).RemovePeer(id, addr); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// keyringResponse is Consul's api.KeyringResponse, for the LAN pool.
type keyringResponse struct {
	WAN         bool
	Datacenter  string
	Segment     string
	Messages    map[string]string
	Keys        map[string]int
	PrimaryKeys map[string]int
	NumNodes    int
}

// operatorKeyring runs a keyring operation over the LAN pool: GET lists,
// POST installs, PUT makes primary, DELETE removes (body {"Key": ...}).
func (s *server) operatorKeyring(op gossip.KeyOp) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var key []byte
		if op != gossip.KeyList {
			var body struct{ Key string }
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
				return badRequest("Request decode failed: %v", err)
			}
			k, err := gossip.DecodeKey(body.Key)
			if err != nil {
				return badRequest("%v", err)
			}
			key = k
		}
		resp, err := s.agent.Keyring().KeyOperation(op, key)
		if errors.Is(err, gossip.ErrNoEncryption) {
			return badRequest("%v", err)
		}
		if err != nil && resp == nil {
			return err
		}
		if err != nil {
			// Some members failed: Consul answers 500 with the messages.
			return errorf(http.StatusInternalServerError, "%v", err)
		}
		if op != gossip.KeyList {
			w.WriteHeader(http.StatusOK)
			return nil
		}
		return writeJSON(w, r, http.StatusOK, []keyringResponse{{
			Datacenter: s.agent.Config().Datacenter, Messages: nonNilMap(resp.Messages),
			Keys: resp.Keys, PrimaryKeys: resp.PrimaryKeys, NumNodes: resp.NumNodes,
		}})
	}
}

func nonNilMap[V any](m map[string]V) map[string]V {
	if m == nil {
		return map[string]V{}
	}
	return m
}

// serverHealth is Consul's api.ServerHealth.
type serverHealth struct {
	ID          string
	Name        string
	Address     string
	SerfStatus  string
	Version     string
	Leader      bool
	LastContact string
	LastTerm    uint64
	LastIndex   uint64
	Healthy     bool
	Voter       bool
	StableSince time.Time
}

// operatorAutopilotHealth reports every server's health as the leader sees
// it; as Consul's, it answers 429 when the cluster is not healthy, so that
// it can itself serve as a health check.
func (s *server) operatorAutopilotHealth(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.query(r); err != nil {
		return err
	}
	servers, healthy, tolerance, err := s.agent.AutopilotHealth()
	if err != nil {
		return err
	}
	out := struct {
		Healthy          bool
		FailureTolerance int
		Servers          []serverHealth
	}{Healthy: healthy, FailureTolerance: tolerance, Servers: make([]serverHealth, 0, len(servers))}
	for _, sv := range servers {
		out.Servers = append(out.Servers, serverHealth{
			ID: sv.ID, Name: sv.Node, Address: sv.Address, SerfStatus: sv.SerfStatus, Version: agent.ConsulVersion,
			Leader: sv.Leader, LastContact: sv.LastContact.String(), LastTerm: sv.LastTerm, LastIndex: sv.LastIndex,
			Healthy: sv.Healthy, Voter: sv.Voter, StableSince: sv.StableSince,
		})
	}
	code := http.StatusOK
	if !healthy {
		code = http.StatusTooManyRequests
	}
	return writeJSON(w, r, code, out)
}
