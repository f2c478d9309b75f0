package agent

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/coredns-coord/coredns-coord/raftstore/state"
)

// catalogCollector reports the size of each running agent's catalog at
// scrape time, so the answer path never pays for keeping gauges current.
type catalogCollector struct {
	nodes, services, instances, keys *prometheus.Desc
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
	}
}

func (c *catalogCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.nodes
	ch <- c.services
	ch <- c.instances
	ch <- c.keys
}

func (c *catalogCollector) Collect(ch chan<- prometheus.Metric) {
	registryMu.Lock()
	agents := make([]*Agent, 0, len(registry))
	for _, a := range registry {
		agents = append(agents, a)
	}
	registryMu.Unlock()
	for _, a := range agents {
		nodes, names, instances, keys := sizes(a.State())
		node := a.cfg.NodeName
		ch <- prometheus.MustNewConstMetric(c.nodes, prometheus.GaugeValue, float64(nodes), node)
		ch <- prometheus.MustNewConstMetric(c.services, prometheus.GaugeValue, float64(names), node)
		ch <- prometheus.MustNewConstMetric(c.instances, prometheus.GaugeValue, float64(instances), node)
		ch <- prometheus.MustNewConstMetric(c.keys, prometheus.GaugeValue, float64(keys), node)
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
