package structs

import (
	"slices"
	"time"
)

// Session behaviours: what invalidation does to the keys a session holds.
const (
	SessionRelease = "release"
	SessionDelete  = "delete"
)

// Session limits, as Consul's.
const (
	DefaultLockDelay = 15 * time.Second
	MaxLockDelay     = 60 * time.Second
	MinSessionTTL    = 10 * time.Second
	MaxSessionTTL    = 24 * time.Hour
)

// ServiceCheck names a service check a session is bound to.
type ServiceCheck struct {
	ID        string
	Namespace string
}

// Session is one row of the sessions table, with Consul's JSON shape
// (LockDelay in nanoseconds, TTL as a duration string).
type Session struct {
	ID            string
	Name          string
	Node          string
	NodeChecks    []string
	ServiceChecks []ServiceCheck
	// Checks is the list's pre-1.7 name, kept apart and answered as sent,
	// as Consul does; it binds like NodeChecks.
	Checks    []string `json:",omitempty"`
	LockDelay time.Duration
	Behavior  string
	TTL       string
	RaftIndex
}

// CheckIDs are every check the session is bound to, node and service,
// each once.
func (s *Session) CheckIDs() []string {
	ids := append([]string(nil), s.NodeChecks...)
	for _, id := range s.Checks {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	for _, sc := range s.ServiceChecks {
		ids = append(ids, sc.ID)
	}
	return ids
}

// TTLDuration parses TTL; zero when the session has none.
func (s *Session) TTLDuration() time.Duration {
	if s.TTL == "" {
		return 0
	}
	d, _ := time.ParseDuration(s.TTL)
	return d
}

// SessionOp names a session write.
type SessionOp string

const (
	SessionCreate  SessionOp = "create"
	SessionDestroy SessionOp = "destroy"
)

// SessionRequest is the Raft command for a session write. Cause says why a
// destroy happens (api, ttl, check, node) for metrics and logs.
type SessionRequest struct {
	Op      SessionOp
	Session Session
	Cause   string
}
