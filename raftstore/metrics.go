package raftstore

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	appliesTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: "coredns",
		Subsystem: "coord_raft",
		Name:      "applies_total",
		Help:      "Raft applies by command type and result (ok, error).",
	}, []string{"type", "result"})

	applyDuration = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "coredns",
		Subsystem: "coord_raft",
		Name:      "apply_duration_seconds",
		Help:      "Time from submitting a command to its application by the FSM.",
		Buckets:   prometheus.ExponentialBuckets(0.0001, 2, 16),
	}, []string{"type"})

	fsmApplyDuration = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "coredns",
		Subsystem: "coord_raft",
		Name:      "fsm_apply_duration_seconds",
		Help:      "Time the state store takes to apply a committed command (servers and client replicas).",
		Buckets:   prometheus.ExponentialBuckets(0.00001, 2, 16),
	}, []string{"type"})

	requestsDeduplicated = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: "coredns",
		Subsystem: "coord_raft",
		Name:      "requests_deduplicated_total",
		Help:      "Re-sent writes answered from the request records instead of being applied again, by command type.",
	}, []string{"type"})

	leaderChanges = promauto.NewCounter(prometheus.CounterOpts{
		Namespace: "coredns",
		Subsystem: "coord_raft",
		Name:      "leader_changes_total",
		Help:      "Leadership changes observed by this server.",
	})
)
