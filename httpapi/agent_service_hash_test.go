package httpapi_test

import (
	"context"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/hashicorp/consul/api/watch"
)

type serviceResult struct {
	svc  *api.AgentService
	meta *api.QueryMeta
	err  error
}

// agent/service/:id carries a ContentHash (body and X-Consul-ContentHash)
// and, with ?hash, blocks until the service no longer hashes to it.
func TestAgentServiceHashBlocking(t *testing.T) {
	s := startServer(t)
	ag := s.client.Agent()
	register := func(id string, port int) {
		t.Helper()
		if err := ag.ServiceRegister(&api.AgentServiceRegistration{ID: id, Name: "web", Port: port}); err != nil {
			t.Fatal(err)
		}
	}
	register("web", 8080)
	svc, meta, err := ag.Service("web", nil)
	if err != nil {
		t.Fatal(err)
	}
	hash := meta.LastContentHash
	if hash == "" || svc.ContentHash != hash || svc.Port != 8080 {
		t.Fatalf("service %+v with header hash %q", svc, hash)
	}
	// Same service, same hash: it is a function of the content.
	if again, meta, err := ag.Service("web", nil); err != nil || meta.LastContentHash != hash || again.ContentHash != hash {
		t.Fatalf("second read: %+v, hash %q, %v; want hash %q", again, meta.LastContentHash, err, hash)
	}

	const gauge = "coredns_coord_http_blocking_queries"
	block := func(h string, wait time.Duration) <-chan serviceResult {
		before := gaugeValue(t, gauge)
		done := make(chan serviceResult, 1)
		go func() {
			svc, meta, err := ag.Service("web", &api.QueryOptions{WaitHash: h, WaitTime: wait})
			done <- serviceResult{svc, meta, err}
		}()
		deadline := time.Now().Add(10 * time.Second)
		for gaugeValue(t, gauge) < before+1 {
			if time.Now().After(deadline) {
				t.Fatal("the hash query is not waiting")
			}
			time.Sleep(5 * time.Millisecond)
		}
		return done
	}
	result := func(done <-chan serviceResult) serviceResult {
		t.Helper()
		select {
		case r := <-done:
			return r
		case <-time.After(10 * time.Second):
			t.Fatal("hash query did not return within 10s of the change")
		}
		return serviceResult{}
	}

	t.Run("wakes on a change", func(t *testing.T) {
		done := block(hash, 30*time.Second)
		// Changes that leave this service as it was do not end the wait.
		register("web", 8080)
		register("other", 1)
		time.Sleep(200 * time.Millisecond)
		select {
		case r := <-done:
			t.Fatalf("returned before the service changed: %+v", r)
		default:
		}
		register("web", 9090)
		r := result(done)
		if r.err != nil || r.svc.Port != 9090 || r.meta.LastContentHash == hash || r.svc.ContentHash != r.meta.LastContentHash {
			t.Fatalf("woke with %+v, hash %q, err %v; want port 9090 and a new hash", r.svc, r.meta.LastContentHash, r.err)
		}
		hash = r.meta.LastContentHash
	})

	t.Run("returns the same at the wait timeout", func(t *testing.T) {
		r := result(block(hash, 100*time.Millisecond))
		if r.err != nil || r.meta.LastContentHash != hash || r.svc.Port != 9090 {
			t.Fatalf("after the wait: %+v, hash %q, err %v; want the unchanged service", r.svc, r.meta.LastContentHash, r.err)
		}
	})

	t.Run("a stale hash answers at once", func(t *testing.T) {
		// Were it to wait, the context would end it with an error.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		q := (&api.QueryOptions{WaitHash: "0000000000000000", WaitTime: time.Minute}).WithContext(ctx)
		svc, meta, err := ag.Service("web", q)
		if err != nil || meta.LastContentHash != hash || svc.Port != 9090 {
			t.Fatalf("got %+v, hash %q, err %v", svc, meta.LastContentHash, err)
		}
	})

	t.Run("deregistration ends the wait with 404", func(t *testing.T) {
		done := block(hash, 30*time.Second)
		if err := ag.ServiceDeregister("web"); err != nil {
			t.Fatal(err)
		}
		if r := result(done); !isStatus(r.err, 404) {
			t.Fatalf("after deregistration: %+v, %v; want 404", r.svc, r.err)
		}
	})

	t.Run("bad input", func(t *testing.T) {
		register("web", 9090)
		s.expect(t, "GET", "/v1/agent/service/web?hash=x&wait=soon", "", 400, "Invalid wait")
		s.expect(t, "GET", "/v1/agent/service/nope", "", 404, "unknown service ID: nope")
	})
}

// The official client's agent_service watch plan wakes once per change
// (it spun, or hung, without X-Consul-ContentHash).
func TestAgentServiceWatchPlan(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	reg := &api.AgentServiceRegistration{Name: "web", Port: 8080}
	if err := s.client.Agent().ServiceRegister(reg); err != nil {
		t.Fatal(err)
	}
	plan, err := watch.Parse(map[string]any{"type": "agent_service", "service_id": "web"})
	if err != nil {
		t.Fatal(err)
	}
	type wakeup struct {
		hash string
		port int
	}
	got := make(chan wakeup, 16)
	plan.HybridHandler = func(v watch.BlockingParamVal, raw any) {
		h, _ := v.(watch.WaitHashVal)
		if svc, ok := raw.(*api.AgentService); ok && svc != nil {
			got <- wakeup{string(h), svc.Port}
		}
	}
	go plan.RunWithClientAndHclog(s.client, nil)
	t.Cleanup(plan.Stop)

	next := func() wakeup {
		t.Helper()
		select {
		case w := <-got:
			return w
		case <-time.After(10 * time.Second):
			t.Fatal("no watch wakeup within 10s")
		}
		return wakeup{}
	}
	first := next()
	if first.port != 8080 || first.hash == "" {
		t.Fatalf("first wakeup %+v", first)
	}
	reg.Port = 9090
	if err := s.client.Agent().ServiceRegister(reg); err != nil {
		t.Fatal(err)
	}
	second := next()
	if second.port != 9090 || second.hash == first.hash {
		t.Fatalf("second wakeup %+v after %+v", second, first)
	}
	select {
	case w := <-got:
		t.Fatalf("a wakeup without a change: %+v", w)
	case <-time.After(300 * time.Millisecond):
	}
}
