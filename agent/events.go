package agent

import (
	"sync"

	"github.com/google/uuid"
	"github.com/hashicorp/go-memdb"

	"github.com/coredns-coord/coredns-coord/structs"
)

// maxEvents is how many recent user events an agent keeps, as Consul.
const maxEvents = 256

// eventBuffer keeps the most recent user events. Each event gets the next
// Lamport time on this agent; gossip will carry them cluster-wide.
type eventBuffer struct {
	mu     sync.Mutex
	events []*structs.UserEvent
	ltime  uint64
	// changed is closed and replaced on every event: blocking event/list
	// queries wait on it.
	changed chan struct{}
}

// FireEvent records a user event on this agent (cluster-wide delivery
// comes with gossip). It fills ID, Version and LTime.
func (a *Agent) FireEvent(ev *structs.UserEvent) error {
	b := &a.events
	b.mu.Lock()
	defer b.mu.Unlock()
	b.ltime++
	ev.ID = uuid.NewString()
	ev.Version = 1
	ev.LTime = b.ltime
	b.events = append(b.events, ev)
	if len(b.events) > maxEvents {
		b.events = append([]*structs.UserEvent(nil), b.events[len(b.events)-maxEvents:]...)
	}
	if b.changed != nil {
		close(b.changed)
	}
	b.changed = make(chan struct{})
	eventsFired.Inc()
	return nil
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
