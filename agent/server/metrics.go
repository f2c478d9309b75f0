package server

import "github.com/prometheus/client_golang/prometheus"

var (
	snapshotsStreamed = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "coredns", Subsystem: "coord_rpc", Name: "snapshots_streamed_total",
		Help: "Full state snapshots this server streamed to subscribing clients.",
	})
	autopilotRemoved = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "coredns", Subsystem: "coord_autopilot", Name: "dead_servers_removed_total",
		Help: "Failed servers the leader removed from the Raft configuration.",
	})
)

func init() { prometheus.MustRegister(snapshotsStreamed, autopilotRemoved) }
