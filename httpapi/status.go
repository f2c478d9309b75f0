package httpapi

import (
	"net/http"

	"github.com/coredns-coord/coredns-coord/state"
)

// statusLeader answers with the leader's Raft address as a JSON string, ""
// when no leader is known.
func (s *server) statusLeader(w http.ResponseWriter, r *http.Request) error {
	opts, err := s.query(r)
	if err != nil {
		return err
	}
	s.setMeta(w, opts, s.agent.State().MaxIndex(state.TableNodes, state.TableServices, state.TableChecks, state.TableKVs))
	return writeJSON(w, r, http.StatusOK, s.agent.Leader())
}

// statusPeers answers with the Raft voters' addresses.
func (s *server) statusPeers(w http.ResponseWriter, r *http.Request) error {
	opts, err := s.query(r)
	if err != nil {
		return err
	}
	peers, err := s.agent.Peers()
	if err != nil {
		return err
	}
	if peers == nil {
		peers = []string{}
	}
	s.setMeta(w, opts, s.agent.State().MaxIndex(state.TableNodes, state.TableServices, state.TableChecks, state.TableKVs))
	return writeJSON(w, r, http.StatusOK, peers)
}
