package httpapi_test

import (
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/hashicorp/consul/api/watch"
)

// runWatch starts a watch plan against s and returns what its handler
// receives; the plan stops when the test ends.
func (s *testServer) runWatch(t *testing.T, params map[string]any) <-chan any {
	t.Helper()
	plan, err := watch.Parse(params)
	if err != nil {
		t.Fatalf("watch %v: %v", params, err)
	}
	got := make(chan any, 16)
	plan.Handler = func(_ uint64, raw any) { got <- raw }
	go plan.RunWithClientAndHclog(s.client, nil)
	t.Cleanup(plan.Stop)
	return got
}

// await returns the first value from got that ok accepts, within 10s.
func await(t *testing.T, got <-chan any, what string, ok func(any) bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case raw := <-got:
			if ok(raw) {
				return
			}
		case <-deadline:
			t.Fatalf("watch: %s not seen within 10s", what)
		}
	}
}

func TestWatchKey(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	kv := s.client.KV()
	got := s.runWatch(t, map[string]any{"type": "key", "key": "config/flag"})
	// The key does not exist yet: the first call carries nil.
	await(t, got, "the missing key", func(raw any) bool { p, _ := raw.(*api.KVPair); return p == nil })

	if _, err := kv.Put(&api.KVPair{Key: "config/flag", Value: []byte("on")}, nil); err != nil {
		t.Fatal(err)
	}
	await(t, got, "the key set to on", func(raw any) bool {
		p, _ := raw.(*api.KVPair)
		return p != nil && string(p.Value) == "on"
	})
	if _, err := kv.Put(&api.KVPair{Key: "config/other", Value: []byte("x")}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(&api.KVPair{Key: "config/flag", Value: []byte("off")}, nil); err != nil {
		t.Fatal(err)
	}
	await(t, got, "the key set to off", func(raw any) bool {
		p, _ := raw.(*api.KVPair)
		return p != nil && string(p.Value) == "off"
	})
}

func TestWatchService(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	got := s.runWatch(t, map[string]any{"type": "service", "service": "api"})
	await(t, got, "no api instances", func(raw any) bool { e, ok := raw.([]*api.ServiceEntry); return ok && len(e) == 0 })

	s.registerNode(t, "n1", "10.0.0.1", nil, &api.AgentService{ID: "api1", Service: "api", Port: 8080}, "passing")
	await(t, got, "api1 registered", func(raw any) bool {
		e, _ := raw.([]*api.ServiceEntry)
		return len(e) == 1 && e[0].Service.ID == "api1"
	})
	s.registerNode(t, "n2", "10.0.0.2", nil, &api.AgentService{ID: "api2", Service: "api", Port: 8080}, "passing")
	await(t, got, "api2 registered", func(raw any) bool { e, _ := raw.([]*api.ServiceEntry); return len(e) == 2 })
}
