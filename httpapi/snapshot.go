package httpapi

import (
	"bytes"
	"net/http"
	"strconv"
)

// maxSnapshotSize bounds a snapshot archive sent for restore.
const maxSnapshotSize = 256 << 20

// snapshotSave answers with a snapshot archive of the whole state and its
// index in X-Consul-Index (consistent unless ?stale).
func (s *server) snapshotSave(w http.ResponseWriter, r *http.Request) error {
	opts, err := s.query(r)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	idx, err := s.agent.SnapshotSave(r.Context(), &buf, opts.Stale)
	if err != nil {
		return err
	}
	s.setMeta(w, opts, idx)
	w.Header().Set("Content-Type", "application/x-gzip")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusOK)
	_, err = buf.WriteTo(w)
	return err
}

// snapshotRestore replaces the whole state with the archive in the body.
func (s *server) snapshotRestore(w http.ResponseWriter, r *http.Request) error {
	// Another datacenter is refused before the archive is read.
	if err := s.checkWriteDatacenter(r); err != nil {
		return err
	}
	if err := s.writer(r).SnapshotRestore(r.Body); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
