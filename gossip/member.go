package gossip

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
	"time"
)

// Status is a member's status, as serf's.
type Status int

const (
	StatusAlive Status = iota
	StatusLeaving
	StatusLeft
	StatusFailed
)

func (s Status) String() string {
	switch s {
	case StatusAlive:
		return "alive"
	case StatusLeaving:
		return "leaving"
	case StatusLeft:
		return "left"
	case StatusFailed:
		return "failed"
	}
	return "status(" + strconv.Itoa(int(s)) + ")"
}

// Member is a member of the pool as this agent sees it.
type Member struct {
	Name   string
	Addr   net.IP
	Port   uint16
	Tags   map[string]string
	Status Status
}

func (m Member) clone() Member {
	m.Addr = slices.Clone(m.Addr)
	m.Tags = maps.Clone(m.Tags)
	return m
}

// Address is the member's host:port.
func (m Member) Address() string {
	return net.JoinHostPort(m.Addr.String(), strconv.Itoa(int(m.Port)))
}

// EventType is the kind of a MemberEvent.
type EventType int

const (
	// EventJoin: a member joined (or came back after a failure or leave).
	EventJoin EventType = iota
	// EventLeave: a member left gracefully (or was force-left).
	EventLeave
	// EventFailed: a member stopped answering and was declared dead.
	EventFailed
	// EventUpdate: a member's tags (or address) changed.
	EventUpdate
	// EventReap: a failed or left member was forgotten (ReconnectTimeout,
	// TombstoneTimeout or ForceLeave with prune).
	EventReap
)

func (t EventType) String() string {
	switch t {
	case EventJoin:
		return "member-join"
	case EventLeave:
		return "member-leave"
	case EventFailed:
		return "member-failed"
	case EventUpdate:
		return "member-update"
	case EventReap:
		return "member-reap"
	}
	return "event(" + strconv.Itoa(int(t)) + ")"
}

// MemberEvent is a change of a member's status or tags. Member is a copy of
// the member's state right after the change.
type MemberEvent struct {
	Type   EventType
	Member Member
}

// UserEvent is a user event (Consul's `consul event`), delivered once to
// every member. LTime is the event's Lamport time, ID its unique ID.
type UserEvent struct {
	Name    string
	Payload []byte
	LTime   uint64
	ID      string
}

// memberState is a member plus the bookkeeping behind its status.
type memberState struct {
	Member
	// statusLTime is the Lamport time of the last join or leave intent
	// applied to this member.
	statusLTime uint64
	// leaveTime is when the member became failed or left (reaping).
	leaveTime time.Time
	// failedAt is when it was last declared failed (name reclaim).
	failedAt time.Time
}

// Tags travel in memberlist's node meta: a version byte, then for each tag
// (sorted by key, so equal tags encode to equal bytes, which matters:
// memberlist compares meta bytes to detect updates) the key and the value,
// each as a uvarint length and the bytes.
const tagsVersion = 1

// metaMaxSize is memberlist's limit on node meta.
const metaMaxSize = 512

func encodeTags(tags map[string]string) ([]byte, error) {
	buf := []byte{tagsVersion}
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		v := tags[k]
		buf = binary.AppendUvarint(buf, uint64(len(k)))
		buf = append(buf, k...)
		buf = binary.AppendUvarint(buf, uint64(len(v)))
		buf = append(buf, v...)
	}
	if len(buf) > metaMaxSize {
		return nil, fmt.Errorf("gossip: tags take %d bytes encoded, more than the %d bytes memberlist allows", len(buf), metaMaxSize)
	}
	return buf, nil
}

var errBadTags = errors.New("gossip: malformed tags in node meta")

func decodeTags(b []byte) (map[string]string, error) {
	tags := map[string]string{}
	if len(b) == 0 {
		return tags, nil
	}
	if b[0] != tagsVersion {
		return nil, fmt.Errorf("gossip: unknown tags encoding %d in node meta", b[0])
	}
	b = b[1:]
	next := func() (string, bool) {
		n, w := binary.Uvarint(b)
		if w <= 0 || n > uint64(len(b)-w) {
			return "", false
		}
		s := string(b[w : w+int(n)])
		b = b[w+int(n):]
		return s, true
	}
	for len(b) > 0 {
		k, ok := next()
		if !ok {
			return nil, errBadTags
		}
		v, ok := next()
		if !ok {
			return nil, errBadTags
		}
		tags[k] = v
	}
	return tags, nil
}
