package agent

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/coredns-coord/coredns-coord/gossip"
	"github.com/coredns-coord/coredns-coord/structs"
)

// maxEvents is how many recent user events an agent keeps, as Consul.
const maxEvents = 256

// eventBuffer keeps the most recent user events this agent received.
type eventBuffer struct {
	mu     sync.Mutex
	events []*structs.UserEvent
	ltime  uint64
	// changed is closed and replaced on every event: blocking event/list
	// queries wait on it.
	changed chan struct{}
}

// FireEvent sends a user event to every agent of the datacenter by
// gossip; each agent keeps it if it passes the node, service and tag
// filters. It fills ID, Version and LTime.
func (a *Agent) FireEvent(ev *structs.UserEvent) error {
	payload, err := encodeEventPayload(ev)
	if err != nil {
		return err
	}
	sent, err := a.gossip.SendUserEvent(ev.Name, payload)
	if err != nil {
		return fmt.Errorf("agent: fire event: %w", err)
	}
	ev.ID, ev.Version, ev.LTime = sent.ID, 1, sent.LTime
	eventsFired.Inc()
	if a.eventForMe(ev) {
		// Gossip delivers it to this agent too, asynchronously; wait so
		// that an event/list right after the fire sees it.
		a.events.waitFor(ev.ID, time.Second)
	}
	return nil
}

func (b *eventBuffer) waitFor(id string, timeout time.Duration) {
	deadline := time.After(timeout)
	for {
		b.mu.Lock()
		for i := len(b.events) - 1; i >= 0; i-- {
			if b.events[i].ID == id {
				b.mu.Unlock()
				return
			}
		}
		if b.changed == nil {
			b.changed = make(chan struct{})
		}
		changed := b.changed
		b.mu.Unlock()
		select {
		case <-changed:
		case <-deadline:
			return
		}
	}
}

// Event payloads on the wire: a plain payload is sent as is after a zero
// byte; one with filters as JSON after a one byte.
const (
	eventPlain    byte = 0
	eventFiltered byte = 1
)

type filteredEvent struct {
	Payload       []byte `json:",omitempty"`
	NodeFilter    string `json:",omitempty"`
	ServiceFilter string `json:",omitempty"`
	TagFilter     string `json:",omitempty"`
}

func encodeEventPayload(ev *structs.UserEvent) ([]byte, error) {
	if ev.NodeFilter == "" && ev.ServiceFilter == "" && ev.TagFilter == "" {
		return append([]byte{eventPlain}, ev.Payload...), nil
	}
	b, err := json.Marshal(filteredEvent{ev.Payload, ev.NodeFilter, ev.ServiceFilter, ev.TagFilter})
	if err != nil {
		return nil, fmt.Errorf("agent: encode event: %w", err)
	}
	return append([]byte{eventFiltered}, b...), nil
}

// receiveEvent keeps an event that arrived by gossip if it is meant for
// this agent.
func (a *Agent) receiveEvent(ue gossip.UserEvent) {
	ev := &structs.UserEvent{ID: ue.ID, Name: ue.Name, Version: 1, LTime: ue.LTime}
	if len(ue.Payload) > 0 {
		switch ue.Payload[0] {
		case eventPlain:
			if len(ue.Payload) > 1 {
				ev.Payload = ue.Payload[1:]
			}
		case eventFiltered:
			var f filteredEvent
			if err := json.Unmarshal(ue.Payload[1:], &f); err != nil {
				agentLog.Warningf("dropped malformed user event %q: %v", ue.Name, err)
				return
			}
			ev.Payload, ev.NodeFilter, ev.ServiceFilter, ev.TagFilter = f.Payload, f.NodeFilter, f.ServiceFilter, f.TagFilter
		}
	}
	if !a.eventForMe(ev) {
		return
	}
	a.events.add(ev)
}

// eventForMe applies an event's filters as Consul does: the node filter to
// this node's name, the service (and tag) filter to its local services.
func (a *Agent) eventForMe(ev *structs.UserEvent) bool {
	// Each filter is compiled once; one that does not compile matches
	// nothing.
	compile := func(expr string) (*regexp.Regexp, bool) {
		if expr == "" {
			return nil, true
		}
		re, err := regexp.Compile(expr)
		return re, err == nil
	}
	node, ok := compile(ev.NodeFilter)
	if !ok || node != nil && !node.MatchString(a.cfg.NodeName) {
		return false
	}
	if ev.ServiceFilter == "" {
		return true // a tag filter alone is ignored
	}
	service, okService := compile(ev.ServiceFilter)
	tag, okTag := compile(ev.TagFilter)
	if !okService || !okTag {
		return false
	}
	for _, svc := range a.local.Services() {
		if !service.MatchString(svc.Service) {
			continue
		}
		if tag == nil {
			return true
		}
		for _, t := range svc.Tags {
			if tag.MatchString(t) {
				return true
			}
		}
	}
	return false
}

func (b *eventBuffer) add(ev *structs.UserEvent) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if ev.LTime > b.ltime {
		b.ltime = ev.LTime
	}
	b.events = append(b.events, ev)
	if len(b.events) > maxEvents {
		b.events = append([]*structs.UserEvent(nil), b.events[len(b.events)-maxEvents:]...)
	}
	if b.changed != nil {
		close(b.changed)
	}
	b.changed = make(chan struct{})
}

// EventList returns the most recent events, oldest first, and the index to
// block on (the last event's Lamport time); ws wakes on the next event.
func (a *Agent) EventList(ws memdb.WatchSet) (uint64, []*structs.UserEvent) {
	b := &a.events
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.changed == nil {
		b.changed = make(chan struct{})
	}
	ws.Add(b.changed)
	return b.ltime, append([]*structs.UserEvent{}, b.events...)
}
