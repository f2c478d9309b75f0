package httpapi

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/go-memdb"

	"github.com/coredns-coord/coredns-coord/state"
	"github.com/coredns-coord/coredns-coord/structs"
)

// kvKey is the key a KV path names, exactly as sent. A key that is not
// valid UTF-8 is refused: keys travel through JSON (in the Raft log, in
// every listing), where it would turn into U+FFFD and collide with others.
func kvKey(r *http.Request) (string, error) {
	key := r.PathValue("key")
	if !utf8.ValidString(key) {
		return "", badRequest("Invalid key: %q is not valid UTF-8", key)
	}
	return key, nil
}

func (s *server) kvGet(w http.ResponseWriter, r *http.Request) error {
	opts, err := s.query(r)
	if err != nil {
		return err
	}
	key, err := kvKey(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	st := s.agent.State()

	if _, ok := q["keys"]; ok {
		// Consul still honours its historic misspelling.
		sep := q.Get("seperator")
		if _, ok := q["separator"]; ok {
			sep = q.Get("separator")
		}
		idx, keys, err := blockingQuery(r.Context(), s, opts, aclFiltered(w, r, func(ws memdb.WatchSet) (uint64, []string, error) {
			return st.KVKeys(ws, key, sep)
		}, readableKey))
		if err != nil {
			return err
		}
		s.setMeta(w, opts, idx)
		// The root is never "not found", just empty.
		if len(keys) == 0 && key != "" {
			return kvNotFound(w)
		}
		return writeJSON(w, r, http.StatusOK, keys)
	}

	if _, ok := q["recurse"]; ok {
		idx, entries, err := blockingQuery(r.Context(), s, opts, aclFiltered(w, r, func(ws memdb.WatchSet) (uint64, []*structs.DirEntry, error) {
			return st.KVList(ws, key)
		}, readableEntry))
		if err != nil {
			return err
		}
		s.setMeta(w, opts, idx)
		if len(entries) == 0 {
			return kvNotFound(w)
		}
		return writeJSON(w, r, http.StatusOK, entries)
	}

	if key == "" {
		return badRequest("Missing key name")
	}
	idx, entry, err := blockingQuery(r.Context(), s, opts, func(ws memdb.WatchSet) (uint64, *structs.DirEntry, error) {
		return st.KVGet(ws, key)
	})
	if err != nil {
		return err
	}
	s.setMeta(w, opts, idx)
	if entry == nil {
		return kvNotFound(w)
	}
	if _, ok := q["raw"]; ok {
		// A stored value must never be interpreted by a browser: no
		// sniffing (ServeHTTP sets X-Content-Type-Options: nosniff on
		// every response), no scripts, whatever it contains.
		w.Header().Set("Content-Security-Policy", "sandbox")
		writeBody(w, http.StatusOK, contentOctet, entry.Value)
		return nil
	}
	return writeJSON(w, r, http.StatusOK, []*structs.DirEntry{entry})
}

// kvNotFound is Consul's 404 for a missing key: no body, query headers set.
func kvNotFound(w http.ResponseWriter) error {
	writeText(w, http.StatusNotFound, "")
	return nil
}

// conflictingFlags refuses parameters that cannot be combined.
func conflictingFlags(q url.Values, flags ...string) error {
	found := ""
	for _, f := range flags {
		if _, ok := q[f]; ok {
			if found != "" {
				return badRequest("Conflicting flags: ?%s and ?%s cannot be combined", found, f)
			}
			found = f
		}
	}
	return nil
}

func (s *server) kvPut(w http.ResponseWriter, r *http.Request) error {
	if err := s.checkWriteDatacenter(r); err != nil {
		return err
	}
	key, err := kvKey(r)
	if err != nil {
		return err
	}
	if key == "" {
		return badRequest("Missing key name")
	}
	q := r.URL.Query()
	if err := conflictingFlags(q, "cas", "acquire", "release"); err != nil {
		return err
	}
	op, session, err := kvLockParams(q)
	if err != nil {
		return err
	}
	flags, _, err := uintParam(q, "flags")
	if err != nil {
		return err
	}
	cas, isCAS, err := uintParam(q, "cas")
	if err != nil {
		return err
	}
	value, err := readKVValue(w, r)
	if err != nil {
		return err
	}

	req := &structs.KVRequest{
		Op:     structs.KVSet,
		DirEnt: structs.DirEntry{Key: key, Flags: flags, Value: value},
	}
	switch {
	case isCAS:
		req.Op = structs.KVCAS
		req.DirEnt.ModifyIndex = cas
	case op != "":
		req.Op = op
		req.DirEnt.Session = session
	}
	ok, err := s.writer(r).KV(req)
	if errors.Is(err, state.ErrLockRefused) {
		// Consul's clients only read the body; the header says why.
		w.Header().Set(headerLockRefused, headerSafe(err.Error()))
		return writeJSON(w, r, http.StatusOK, false)
	}
	if err != nil {
		return err
	}
	return writeJSON(w, r, http.StatusOK, ok || (!isCAS && op == ""))
}

// headerLockRefused carries the reason an acquire or release answered
// false (unknown session, lock-delay, another holder).
const headerLockRefused = "X-Consul-Lock-Refused"

// kvLockParams reads ?acquire=<session> (a KVLock) or ?release=<session>
// (a KVUnlock); op is empty for a plain write.
func kvLockParams(q url.Values) (structs.KVOp, string, error) {
	for _, p := range []struct {
		param string
		op    structs.KVOp
	}{{"acquire", structs.KVLock}, {"release", structs.KVUnlock}} {
		if _, ok := q[p.param]; !ok {
			continue
		}
		session := q.Get(p.param)
		if session == "" {
			return "", "", badRequest("Missing session for ?%s", p.param)
		}
		return p.op, session, nil
	}
	return "", "", nil
}

// headerSafe keeps a message fit for a header value: printable ASCII only.
func headerSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return ' '
		}
		return r
	}, s)
}

