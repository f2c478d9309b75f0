package client

import "github.com/prometheus/client_golang/prometheus"

var (
	replicaResubscribes = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "coredns", Subsystem: "coord_replica", Name: "resubscribes_total",
		Help: "Times this client's replication stream broke and was reopened.",
	})
	replicaSnapshots = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "coredns", Subsystem: "coord_replica", Name: "snapshots_total",
		Help: "Full snapshots this client restored its replica from.",
	})
)

func init() { prometheus.MustRegister(replicaResubscribes, replicaSnapshots) }
