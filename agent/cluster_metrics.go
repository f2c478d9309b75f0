package agent

import (
	"github.com/prometheus/client_golang/prometheus"
)

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
	snapshotsStreamed = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "coredns", Subsystem: "coord_rpc", Name: "snapshots_streamed_total",
		Help: "Full state snapshots this server streamed to subscribing clients.",
	})
	replicaResubscribes = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "coredns", Subsystem: "coord_replica", Name: "resubscribes_total",
		Help: "Times this client's replication stream broke and was reopened.",
	})
	replicaSnapshots = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "coredns", Subsystem: "coord_replica", Name: "snapshots_total",
		Help: "Full snapshots this client restored its replica from.",
	})
	autopilotRemoved = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "coredns", Subsystem: "coord_autopilot", Name: "dead_servers_removed_total",
		Help: "Failed servers the leader removed from the Raft configuration.",
	})
)

func init() {
	prometheus.MustRegister(forwardedTotal, forwardErrors, forwardDuration, writeResends, writesOutcomeUnknown, snapshotsStreamed,
		replicaResubscribes, replicaSnapshots, autopilotRemoved, newClusterCollector())
}

// clusterCollector reports each running agent's Raft figures (servers) or
// replica freshness (clients) at scrape time.
type clusterCollector struct {
	state, term, commit, applied, lastContact *prometheus.Desc
	replicaContact, replicaLag                *prometheus.Desc
}

func newClusterCollector() *clusterCollector {
	desc := func(sub, name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName("coredns", sub, name), help, append([]string{"node"}, labels...), nil)
	}
	return &clusterCollector{
		state:          desc("coord_raft", "state", "1 for the Raft state this server is in (Leader, Follower, Candidate, Shutdown).", "state"),
		term:           desc("coord_raft", "term", "The current Raft term."),
		commit:         desc("coord_raft", "commit_index", "The highest log index known committed."),
		applied:        desc("coord_raft", "applied_index", "The highest log index applied to the state."),
		lastContact:    desc("coord_raft", "last_contact_seconds", "Time since this server heard from the leader (0 on the leader)."),
		replicaContact: desc("coord_replica", "last_contact_seconds", "How stale this client's replica may be: time since its last update plus its server's last contact with the leader."),
		replicaLag:     desc("coord_replica", "index_lag", "Log entries the client's replica is behind its server's last report."),
	}
}

func (c *clusterCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.state, c.term, c.commit, c.applied, c.lastContact, c.replicaContact, c.replicaLag} {
		ch <- d
	}
}

func (c *clusterCollector) Collect(ch chan<- prometheus.Metric) {
	for _, a := range runningAgents() {
		node := a.cfg.NodeName
		gauge := func(d *prometheus.Desc, v float64, labels ...string) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, append([]string{node}, labels...)...)
		}
		if a.raft != nil {
			st := a.raft.Stats()
			for _, s := range []string{"Leader", "Follower", "Candidate", "Shutdown"} {
				v := 0.0
				if s == st.State {
					v = 1
				}
				gauge(c.state, v, s)
			}
			gauge(c.term, float64(st.Term))
			gauge(c.commit, float64(st.CommitIndex))
			gauge(c.applied, float64(st.AppliedIndex))
			gauge(c.lastContact, st.LastContact.Seconds())
			continue
		}
		gauge(c.replicaContact, a.replicaLastContact().Seconds())
		lag := 0.0
		if srv, own := a.replicaState.serverIndex.Load(), a.replica.Index(); srv > own {
			lag = float64(srv - own)
		}
		gauge(c.replicaLag, lag)
	}
}
