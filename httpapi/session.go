package httpapi

import (
	"encoding/json"
	"github.com/coredns-coord/coredns-coord/acl"
	"math"
	"net/http"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/coredns-coord/coredns-coord/structs"
)

// lockDelayMinThreshold: a LockDelay below it is taken as seconds, as
// Consul does, because users write 15 meaning 15s, not 15ns.
const lockDelayMinThreshold = 1000

// sessionCreateBody is session/create's body. Checks is the name Consul
// used before NodeChecks and still accepts; pointers tell a list left out
// (the default, serfHealth) from an empty one (no checks at all).
type sessionCreateBody struct {
	Name          string
	Node          string
	Checks        *[]string
	NodeChecks    *[]string
	ServiceChecks []structs.ServiceCheck
	LockDelay     json.RawMessage
	Behavior      string
	TTL           string
}

// sessionJSON is a session as Consul answers it: LockDelay in nanoseconds,
// and Checks, the pre-1.7 field, as it was sent.
type sessionJSON struct {
	ID            string
	Name          string
	Node          string
	LockDelay     time.Duration
	Behavior      string
	TTL           string
	Checks        []string `json:",omitempty"`
	NodeChecks    []string
	ServiceChecks []structs.ServiceCheck
	CreateIndex   uint64
	ModifyIndex   uint64
}

func sessionsJSON(sessions ...*structs.Session) []*sessionJSON {
	out := make([]*sessionJSON, 0, len(sessions))
	for _, s := range sessions {
		out = append(out, &sessionJSON{
			ID:            s.ID,
			Name:          s.Name,
			Node:          s.Node,
			LockDelay:     s.LockDelay,
			Behavior:      s.Behavior,
			TTL:           s.TTL,
			Checks:        s.Checks,
			NodeChecks:    s.NodeChecks,
			ServiceChecks: s.ServiceChecks,
			CreateIndex:   s.CreateIndex,
			ModifyIndex:   s.ModifyIndex,
		})
	}
	return out
}

// decodeSessionCreate reads and checks a session/create body. Fields left
// out stay zero for the agent to default (node, serfHealth, 15s, release).
func decodeSessionCreate(r *http.Request) (*structs.Session, error) {
	var body sessionCreateBody
	if err := decodeOptionalBody(r.Body, &body); err != nil {
		return nil, err
	}
	delay, err := parseLockDelay(body.LockDelay)
	if err != nil {
		return nil, err
	}
	sess := &structs.Session{
		Name:          body.Name,
		Node:          body.Node,
		ServiceChecks: body.ServiceChecks,
		LockDelay:     delay,
		Behavior:      body.Behavior,
		TTL:           body.TTL,
	}
	sess.NodeChecks, sess.Checks = sessionChecks(body.NodeChecks, body.Checks)
	if err := validateSession(sess); err != nil {
		return nil, err
	}
	return sess, nil
}

// sessionChecks reads NodeChecks and the older Checks as Consul does. Nil
// NodeChecks lets the agent bind the session to serfHealth, unless Checks
// was sent empty (no checks at all); Checks of just serfHealth is that
// default and is dropped; any other Checks is kept as sent, apart.
func sessionChecks(nodeChecks, checks *[]string) (node, legacy []string) {
	if nodeChecks != nil {
		node = *nodeChecks
	}
	switch {
	case checks == nil:
	case len(*checks) == 0:
		if node == nil {
			node = []string{}
		}
	case len(*checks) == 1 && (*checks)[0] == structs.SerfCheckID:
	default:
		legacy = *checks
	}
	return node, legacy
}

// parseLockDelay reads LockDelay as Consul does: a duration string ("15s")
// or a number of nanoseconds, where anything below 1000 means seconds.
// Absent, it is the default 15s; an explicit 0 turns lock-delay off.
func parseLockDelay(raw json.RawMessage) (time.Duration, error) {
	if isNull(raw) {
		return structs.DefaultLockDelay, nil
	}
	var d time.Duration
	var str string
	if err := json.Unmarshal(raw, &str); err == nil {
		if d, err = time.ParseDuration(str); err != nil {
			return 0, badRequest("Request decode failed: LockDelay: %v", err)
		}
	} else {
		var n float64
		if err := json.Unmarshal(raw, &n); err != nil {
			return 0, badRequest("Request decode failed: LockDelay must be a duration string or a number")
		}
		if n < 0 || n >= math.MaxInt64 {
			return 0, badRequest("Invalid LockDelay %s", raw)
		}
		d = time.Duration(n)
	}
	if d < lockDelayMinThreshold {
		d *= time.Second
	}
	return d, nil
}

