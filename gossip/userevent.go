package gossip

import (
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/serf/serf"
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
//
// Serf delivers an event once per member, telling events apart by Lamport
// time, name and payload; the payload on the wire starts with a random
// 16-byte ID so that two equal events fired at once are two events.
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
	id := uuid.New()
	// Serf delivers the event here too, through forward, which reports
	// its Lamport time (serf.UserEvent does not return it).
	ltime := make(chan uint64, 1)
	p.sentEvents.Store(id.String(), ltime)
	defer p.sentEvents.Delete(id.String())
	if err := p.serf.UserEvent(name, append(id[:], payload...), false); err != nil {
		return UserEvent{}, fmt.Errorf("gossip: user event %q: %w", name, err)
	}
	ev := UserEvent{Name: name, Payload: payload, ID: id.String()}
	select {
	case ev.LTime = <-ltime:
	case <-time.After(time.Second):
		p.warnf("user event %q sent, but its Lamport time is unknown", name)
	}
	return ev, nil
}

func (p *Pool) decodeUserEvent(e serf.UserEvent) (UserEvent, bool) {
	id, err := uuid.FromBytes(e.Payload[:min(16, len(e.Payload))])
	if err != nil {
		p.warnf("ignoring user event %q without an ID", e.Name)
		return UserEvent{}, false
	}
	ue := UserEvent{Name: e.Name, Payload: e.Payload[16:], LTime: uint64(e.LTime), ID: id.String()}
	if ch, ok := p.sentEvents.Load(ue.ID); ok {
		select {
		case ch.(chan uint64) <- ue.LTime:
		default:
		}
	}
	return ue, true
}
