package coordcatalog

import (
	"github.com/coredns/coredns/plugin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	responses = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "responses_total",
		Help:      "Answers for names in the catalog zone, by query type and rcode.",
	}, []string{"server", "type", "rcode"})

	cacheHits = promauto.NewCounter(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "instance_cache_hits_total",
		Help:      "Service lookups answered from the healthy-instance cache.",
	})

	cacheMisses = promauto.NewCounter(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "instance_cache_misses_total",
		Help:      "Service lookups that read the state store (first lookup, or catalog changed).",
	})
)