// validateSession refuses what the session limits forbid, with the reason.
// The agent checks the rest (node and checks exist).
func validateSession(s *structs.Session) error {
	switch s.Behavior {
	case "", structs.SessionRelease, structs.SessionDelete:
	default:
		return badRequest("Invalid Behavior setting '%s': must be %q or %q", s.Behavior, structs.SessionRelease, structs.SessionDelete)
	}
	if s.TTL != "" {
		ttl, err := time.ParseDuration(s.TTL)
		if err != nil {
			return badRequest("Session TTL '%s' invalid: %v", s.TTL, err)
		}
		if ttl != 0 && (ttl < structs.MinSessionTTL || ttl > structs.MaxSessionTTL) {
			return badRequest("Invalid Session TTL '%s', must be between %v and %v", s.TTL, structs.MinSessionTTL, structs.MaxSessionTTL)
		}
	}
	if s.LockDelay < 0 || s.LockDelay > structs.MaxLockDelay {
		return badRequest("Invalid LockDelay '%v', must be between 0s and %v", s.LockDelay, structs.MaxLockDelay)
	}
	for _, sc := range s.ServiceChecks {
		if sc.ID == "" {
			return badRequest("Missing check ID in ServiceChecks")
		}
	}
	return nil
}

func (s *server) sessionCreate(w http.ResponseWriter, r *http.Request) error {
	if err := s.checkWriteDatacenter(r); err != nil {
		return err
	}
	sess, err := decodeSessionCreate(r)
	if err != nil {
		return err
	}
	node := sess.Node
	if node == "" {
		node = s.agent.Config().NodeName // the agent's default
	}
	if err := authorize(r, acl.ResourceSession, node, acl.AccessWrite); err != nil {
		return err
	}
	id, err := s.writer(r).SessionCreate(sess)
	if err != nil {
		return err
	}
	return writeJSON(w, r, http.StatusOK, struct{ ID string }{id})
}

func (s *server) sessionDestroy(w http.ResponseWriter, r *http.Request) error {
	if err := s.checkWriteDatacenter(r); err != nil {
		return err
	}
	id := r.PathValue("id")
	if id == "" {
		return badRequest("Missing session")
	}
	if err := s.writer(r).SessionDestroy(id); err != nil {
		return err
	}
	return writeJSON(w, r, http.StatusOK, true)
}

// sessionRenew answers with the renewed session in a list, or 404 once
// the session is gone (its holder must stop relying on its locks).
func (s *server) sessionRenew(w http.ResponseWriter, r *http.Request) error {
	if err := s.checkWriteDatacenter(r); err != nil {
		return err
	}
	id := r.PathValue("id")
	if id == "" {
		return badRequest("Missing session")
	}
	sess, err := s.writer(r).SessionRenew(id)
	if err != nil {
		return err
	}
	if sess == nil {
		return errorf(http.StatusNotFound, "Session id '%s' not found", id)
	}
	return writeJSON(w, r, http.StatusOK, sessionsJSON(sess))
}

// sessionInfo answers with the session in a list; an unknown session is
// an empty list and 200, as Consul answers.
func (s *server) sessionInfo(w http.ResponseWriter, r *http.Request) error {
	opts, err := s.query(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if id == "" {
		return badRequest("Missing session")
	}
	st := s.agent.State()
	return serveQuery(s, w, r, opts, aclFiltered(w, r, func(ws memdb.WatchSet) (uint64, []*sessionJSON, error) {
		idx, sess, err := st.SessionGet(ws, id)
		if err != nil || sess == nil {
			return idx, sessionsJSON(), err
		}
		return idx, sessionsJSON(sess), nil
	}, readableSession))
}

func (s *server) sessionNode(w http.ResponseWriter, r *http.Request) error {
	opts, err := s.query(r)
	if err != nil {
		return err
	}
	node := r.PathValue("node")
	if node == "" {
		return badRequest("Missing node name")
	}
	st := s.agent.State()
	return serveQuery(s, w, r, opts, aclFiltered(w, r, func(ws memdb.WatchSet) (uint64, []*sessionJSON, error) {
		idx, sessions, err := st.NodeSessions(ws, node)
		return idx, sessionsJSON(sessions...), err
	}, readableSession))
}

func (s *server) sessionList(w http.ResponseWriter, r *http.Request) error {
	opts, err := s.query(r)
	if err != nil {
		return err
	}
	st := s.agent.State()
	return serveQuery(s, w, r, opts, aclFiltered(w, r, func(ws memdb.WatchSet) (uint64, []*sessionJSON, error) {
		idx, sessions, err := st.SessionList(ws)
		return idx, sessionsJSON(sessions...), err
	}, readableSession))
}
