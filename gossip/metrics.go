package gossip

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

var (
	eventsDropped = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "coredns_coord_gossip_events_dropped_total",
		Help: "Gossip events dropped because their channel was full, by kind (member, user).",
	}, []string{"kind"})
	userEventsTotal = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "coredns_coord_gossip_user_events_total",
		Help: "User events received (each counted once per member that got it).",
	})

	poolsMu sync.Mutex
	pools   = map[*Pool]struct{}{}
)

func init() {
	prometheus.MustRegister(eventsDropped, userEventsTotal, newMembersCollector())
}

func registerPool(p *Pool) {
	poolsMu.Lock()
	pools[p] = struct{}{}
	poolsMu.Unlock()
}

func unregisterPool(p *Pool) {
	poolsMu.Lock()
	delete(pools, p)
	poolsMu.Unlock()
}

// membersCollector reports, at scrape time, the members of the running
// pools by status: coredns_coord_gossip_members{pool,status}. Pools with the
// same name (only in tests) are summed.
type membersCollector struct{ desc *prometheus.Desc }

func newMembersCollector() *membersCollector {
	return &membersCollector{desc: prometheus.NewDesc("coredns_coord_gossip_members",
		"Members of the gossip pool as this agent sees them, by pool (lan, wan) and status (alive, leaving, left, failed).",
		[]string{"pool", "status"}, nil)}
}

func (c *membersCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *membersCollector) Collect(ch chan<- prometheus.Metric) {
	counts := map[string]*[len(statusNames)]int{}
	poolsMu.Lock()
	for p := range pools {
		if counts[p.cfg.poolName()] == nil {
			counts[p.cfg.poolName()] = new([len(statusNames)]int)
		}
		for _, m := range p.Members() {
			counts[p.cfg.poolName()][m.Status]++
		}
	}
	poolsMu.Unlock()
	for pool, n := range counts {
		for s, v := range n {
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(v), pool, Status(s).String())
		}
	}
}
