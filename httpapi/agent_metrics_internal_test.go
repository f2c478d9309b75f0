package httpapi

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// toMetricsInfo on a registry of its own: each Prometheus type lands in
// its go-metrics list, the GC summary also as Consul's runtime gauges,
// and values JSON cannot carry are left out.
func TestToMetricsInfo(t *testing.T) {
	reg := prometheus.NewRegistry()
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "t_gauge"}, []string{"k"})
	g.WithLabelValues("a").Set(2.5)
	g.WithLabelValues("nan").Set(math.NaN())
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "t_total"})
	c.Add(3)
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "t_seconds"})
	h.Observe(1)
	h.Observe(3)
	gc := prometheus.NewSummary(prometheus.SummaryOpts{Name: "go_gc_duration_seconds"})
	gc.Observe(0.5)
	gc.Observe(0.25)
	alloc := prometheus.NewGauge(prometheus.GaugeOpts{Name: "go_memstats_alloc_bytes"})
	alloc.Set(1024)
	reg.MustRegister(g, c, h, gc, alloc)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2024, 5, 6, 7, 8, 9, 500, time.UTC)
	m := toMetricsInfo(families, "h1", now)

	if m.Timestamp != "2024-05-06 07:08:09 +0000 UTC" {
		t.Errorf("Timestamp %q", m.Timestamp)
	}
	gauges := map[string]gaugeValue{}
	for _, gv := range m.Gauges {
		gauges[gv.Name+"/"+gv.Labels["k"]] = gv
	}
	want := map[string]float32{
		"t_gauge/a":                            2.5,
		"consul.h1.runtime.alloc_bytes/":       1024,
		"consul.h1.runtime.total_gc_runs/":     2,
		"consul.h1.runtime.total_gc_pause_ns/": 0.75e9,
	}
	if len(gauges) != len(want) {
		t.Errorf("gauges %v, want %v", gauges, want)
	}
	for k, v := range want {
		if gauges[k].Value != v {
			t.Errorf("gauge %s = %v, want %v", k, gauges[k].Value, v)
		}
	}
	if len(m.Counters) != 1 || m.Counters[0].Name != "t_total" || m.Counters[0].Count != 3 || m.Counters[0].Sum != 3 {
		t.Errorf("counters %+v", m.Counters)
	}
	samples := map[string]sampledValue{}
	for _, sv := range m.Samples {
		samples[sv.Name] = sv
	}
	if sv := samples["t_seconds"]; sv.Count != 2 || sv.Sum != 4 || sv.Mean != 2 {
		t.Errorf("histogram sample %+v", sv)
	}
	if sv := samples["go_gc_duration_seconds"]; sv.Count != 2 || sv.Sum != 0.75 {
		t.Errorf("summary sample %+v", sv)
	}
	if _, err := json.Marshal(m); err != nil {
		t.Fatalf("the answer does not encode: %v", err)
	}
}
