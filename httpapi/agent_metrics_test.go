package httpapi_test

import (
	"os"
	"strings"
	"testing"

	"github.com/hashicorp/consul/api"
)

// agent/metrics answers Consul's go-metrics shape from the Prometheus
// registry: the runtime gauges under Consul's names, our own metrics
// under theirs.
func TestAgentMetrics(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.expect(t, "GET", "/v1/catalog/nodes", "", 200, "") // something to count
	m, err := s.client.Agent().Metrics()
	if err != nil {
		t.Fatal(err)
	}
	if m.Timestamp == "" || m.Points == nil {
		t.Fatalf("Timestamp %q, Points %v", m.Timestamp, m.Points)
	}
	host, _ := os.Hostname()
	gauges := map[string]float32{}
	for _, g := range m.Gauges {
		gauges[g.Name] = g.Value
	}
	for _, name := range []string{"alloc_bytes", "sys_bytes", "num_goroutines", "heap_objects", "malloc_count", "total_gc_runs"} {
		full := "consul." + host + ".runtime." + name
		if _, ok := gauges[full]; !ok {
			t.Errorf("no gauge %s", full)
		}
	}
	if v := gauges["consul."+host+".runtime.alloc_bytes"]; v <= 0 {
		t.Errorf("alloc_bytes = %v", v)
	}
	if _, ok := gauges["go_goroutines"]; ok {
		t.Error("go_goroutines is also reported under its Prometheus name")
	}

	counted := func(list []api.SampledValue, name string, labels map[string]string) *api.SampledValue {
		for i, sv := range list {
			match := sv.Name == name
			for k, v := range labels {
				match = match && sv.Labels[k] == v
			}
			if match {
				return &list[i]
			}
		}
		return nil
	}
	c := counted(m.Counters, "coredns_coord_http_requests_total", map[string]string{"endpoint": "/v1/catalog/nodes", "code": "200"})
	if c == nil || c.Count < 1 || c.Sum != float64(c.Count) {
		t.Fatalf("catalog/nodes request counter %+v", c)
	}
	h := counted(m.Samples, "coredns_coord_http_request_duration_seconds", map[string]string{"endpoint": "/v1/catalog/nodes"})
	if h == nil || h.Count < 1 || h.Sum <= 0 || h.Mean != h.Sum/float64(h.Count) {
		t.Fatalf("catalog/nodes latency sample %+v", h)
	}

	t.Run("prometheus", func(t *testing.T) {
		body := s.expect(t, "GET", "/v1/agent/metrics?format=prometheus", "", 200, "# TYPE go_goroutines gauge")
		if !strings.Contains(string(body), `coredns_coord_http_requests_total{code="200",endpoint="/v1/catalog/nodes"}`) {
			t.Fatalf("prometheus text lacks the request counter:\n%.2000s", body)
		}
	})
	t.Run("bad format", func(t *testing.T) {
		s.expect(t, "GET", "/v1/agent/metrics?format=xml", "", 400, "Invalid format")
	})
}