// readKVValue reads the whole value, refusing one over the limit with 413:
// by its Content-Length before reading anything, or, for a body of unknown
// length, as soon as it passes the limit.
func readKVValue(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > maxKVValueSize {
		return nil, kvTooLarge(strconv.FormatInt(r.ContentLength, 10) + " bytes")
	}
	if r.Body == nil {
		return nil, nil
	}
	value, err := io.ReadAll(http.MaxBytesReader(baseWriter(w), r.Body, maxKVValueSize))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, kvTooLarge("more than " + strconv.Itoa(maxKVValueSize) + " bytes")
		}
		return nil, badRequest("Failed to read request body: %v", err)
	}
	if len(value) == 0 {
		// Consul stores an empty value as null.
		return nil, nil
	}
	return value, nil
}

func kvTooLarge(size string) error {
	return errorf(http.StatusRequestEntityTooLarge,
		"Request body (%s) too large, max size: %d bytes", size, maxKVValueSize)
}

func (s *server) kvDelete(w http.ResponseWriter, r *http.Request) error {
	if err := s.checkWriteDatacenter(r); err != nil {
		return err
	}
	key, err := kvKey(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	if err := conflictingFlags(q, "recurse", "cas"); err != nil {
		return err
	}
	req := &structs.KVRequest{Op: structs.KVDelete, DirEnt: structs.DirEntry{Key: key}}
	if _, ok := q["recurse"]; ok {
		req.Op = structs.KVDeleteTree
	} else if key == "" {
		return badRequest("Missing key name")
	}
	cas, isCAS, err := uintParam(q, "cas")
	if err != nil {
		return err
	}
	if isCAS {
		req.Op = structs.KVDeleteCAS
		req.DirEnt.ModifyIndex = cas
	}
	ok, err := s.writer(r).KV(req)
	if err != nil {
		return err
	}
	return writeJSON(w, r, http.StatusOK, ok || !isCAS)
}
