package gossip

import (
	"errors"
	"fmt"

	"github.com/google/uuid"
)

// UserEvent sends a user event to every member of the pool, this one
// included. Name plus payload are limited to UserEventSizeLimit (512) bytes,
// as in Consul.
func (p *Pool) UserEvent(name string, payload []byte) error {
	_, err := p.SendUserEvent(name, payload)
	return err
}

// SendUserEvent is UserEvent, returning the event as sent (with its ID and
// Lamport time).
func (p *Pool) SendUserEvent(name string, payload []byte) (UserEvent, error) {
	if err := p.usable(); err != nil {
		return UserEvent{}, err
	}
	if name == "" {
		return UserEvent{}, errors.New("gossip: user event: empty name")
	}
	if n := len(name) + len(payload); n > UserEventSizeLimit {
		return UserEvent{}, fmt.Errorf("gossip: user event %q: name and payload take %d bytes, more than the %d-byte limit", name, n, UserEventSizeLimit)
	}
	// +1: as serf's Increment, the first event has time 1 (Consul's
	// clients treat 0 as "no event").
	e := userEventMsg{LTime: p.eventClock.Next() + 1, ID: uuid.NewString(), Name: name, Payload: payload}
	raw, err := encodeMsg(msgUserEvent, e)
	if err != nil {
		return UserEvent{}, err
	}
	p.handleUserEvent(e)
	p.userQ.QueueBroadcast(&broadcast{msg: raw})
	return UserEvent{Name: e.Name, Payload: e.Payload, LTime: e.LTime, ID: e.ID}, nil
}

// pushPullEvents is how many recent user events a push/pull carries.
const pushPullEvents = 32

// handleUserEvent delivers an event the first time it is seen and reports
// whether it was new (to be gossiped on).
func (p *Pool) handleUserEvent(e userEventMsg) bool {
	p.eventClock.Witness(e.LTime)
	if e.LTime < p.eventMinTime.Load() {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.seenEvents.add(e.ID) {
		return false
	}
	p.recentEvents = append(p.recentEvents, e)
	if len(p.recentEvents) > pushPullEvents {
		p.recentEvents = append(p.recentEvents[:0:0], p.recentEvents[len(p.recentEvents)-pushPullEvents:]...)
	}
	userEventsTotal.Inc()
	if p.closed {
		return false
	}
	select {
	case p.userEvents <- UserEvent{Name: e.Name, Payload: e.Payload, LTime: e.LTime, ID: e.ID}:
	default:
		p.dropped.Add(1)
		eventsDropped.WithLabelValues("user").Inc()
	}
	return true
}
