package coordcatalog

import (
	"context"
	"fmt"
	"net"
	"testing"

	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"

	"github.com/coredns-coord/coredns-coord/state"
	"github.com/coredns-coord/coredns-coord/structs"
)

// catalogOf builds a catalog of services names; the first has big
// instances, the others 3, on nodes of their own.
func catalogOf(b *testing.B, services, big int) *state.Store {
	s := state.NewStore()
	idx := uint64(0)
	node := 0
	for svc := 0; svc < services; svc++ {
		count := 3
		if svc == 0 {
			count = big
		}
		for i := 0; i < count; i++ {
			idx++
			node++
			err := s.EnsureRegistration(idx, &structs.RegisterRequest{
				Node:    fmt.Sprintf("n%d", node),
				Address: fmt.Sprintf("10.%d.%d.%d", node>>16&255, node>>8&255, node&255),
				Service: &structs.NodeService{Service: fmt.Sprintf("svc%d", svc), Port: 8000, Tags: []string{"v1"}},
				Check:   &structs.HealthCheck{CheckID: structs.SerfCheckID, Status: structs.HealthPassing},
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	return s
}

func benchPlugin(s *state.Store) *CoordCatalog {
	c := newTestPlugin(s)
	c.Zones = []string{"consul.", "in-addr.arpa.", "ip6.arpa."}
	return c
}

func benchQueries(b *testing.B, c *CoordCatalog, queries map[string]*dns.Msg, tcp bool) {
	for name, m := range queries {
		b.Run(name, func(b *testing.B) {
			w := &test.ResponseWriter{TCP: tcp}
			ctx := context.Background()
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				rec := dnstest.NewRecorder(w)
				c.ServeDNS(ctx, rec, m)
				if rec.Msg == nil || (len(rec.Msg.Answer) == 0 && name != "nxdomain") {
					b.Fatalf("%s: no answer", name)
				}
			}
		})
	}
}

func edns(m *dns.Msg) *dns.Msg { m.SetEdns0(1232, false); return m }

// BenchmarkServeDNS measures the answer path for the query shapes
// dnsperf runs and a node's PTR, on a small catalog and on 10,000 services with 1,000
// instances of the largest (answers then trimmed to a 1232-byte buffer).
func BenchmarkServeDNS(b *testing.B) {
	shapes := func(service string) map[string]*dns.Msg {
		return map[string]*dns.Msg{
			"service-A":   edns(new(dns.Msg).SetQuestion(service+".service.consul.", dns.TypeA)),
			"service-SRV": edns(new(dns.Msg).SetQuestion(service+".service.consul.", dns.TypeSRV)),
			"service-ANY": edns(new(dns.Msg).SetQuestion(service+".service.consul.", dns.TypeANY)),
			"rfc2782-SRV": edns(new(dns.Msg).SetQuestion("_"+service+"._v1.service.consul.", dns.TypeSRV)),
			"node-A":      edns(new(dns.Msg).SetQuestion("n1.node.consul.", dns.TypeA)),
			"node-PTR":    edns(new(dns.Msg).SetQuestion("1.0.0.10.in-addr.arpa.", dns.TypePTR)),
			"nxdomain":    edns(new(dns.Msg).SetQuestion("nosuch.service.consul.", dns.TypeA)),
		}
	}
	b.Run("small", func(b *testing.B) {
		benchQueries(b, benchPlugin(catalogOf(b, 1, 3)), shapes("svc0"), false)
	})
	b.Run("10k-services-1k-instances", func(b *testing.B) {
		c := benchPlugin(catalogOf(b, 10000, 1000))
		benchQueries(b, c, shapes("svc0"), false)
		b.Run("tcp-all-1000", func(b *testing.B) {
			benchQueries(b, c, map[string]*dns.Msg{"service-SRV": new(dns.Msg).SetQuestion("svc0.service.consul.", dns.TypeSRV)}, true)
		})
	})
}

// BenchmarkCacheMiss is the cost of the first lookup after a catalog change:
// reading 1,000 instances with their checks from the state store.
func BenchmarkCacheMiss(b *testing.B) {
	s := catalogOf(b, 1, 1000)
	key := instanceKey{service: "svc0", zone: "consul."}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		c := newInstanceCache()
		if _, err := c.get(s, key, "dc1", false, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAddrIndexMiss is the cost of the first PTR lookup after a
// catalog change: indexing every node and service address (10,000 nodes).
func BenchmarkAddrIndexMiss(b *testing.B) {
	s := catalogOf(b, 1, 10000)
	ip := net.ParseIP("10.0.0.1")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c := newInstanceCache()
		if _, err := c.names(s, ip, "dc1", "consul."); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseName(b *testing.B) {
	for i := 0; i < b.N; i++ {
		parseName("_web._v1.service.dc1.consul.", "consul.")
	}
}

// BenchmarkServeDNSACL is the answer path with ACLs off and on (default
// deny, a dns token that reads the service and its nodes, resolved by a
// real agent): the goal is the same allocations per answer.
func BenchmarkServeDNSACL(b *testing.B) {
	a, on := startACLAgent(b, "dns-secret", "web-node")
	off := newTestPlugin(a.State())
	queries := map[string]*dns.Msg{
		"service-A":   edns(new(dns.Msg).SetQuestion("web.service.consul.", dns.TypeA)),
		"service-SRV": edns(new(dns.Msg).SetQuestion("web.service.consul.", dns.TypeSRV)),
		"node-A":      edns(new(dns.Msg).SetQuestion("web-node.node.consul.", dns.TypeA)),
	}
	b.Run("acl-off", func(b *testing.B) { benchQueries(b, off, queries, false) })
	b.Run("acl-on", func(b *testing.B) { benchQueries(b, on, queries, false) })
}
