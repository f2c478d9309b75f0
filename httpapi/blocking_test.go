package httpapi_test

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/prometheus/client_golang/prometheus"
)

type kvResult struct {
	pair *api.KVPair
	meta *api.QueryMeta
	err  error
	at   time.Time
}

func TestBlockingKV(t *testing.T) {
	s := startServer(t)
	kv := s.client.KV()
	if _, err := kv.Put(&api.KVPair{Key: "watched", Value: []byte("v1")}, nil); err != nil {
		t.Fatal(err)
	}
	_, meta, err := kv.Get("watched", nil)
	if err != nil {
		t.Fatal(err)
	}
	start := meta.LastIndex

	t.Run("wakes on a write", func(t *testing.T) {
		done := make(chan kvResult, 1)
		go func() {
			p, m, err := kv.Get("watched", &api.QueryOptions{WaitIndex: start, WaitTime: 30 * time.Second})
			done <- kvResult{p, m, err, time.Now()}
		}()
		// A write elsewhere must not end the wait with an unchanged key.
		time.Sleep(100 * time.Millisecond)
		if _, err := kv.Put(&api.KVPair{Key: "elsewhere", Value: []byte("x")}, nil); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
		select {
		case r := <-done:
			t.Fatalf("blocking query returned before its key changed: %+v", r)
		default:
		}
		written := time.Now()
		if _, err := kv.Put(&api.KVPair{Key: "watched", Value: []byte("v2")}, nil); err != nil {
			t.Fatal(err)
		}
		select {
		case r := <-done:
			if r.err != nil {
				t.Fatal(r.err)
			}
			if r.at.Before(written) {
				t.Fatalf("returned at %v, before the write at %v", r.at, written)
			}
			if r.pair == nil || string(r.pair.Value) != "v2" {
				t.Fatalf("woke with %+v, want the new value", r.pair)
			}
			if r.meta.LastIndex <= start {
				t.Fatalf("index %d after the write, want > %d", r.meta.LastIndex, start)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("blocking query did not wake within 10s of the write")
		}
	})

	t.Run("returns at the wait timeout", func(t *testing.T) {
		_, meta, err := kv.Get("watched", nil)
		if err != nil {
			t.Fatal(err)
		}
		idx := meta.LastIndex
		begin := time.Now()
		done := make(chan kvResult, 1)
		go func() {
			p, m, err := kv.Get("watched", &api.QueryOptions{WaitIndex: idx, WaitTime: 200 * time.Millisecond})
			done <- kvResult{p, m, err, time.Now()}
		}()
		select {
		case r := <-done:
			if r.err != nil {
				t.Fatal(r.err)
			}
			if waited := r.at.Sub(begin); waited < 200*time.Millisecond {
				t.Fatalf("returned after %v, before the 200ms wait", waited)
			}
			if r.meta.LastIndex != idx || string(r.pair.Value) != "v2" {
				t.Fatalf("timed-out query = %+v %+v, want unchanged index %d", r.pair, r.meta, idx)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("wait=200ms query still blocked after 10s")
		}
	})

	t.Run("missing key wakes when created", func(t *testing.T) {
		_, meta, err := kv.Get("later", nil)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan kvResult, 1)
		go func() {
			p, m, err := kv.Get("later", &api.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: 30 * time.Second})
			done <- kvResult{p, m, err, time.Now()}
		}()
		time.Sleep(50 * time.Millisecond)
		if _, err := kv.Put(&api.KVPair{Key: "later", Value: []byte("here")}, nil); err != nil {
			t.Fatal(err)
		}
		select {
		case r := <-done:
			if r.err != nil || r.pair == nil || string(r.pair.Value) != "here" {
				t.Fatalf("woke with %+v, %v", r.pair, r.err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("query on a missing key did not wake when it was created")
		}
	})

	t.Run("disconnect frees the waiter", func(t *testing.T) {
		before := counterValue(t, "/v1/kv/", "499")
		ctx, cancel := context.WithCancel(context.Background())
		req, err := http.NewRequestWithContext(ctx, "GET", s.base+"/v1/kv/watched?index=999999&wait=10m", nil)
		if err != nil {
			t.Fatal(err)
		}
		errc := make(chan error, 1)
		go func() {
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
			}
			errc <- err
		}()
		time.Sleep(100 * time.Millisecond)
		cancel()
		if err := <-errc; err == nil {
			t.Fatal("cancelled request succeeded")
		}
		deadline := time.Now().Add(10 * time.Second)
		for counterValue(t, "/v1/kv/", "499") <= before {
			if time.Now().After(deadline) {
				t.Fatal("the server did not give up the blocking query of a client that left")
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

func TestBlockingHealthService(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	h := s.client.Health()
	_, meta, err := h.Service("late", "", true, nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan []*api.ServiceEntry, 1)
	go func() {
		entries, _, err := h.Service("late", "", true, &api.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: 30 * time.Second})
		if err != nil {
			t.Error(err)
		}
		done <- entries
	}()
	time.Sleep(50 * time.Millisecond)
	s.registerNode(t, "n9", "10.9.9.9", nil, &api.AgentService{ID: "late", Service: "late", Port: 9}, api.HealthPassing)
	select {
	case entries := <-done:
		if got := entryNodes(entries); !slices.Equal(got, []string{"n9"}) {
			t.Fatalf("woke with %v", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("health/service did not wake on a registration")
	}
}

// counterValue reads coredns_coord_http_requests_total for a label pair
// from the default registry.
func counterValue(t testing.TB, endpoint, code string) float64 {
	t.Helper()
	families, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "coredns_coord_http_requests_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["endpoint"] == endpoint && labels["code"] == code {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}
