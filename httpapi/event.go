package httpapi

import (
	"encoding/binary"
	"hash/fnv"
	"net/http"
	"regexp"

	"github.com/google/uuid"
	"github.com/hashicorp/go-memdb"

	"github.com/coredns-coord/coredns-coord/structs"
)

// eventFire fires a user event: the body is its payload, ?node, ?service
// and ?tag are regular expressions choosing the agents that act on it.
// It answers with the event, ID filled in.
func (s *server) eventFire(w http.ResponseWriter, r *http.Request) error {
	if err := s.checkWriteDatacenter(r); err != nil {
		return err
	}
	name := r.PathValue("name")
	if name == "" {
		return badRequest("Missing name")
	}
	q := r.URL.Query()
	ev := &structs.UserEvent{
		Name:          name,
		NodeFilter:    q.Get("node"),
		ServiceFilter: q.Get("service"),
		TagFilter:     q.Get("tag"),
	}
	if err := validateEventFilters(ev); err != nil {
		return err
	}
	if r.Body != nil {
		payload, err := readBody(r.Body)
		if err != nil {
			return err
		}
		if len(payload) > 0 {
			ev.Payload = payload
		}
	}
	if err := s.agent.FireEvent(ev); err != nil {
		return err
	}
	return writeJSON(w, r, http.StatusOK, ev)
}

// validateEventFilters refuses filters no agent could apply.
func validateEventFilters(ev *structs.UserEvent) error {
	if ev.TagFilter != "" && ev.ServiceFilter == "" {
		return badRequest("Cannot provide tag filter without service filter")
	}
	for _, f := range []struct{ what, expr string }{
		{"node", ev.NodeFilter}, {"service", ev.ServiceFilter}, {"tag", ev.TagFilter},
	} {
		if _, err := regexp.Compile(f.expr); err != nil {
			return badRequest("Invalid %s filter: %v", f.what, err)
		}
	}
	return nil
}

// eventList answers with the events this agent holds, oldest first,
// optionally only those named ?name. Its index is Consul's: derived from
// the last event's ID (what api.Event.IDToIndex computes, so that watches
// can tell new events from seen ones), 1 with no events. Such an index is
// not monotonic, so a blocking list returns as soon as it differs from
// ?index.
func (s *server) eventList(w http.ResponseWriter, r *http.Request) error {
	opts, err := s.query(r)
	if err != nil {
		return err
	}
	name := r.URL.Query().Get("name")
	fn := func(ws memdb.WatchSet) (uint64, []*structs.UserEvent, error) {
		_, events := s.agent.EventList(ws)
		out := make([]*structs.UserEvent, 0, len(events))
		for _, ev := range events {
			if name == "" || ev.Name == name {
				out = append(out, ev)
			}
		}
		if len(out) == 0 {
			return 1, out, nil
		}
		return eventIndex(out[len(out)-1].ID), out, nil
	}
	idx, events, err := blockUntil(r.Context(), s, opts, aclFiltered(w, r, fn, readableEvent), func(idx uint64) bool { return idx != opts.MinIndex })
	if err != nil {
		return err
	}
	s.setMeta(w, opts, idx)
	return writeJSON(w, r, http.StatusOK, events)
}

// eventIndex turns an event ID into a wait index as Consul does: the two
// halves of the UUID XORed. IDs that are not UUIDs are hashed instead.
func eventIndex(id string) uint64 {
	u, err := uuid.Parse(id)
	if err != nil {
		h := fnv.New64a()
		h.Write([]byte(id))
		return h.Sum64()
	}
	return binary.BigEndian.Uint64(u[:8]) ^ binary.BigEndian.Uint64(u[8:])
}
