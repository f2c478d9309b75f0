package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/miekg/dns"
)

// BenchmarkCheckFailToDNS measures how long an instance stays in DNS
// answers after its target fails: from the failure to the first answer
// without it, polling DNS every 2 ms. The check runs every 1 s with a 1 s
// timeout, so the goal is under 1 s (a refused request) or 2 s (a hung
// one) plus 100 ms. ttl-fail is the agent's own path alone: a TTL check
// failed over the API until DNS drops the instance.
func BenchmarkCheckFailToDNS(b *testing.B) {
	var mode atomic.Int32 // 0 ok, 1 500, 2 hang
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch mode.Load() {
		case 1:
			w.WriteHeader(500)
		case 2:
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}
	}))
	b.Cleanup(target.Close)
	n := newNode(b)
	start(b, n)
	c := n.client(b)
	if err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{
		Name: "web", Port: 80, Address: "127.0.0.10",
		Check: &api.AgentServiceCheck{CheckID: "web-http", HTTP: target.URL, Interval: "1s", Timeout: "1s"},
	}); err != nil {
		b.Fatal(err)
	}
	if err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{
		Name: "job", Port: 80, Address: "127.0.0.11",
		Check: &api.AgentServiceCheck{CheckID: "job-ttl", TTL: "1h"},
	}); err != nil {
		b.Fatal(err)
	}
	inDNS := func(service string) bool {
		r, err := exchange(n, "udp", service+".service.consul.", dns.TypeA)
		return err == nil && len(r.Answer) == 1
	}
	waitUntil := func(what string, cond func() bool) time.Duration {
		t0 := time.Now()
		for !cond() {
			if time.Since(t0) > 10*time.Second {
				b.Fatalf("%s: not within 10s", what)
			}
			time.Sleep(2 * time.Millisecond)
		}
		return time.Since(t0)
	}
	report := func(b *testing.B, d []time.Duration) {
		slices.Sort(d)
		b.ReportMetric(float64(d[len(d)/2].Microseconds())/1000, "p50_ms")
		b.ReportMetric(float64(d[len(d)-1].Microseconds())/1000, "max_ms")
	}

	for _, m := range []struct {
		name string
		mode int32
	}{{"http-500", 1}, {"http-hang", 2}} {
		b.Run(m.name, func(b *testing.B) {
			var d []time.Duration
			for range b.N {
				mode.Store(0)
				waitUntil("recovery", func() bool { return inDNS("web") })
				// Fail at a random point of the check's cycle.
				time.Sleep(time.Duration(len(d)%10) * 97 * time.Millisecond)
				mode.Store(m.mode)
				d = append(d, waitUntil("removal", func() bool { return !inDNS("web") }))
			}
			report(b, d)
		})
	}
	b.Run("ttl-fail", func(b *testing.B) {
		var d []time.Duration
		for i := range b.N {
			if err := c.Agent().PassTTL("job-ttl", ""); err != nil {
				b.Fatal(err)
			}
			waitUntil("recovery", func() bool { return inDNS("job") })
			t0 := time.Now()
			if err := c.Agent().FailTTL("job-ttl", fmt.Sprint(i)); err != nil {
				b.Fatal(err)
			}
			waitUntil("removal", func() bool { return !inDNS("job") })
			d = append(d, time.Since(t0))
		}
		report(b, d)
	})
}
