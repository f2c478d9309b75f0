package cluster

import "github.com/prometheus/client_golang/prometheus"

var (
	forwardedTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "coredns", Subsystem: "coord_rpc", Name: "forwarded_total",
		Help: "Requests forwarded towards the leader, by operation (apply, read-index, renew-session, operator).",
	}, []string{"op"})
	forwardErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "coredns", Subsystem: "coord_rpc", Name: "forward_errors_total",
		Help: "Forwarded requests that found no leader within the hold time, by operation.",
	}, []string{"op"})
	forwardDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "coredns", Subsystem: "coord_rpc", Name: "forward_duration_seconds",
		Help:    "Time to forward a request and get the leader's answer, by operation.",
		Buckets: prometheus.ExponentialBuckets(0.0002, 2, 16),
	}, []string{"op"})
	writeResends = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "coredns", Subsystem: "coord_rpc", Name: "write_resends_total",
		Help: "Writes sent again with the same request ID after an attempt that failed or whose outcome was unknown.",
	})
	writesOutcomeUnknown = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "coredns", Subsystem: "coord_rpc", Name: "writes_outcome_unknown_total",
		Help: "Writes answered 'outcome unknown': an attempt may have been applied, and none confirmed it within the hold time.",
	})
)

func init() {
	prometheus.MustRegister(forwardedTotal, forwardErrors, forwardDuration, writeResends, writesOutcomeUnknown)
}
