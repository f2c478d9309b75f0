package checks

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// checkDuration is how long each run of an interval check took, by check
// type (http, tcp, script, docker, grpc). Registered with the default
// registerer, which CoreDNS's prometheus plugin serves.
var checkDuration = promauto.NewHistogramVec(prometheus.HistogramOpts{
	Namespace: "coredns",
	Subsystem: "coordhealth",
	Name:      "check_duration_seconds",
	Help:      "Duration of one run of an interval health check, by check type.",
	Buckets:   []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
}, []string{"type"})
