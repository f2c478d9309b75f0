package gossip

import (
	"maps"
	"net"
	"slices"
	"strconv"

	"github.com/hashicorp/serf/serf"
)

// Status is a member's status. The values are serf's minus one (serf's
// StatusNone is never reported).
type Status int

const (
	StatusAlive Status = iota
	StatusLeaving
	StatusLeft
	StatusFailed
)

func (s Status) String() string {
	if s >= 0 && int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "status(" + strconv.Itoa(int(s)) + ")"
}

var statusNames = [...]string{"alive", "leaving", "left", "failed"}

// Member is a member of the pool as this agent sees it.
type Member struct {
	Name   string
	Addr   net.IP
	Port   uint16
	Tags   map[string]string
	Status Status
}

func fromSerf(m serf.Member) Member {
	return Member{
		Name: m.Name, Addr: slices.Clone(m.Addr), Port: m.Port, Tags: maps.Clone(m.Tags),
		Status: Status(m.Status) - 1,
	}
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

var fromSerfEvent = map[serf.EventType]EventType{
	serf.EventMemberJoin:   EventJoin,
	serf.EventMemberLeave:  EventLeave,
	serf.EventMemberFailed: EventFailed,
	serf.EventMemberUpdate: EventUpdate,
	serf.EventMemberReap:   EventReap,
}

func (t EventType) String() string {
	if t >= 0 && int(t) < len(eventNames) {
		return eventNames[t]
	}
	return "event(" + strconv.Itoa(int(t)) + ")"
}

var eventNames = [...]string{"member-join", "member-leave", "member-failed", "member-update", "member-reap"}

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
