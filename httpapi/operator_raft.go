package httpapi

import "net/http"

// operatorRaftTransferLeader hands leadership to ?id, or to any up-to-date
// server without it, and answers Consul's {"Success": true}.
func (s *server) operatorRaftTransferLeader(w http.ResponseWriter, r *http.Request) error {
	if err := s.checkWriteDatacenter(r); err != nil {
		return err
	}
	if err := s.writer(r).TransferLeader(r.URL.Query().Get("id")); err != nil {
		return err
	}
	return writeJSON(w, r, http.StatusOK, struct{ Success bool }{true})
}
