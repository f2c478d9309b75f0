package httpapi_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/hashicorp/consul/api/watch"
)

func TestEvents(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	events := s.client.Event()

	fire := func(ev *api.UserEvent) string {
		t.Helper()
		id, _, err := events.Fire(ev, nil)
		if err != nil || id == "" {
			t.Fatalf("fire %s: %q, %v", ev.Name, id, err)
		}
		return id
	}

	t.Run("fire and list", func(t *testing.T) {
		// The filters name this agent's node and one of its services, so
		// that it keeps the event (filters decide which agents do).
		if err := s.client.Agent().ServiceRegister(&api.AgentServiceRegistration{Name: "web", Tags: []string{"v2"}}); err != nil {
			t.Fatal(err)
		}
		raw := s.expect(t, "PUT", "/v1/event/fire/deploy?node=node.*&service=web&tag=v2", "v1.2.3", 200, `"Name":"deploy"`)
		var ev api.UserEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.ID == "" || string(ev.Payload) != "v1.2.3" || ev.NodeFilter != "node.*" ||
			ev.ServiceFilter != "web" || ev.TagFilter != "v2" || ev.Version == 0 || ev.LTime == 0 {
			t.Fatalf("fired event = %+v", ev)
		}
		other := fire(&api.UserEvent{Name: "restart"})
		list, meta, err := events.List("", nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0].ID != ev.ID || list[1].ID != other || list[1].Payload != nil {
			t.Fatalf("list = %+v", list)
		}
		// The index is Consul's: derived from the last event's ID.
		if meta.LastIndex != events.IDToIndex(other) {
			t.Fatalf("index %d, want IDToIndex(%s) = %d", meta.LastIndex, other, events.IDToIndex(other))
		}
		named, meta, err := events.List("deploy", nil)
		if err != nil || len(named) != 1 || named[0].ID != ev.ID || meta.LastIndex != events.IDToIndex(ev.ID) {
			t.Fatalf("list deploy = %+v, %+v, %v", named, meta, err)
		}
		none, meta, err := events.List("nothing", nil)
		if err != nil || len(none) != 0 || meta.LastIndex != 1 {
			t.Fatalf("list nothing = %+v, %+v, %v", none, meta, err)
		}
		s.expect(t, "GET", "/v1/event/list?name=nothing", "", 200, "[]")
	})

	t.Run("blocking list", func(t *testing.T) {
		_, meta, err := events.List("wake", nil)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan []*api.UserEvent, 1)
		go func() {
			list, _, err := events.List("wake", &api.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: 10 * time.Second})
			if err != nil {
				t.Error(err)
			}
			done <- list
		}()
		time.Sleep(100 * time.Millisecond)
		// An event of another name does not end the wait.
		fire(&api.UserEvent{Name: "unrelated"})
		select {
		case list := <-done:
			t.Fatalf("blocking list returned on another name's event: %+v", list)
		case <-time.After(200 * time.Millisecond):
		}
		id := fire(&api.UserEvent{Name: "wake", Payload: []byte("now")})
		select {
		case list := <-done:
			if len(list) != 1 || list[0].ID != id || string(list[0].Payload) != "now" {
				t.Fatalf("woken list = %+v", list)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("blocking event list did not wake on a new event")
		}
	})

	t.Run("event watch sees only new events", func(t *testing.T) {
		plan, err := watch.Parse(map[string]any{"type": "event", "name": "watched"})
		if err != nil {
			t.Fatal(err)
		}
		got := make(chan []*api.UserEvent, 10)
		plan.Handler = func(_ uint64, raw any) {
			if list, ok := raw.([]*api.UserEvent); ok {
				got <- list
			}
		}
		go plan.RunWithClientAndHclog(s.client, nil)
		t.Cleanup(plan.Stop)
		first := fire(&api.UserEvent{Name: "watched"})
		second := ""
		deadline := time.After(10 * time.Second)
		for {
			select {
			case list := <-got:
				if len(list) == 0 {
					continue
				}
				if second == "" && list[len(list)-1].ID == first {
					second = fire(&api.UserEvent{Name: "watched"})
					continue
				}
				if second != "" {
					if len(list) != 1 || list[0].ID != second {
						t.Fatalf("watch delivered %d events after the second fire, want only the new one: %+v", len(list), list)
					}
					return
				}
			case <-deadline:
				t.Fatal("event watch did not deliver both events within 10s")
			}
		}
	})

	t.Run("refused", func(t *testing.T) {
		s.expect(t, "PUT", "/v1/event/fire/", "", 400, "Missing name")
		s.expect(t, "PUT", "/v1/event/fire/x?tag=v1", "", 400, "tag filter without service filter")
		s.expect(t, "PUT", "/v1/event/fire/x?node=(", "", 400, "node filter")
		s.expect(t, "PUT", "/v1/event/fire/x?dc=dc2", "", 404, "No path to datacenter")
		s.expect(t, "GET", "/v1/event/fire/x", "", 405, "")
		s.expect(t, "GET", "/v1/event/list?stale&consistent", "", 400, "stale")
		if list, _, err := events.List("x", nil); err != nil || len(list) != 0 {
			t.Fatalf("refused fires recorded events: %+v, %v", list, err)
		}
	})
}
