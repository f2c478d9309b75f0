package httpapi

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Endpoint labels are route patterns ("/v1/catalog/service/:name"), never
// raw paths, so that their number stays bounded.
const (
	endpointUnmatched = "unmatched"
	// codeClientGone labels requests whose client left before an answer
	// (a blocking query given up), as nginx's 499.
	codeClientGone = "499"
)

var (
	requestsTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: "coredns",
		Subsystem: "coord_http",
		Name:      "requests_total",
		Help:      "HTTP API requests by endpoint (route pattern) and status code.",
	}, []string{"endpoint", "code"})

	requestDuration = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "coredns",
		Subsystem: "coord_http",
		Name:      "request_duration_seconds",
		Help:      "HTTP API request latency by endpoint (route pattern); blocking queries include their wait.",
		Buckets:   []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 660},
	}, []string{"endpoint"})

	blockingInFlight = promauto.NewGauge(prometheus.GaugeOpts{
		Namespace: "coredns",
		Subsystem: "coord_http",
		Name:      "blocking_queries",
		Help:      "Blocking queries waiting for a change right now.",
	})
)

func observe(endpoint string, code string, d time.Duration) {
	requestsTotal.WithLabelValues(endpoint, code).Inc()
	requestDuration.WithLabelValues(endpoint).Observe(d.Seconds())
}

func codeLabel(code int) string { return strconv.Itoa(code) }
