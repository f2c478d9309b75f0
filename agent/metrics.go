package agent

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/coredns-coord/coredns-coord/state"
	"github.com/coredns-coord/coredns-coord/structs"
)

// catalogCollector reports the size of each running agent's catalog at
// scrape time, so the answer path never pays for keeping gauges current.
type catalogCollector struct {
	nodes, services, instances, keys *prometheus.Desc
	sessions, invalidations          *prometheus.Desc
	checks                           *prometheus.Desc
}

func newCatalogCollector() *catalogCollector {
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName("coredns", "coord_catalog", name), help, []string{"node"}, nil)
	}
	return &catalogCollector{
		nodes:     desc("nodes", "Nodes in the catalog."),
		services:  desc("services", "Distinct service names in the catalog."),
		instances: desc("service_instances", "Service instances in the catalog."),
		keys:      desc("kv_keys", "Keys in the KV store."),
		sessions:  prometheus.NewDesc("coredns_coord_session_alive", "Sessions in the state store.", []string{"node"}, nil),
		invalidations: prometheus.NewDesc("coredns_coord_session_invalidations_total",
			"Sessions invalidated, by cause: api (destroyed), ttl (not renewed in time), check (a bound check turned critical or went away), node (its node left).",
			[]string{"node", "cause"}, nil),
		checks: prometheus.NewDesc("coredns_coordhealth_checks", "Checks this agent runs, by type and status.",
			[]string{"node", "type", "status"}, nil),
	}
}

func (c *catalogCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.nodes
	ch <- c.services
	ch <- c.instances
	ch <- c.keys
	ch <- c.sessions
	ch <- c.invalidations
	ch <- c.checks
}

func (c *catalogCollector) Collect(ch chan<- prometheus.Metric) {
	for _, a := range runningAgents() {
		nodes, names, instances, keys := sizes(a.State())
		node := a.cfg.NodeName
		ch <- prometheus.MustNewConstMetric(c.nodes, prometheus.GaugeValue, float64(nodes), node)
		ch <- prometheus.MustNewConstMetric(c.services, prometheus.GaugeValue, float64(names), node)
		ch <- prometheus.MustNewConstMetric(c.instances, prometheus.GaugeValue, float64(instances), node)
		ch <- prometheus.MustNewConstMetric(c.keys, prometheus.GaugeValue, float64(keys), node)
		_, sessions, _ := a.State().SessionList(nil)
		ch <- prometheus.MustNewConstMetric(c.sessions, prometheus.GaugeValue, float64(len(sessions)), node)
		check, nodeLeft := a.State().SessionInvalidations()
		for cause, n := range map[string]uint64{
			state.CauseAPI: a.sessionsDestroyed.Load(), state.CauseTTL: a.role.Stats().SessionsExpired,
			state.CauseCheck: check, state.CauseNode: nodeLeft,
		} {
			ch <- prometheus.MustNewConstMetric(c.invalidations, prometheus.CounterValue, float64(n), node, cause)
		}
		for k, n := range a.local.StatusCounts() {
			ch <- prometheus.MustNewConstMetric(c.checks, prometheus.GaugeValue, float64(n), node, k[0], k[1])
		}
	}
}

func sizes(s *state.Store) (nodes, names, instances, keys int) {
	_, ns, _ := s.Nodes(nil)
	_, svcs, _ := s.AllServiceNodes(nil)
	seen := map[string]struct{}{}
	for _, sn := range svcs {
		seen[sn.ServiceName] = struct{}{}
	}
	return len(ns), len(seen), len(svcs), s.KVCount()
}

func init() { prometheus.MustRegister(newCatalogCollector()) }

var eventsFired = prometheus.NewCounter(prometheus.CounterOpts{
	Namespace: "coredns",
	Subsystem: "coord_event",
	Name:      "fired_total",
	Help:      "User events fired on this agent.",
})

func init() { prometheus.MustRegister(eventsFired) }

var (
	checkTransitions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "coredns",
		Subsystem: "coordhealth",
		Name:      "status_transitions_total",
		Help:      "Check status changes, by check type and the statuses changed from and to.",
	}, []string{"type", "from", "to"})
	syncWrites = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "coredns",
		Subsystem: "coordhealth",
		Name:      "catalog_sync_writes_total",
		Help:      "Catalog writes made by the agent's anti-entropy sync, by operation (register, deregister).",
	}, []string{"op"})
)

func init() { prometheus.MustRegister(checkTransitions, syncWrites) }

func countTransition(hc *structs.HealthCheck, from string) {
	checkTransitions.WithLabelValues(hc.Type, from, hc.Status).Inc()
}

// countingCatalog is the agent as the sync's catalog, counting its writes
// and logging the services and checks that reached the catalog, as
// Consul's "Synced service" lines.
type countingCatalog struct{ a *Agent }

func (c countingCatalog) Register(req *structs.RegisterRequest) error {
	syncWrites.WithLabelValues("register").Inc()
	if err := c.a.Register(req); err != nil {
		return err
	}
	if req.Service != nil {
		agentLog.Infof("synced service %q", req.Service.ID)
	}
	if n := len(req.Checks); n > 0 {
		agentLog.Debugf("synced %d check(s)", n)
	}
	return nil
}

func (c countingCatalog) Deregister(req *structs.DeregisterRequest) error {
	syncWrites.WithLabelValues("deregister").Inc()
	if err := c.a.Deregister(req); err != nil {
		return err
	}
	switch {
	case req.ServiceID != "":
		agentLog.Infof("deregistered service %q", req.ServiceID)
	case req.CheckID != "":
		agentLog.Infof("deregistered check %q", req.CheckID)
	}
	return nil
}
