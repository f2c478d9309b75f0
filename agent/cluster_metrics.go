package agent

import (
	"github.com/prometheus/client_golang/prometheus"
)

func init() { prometheus.MustRegister(newClusterCollector()) }

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
		st := a.role.Stats()
		if r := st.Raft; r != nil {
			for _, s := range []string{"Leader", "Follower", "Candidate", "Shutdown"} {
				v := 0.0
				if s == r.State {
					v = 1
				}
				gauge(c.state, v, s)
			}
			gauge(c.term, float64(r.Term))
			gauge(c.commit, float64(r.CommitIndex))
			gauge(c.applied, float64(r.AppliedIndex))
			gauge(c.lastContact, r.LastContact.Seconds())
		}
		if r := st.Replica; r != nil {
			gauge(c.replicaContact, r.LastContact.Seconds())
			gauge(c.replicaLag, float64(r.IndexLag))
		}
	}
}
