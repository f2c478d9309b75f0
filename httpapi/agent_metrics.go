package httpapi

import (
	"fmt"
	"math"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
)

// metricsInfo is Consul's agent/metrics answer (go-metrics' in-memory
// sink display), built from the process's Prometheus registry at request
// time.
type metricsInfo struct {
	Timestamp string
	Gauges    []gaugeValue
	Points    []pointValue
	Counters  []sampledValue
	Samples   []sampledValue
}

type gaugeValue struct {
	Name   string
	Value  float32
	Labels map[string]string
}

type pointValue struct {
	Name   string
	Points []float32
}

type sampledValue struct {
	Name   string
	Count  int
	Sum    float64
	Min    float64
	Max    float64
	Mean   float64
	Stddev float64
	Labels map[string]string
}

// runtimeGauges are the Go runtime figures Consul reports as
// consul.<host>.runtime.* gauges, by the Prometheus Go collector's name
// for them. Tools (and the official client's tests) look for these.
var runtimeGauges = map[string]string{
	"go_goroutines":             "num_goroutines",
	"go_memstats_alloc_bytes":   "alloc_bytes",
	"go_memstats_sys_bytes":     "sys_bytes",
	"go_memstats_mallocs_total": "malloc_count",
	"go_memstats_frees_total":   "free_count",
	"go_memstats_heap_objects":  "heap_objects",
}

// agentMetrics answers agent/metrics from the process registry, where the
// agent, the HTTP API and the Go runtime register. ?format=prometheus
// serves it in Prometheus' text format (Consul: only with
// prometheus_retention_time set; here always).
func (s *server) agentMetrics(w http.ResponseWriter, r *http.Request) error {
	switch f := r.URL.Query().Get("format"); f {
	case "prometheus":
		promhttp.HandlerFor(prometheus.DefaultGatherer, promhttp.HandlerOpts{}).ServeHTTP(w, r)
		return nil
	case "", "json":
	default:
		return badRequest("Invalid format %q: must be prometheus or empty", f)
	}
	families, err := prometheus.DefaultGatherer.Gather()
	if err != nil && len(families) == 0 {
		return fmt.Errorf("gather metrics: %w", err)
	}
	host, _ := os.Hostname()
	return writeJSON(w, r, http.StatusOK, toMetricsInfo(families, host, time.Now()))
}

// toMetricsInfo maps Prometheus families onto go-metrics' display.
// Gauges (and untyped) are gauges; counters are counters, holding their
// total since start (go-metrics holds the last 10 s); summaries and
// histograms are samples with their count, sum and mean. Names stay
// Prometheus', except the runtime figures Consul names (runtimeGauges).
// Values that JSON cannot carry (NaN, ±Inf) are left out.
func toMetricsInfo(families []*dto.MetricFamily, host string, now time.Time) metricsInfo {
	out := metricsInfo{
		Timestamp: now.UTC().Truncate(time.Second).String(),
		Gauges:    []gaugeValue{},
		Points:    []pointValue{},
		Counters:  []sampledValue{},
		Samples:   []sampledValue{},
	}
	runtimeName := func(short string) string {
		if host == "" {
			return "consul.runtime." + short
		}
		return "consul." + host + ".runtime." + short
	}
	gauge := func(name string, v float64, labels map[string]string) {
		if finite(v) {
			out.Gauges = append(out.Gauges, gaugeValue{Name: name, Value: float32(v), Labels: labels})
		}
	}
	for _, f := range families {
		name := f.GetName()
		for _, m := range f.GetMetric() {
			labels := labelMap(m.GetLabel())
			switch f.GetType() {
			case dto.MetricType_GAUGE, dto.MetricType_UNTYPED:
				v := m.GetGauge().GetValue()
				if f.GetType() == dto.MetricType_UNTYPED {
					v = m.GetUntyped().GetValue()
				}
				if short, ok := runtimeGauges[name]; ok {
					gauge(runtimeName(short), v, labels)
					continue
				}
				gauge(name, v, labels)
			case dto.MetricType_COUNTER:
				v := m.GetCounter().GetValue()
				if short, ok := runtimeGauges[name]; ok {
					gauge(runtimeName(short), v, labels)
					continue
				}
				if finite(v) {
					out.Counters = append(out.Counters, sample(name, uint64(math.Max(v, 0)), v, labels))
				}
			case dto.MetricType_SUMMARY:
				count, sum := m.GetSummary().GetSampleCount(), m.GetSummary().GetSampleSum()
				if name == "go_gc_duration_seconds" {
					gauge(runtimeName("total_gc_pause_ns"), sum*1e9, nil)
					gauge(runtimeName("total_gc_runs"), float64(count), nil)
				}
				if finite(sum) {
					out.Samples = append(out.Samples, sample(name, count, sum, labels))
				}
			case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
				h := m.GetHistogram()
				if finite(h.GetSampleSum()) {
					out.Samples = append(out.Samples, sample(name, h.GetSampleCount(), h.GetSampleSum(), labels))
				}
			}
		}
	}
	return out
}

func sample(name string, count uint64, sum float64, labels map[string]string) sampledValue {
	sv := sampledValue{Name: name, Count: int(min(count, math.MaxInt)), Sum: sum, Labels: labels}
	if count > 0 {
		sv.Mean = sum / float64(count)
	}
	return sv
}

func labelMap(pairs []*dto.LabelPair) map[string]string {
	out := make(map[string]string, len(pairs))
	for _, p := range pairs {
		out[p.GetName()] = p.GetValue()
	}
	return out
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
