package coordcatalog

import (
	"context"
	"fmt"
	"testing"

	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"

	"github.com/coredns-coord/coredns-coord/state"
	"github.com/coredns-coord/coredns-coord/structs"
)

// fixture is a catalog with healthy, warning and critical instances, an
// instance with an address of its own and an IPv6-only service.
func fixture(t testing.TB) *state.Store {
	t.Helper()
	s := state.NewStore()
	idx := uint64(0)
	reg := func(node, addr string, svc *structs.NodeService, status string) {
		t.Helper()
		idx++
		req := &structs.RegisterRequest{Node: node, Address: addr, Datacenter: "dc1", Service: svc,
			Checks: structs.HealthChecks{{CheckID: structs.SerfCheckID, Status: structs.HealthPassing}}}
		if status != "" {
			req.Checks = append(req.Checks, &structs.HealthCheck{CheckID: "svc:" + svc.ID, ServiceID: svc.ID, Status: status})
		}
		if err := s.EnsureRegistration(idx, req); err != nil {
			t.Fatal(err)
		}
	}
	reg("web-1", "10.0.0.1", &structs.NodeService{ID: "web", Service: "web", Port: 80, Tags: []string{"primary", "v1"}}, structs.HealthPassing)
	reg("web-2", "10.0.0.2", &structs.NodeService{ID: "web", Service: "web", Port: 8080, Tags: []string{"v1"}, Address: "10.0.1.2"}, "")
	reg("web-3", "10.0.0.3", &structs.NodeService{ID: "web", Service: "web", Port: 80}, structs.HealthCritical)
	reg("web-4", "10.0.0.4", &structs.NodeService{ID: "web", Service: "web", Port: 80, Tags: []string{"v2"}}, structs.HealthWarning)
	reg("db-6", "2001:db8::6", &structs.NodeService{ID: "db", Service: "db", Port: 5432}, "")
	reg("ns", "127.0.0.1", &structs.NodeService{ID: "dns", Service: "dns", Port: 53}, "")
	reg("web-1", "10.0.0.1", &structs.NodeService{ID: "dual", Service: "dual", Port: 7}, "")
	reg("db-6", "2001:db8::6", &structs.NodeService{ID: "dual", Service: "dual", Port: 7}, "")
	return s
}

func newTestPlugin(s *state.Store) *CoordCatalog {
	return &CoordCatalog{
		Zones:      []string{"consul."},
		store:      func() *state.Store { return s },
		ready:      func() bool { return true },
		caughtUp:   func() bool { return true },
		datacenter: "dc1",
		self:       "ns",
		metaTXT:    true,
		cache:      newInstanceCache(),
	}
}

func serve(t *testing.T, c *CoordCatalog, m *dns.Msg, tcp bool) *dns.Msg {
	t.Helper()
	rec := dnstest.NewRecorder(&test.ResponseWriter{TCP: tcp})
	if _, err := c.ServeDNS(context.Background(), rec, m); err != nil {
		t.Fatalf("%s: %v", m.Question[0].Name, err)
	}
	if rec.Msg == nil {
		t.Fatalf("%s: no response written", m.Question[0].Name)
	}
	return rec.Msg
}

func TestAnswers(t *testing.T) {
	c := newTestPlugin(fixture(t))
	soaNs := []dns.RR{test.SOA("consul. 0 IN SOA ns.node.dc1.consul. hostmaster.consul. 0 3600 600 86400 0")}
	cases := []test.Case{
		{Qname: "web-1.node.consul.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("web-1.node.consul. 0 IN A 10.0.0.1")}},
		{Qname: "web-1.node.dc1.consul.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("web-1.node.dc1.consul. 0 IN A 10.0.0.1")}},
		{Qname: "web-1.node.dc2.consul.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: soaNs},
		{Qname: "nosuch.node.consul.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: soaNs},
		{Qname: "web-1.node.consul.", Qtype: dns.TypeMX, Ns: soaNs},
		{Qname: "web-1.node.consul.", Qtype: dns.TypeAAAA, Ns: soaNs},
		{Qname: "db-6.node.consul.", Qtype: dns.TypeAAAA, Answer: []dns.RR{test.AAAA("db-6.node.consul. 0 IN AAAA 2001:db8::6")}},
		{Qname: "web.service.consul.", Qtype: dns.TypeA, Answer: []dns.RR{
			test.A("web.service.consul. 0 IN A 10.0.0.1"),
			test.A("web.service.consul. 0 IN A 10.0.0.4"),
			test.A("web.service.consul. 0 IN A 10.0.1.2"),
		}},
		{Qname: "primary.web.service.consul.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("primary.web.service.consul. 0 IN A 10.0.0.1")}},
		{Qname: "nosuchtag.web.service.consul.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: soaNs},
		{Qname: "web.service.dc1.consul.", Qtype: dns.TypeTXT, Ns: soaNs},
		{Qname: "web.service.consul.", Qtype: dns.TypeSRV, Answer: []dns.RR{
			test.SRV("web.service.consul. 0 IN SRV 1 1 80 web-1.node.dc1.consul."),
			test.SRV("web.service.consul. 0 IN SRV 1 1 80 web-4.node.dc1.consul."),
			test.SRV("web.service.consul. 0 IN SRV 1 1 8080 0a000102.addr.dc1.consul."),
		}, Extra: []dns.RR{
			test.A("0a000102.addr.dc1.consul. 0 IN A 10.0.1.2"),
			test.A("web-1.node.dc1.consul. 0 IN A 10.0.0.1"),
			test.A("web-4.node.dc1.consul. 0 IN A 10.0.0.4"),
		}},
		{Qname: "_web._v1.service.consul.", Qtype: dns.TypeSRV, Answer: []dns.RR{
			test.SRV("_web._v1.service.consul. 0 IN SRV 1 1 80 web-1.node.dc1.consul."),
			test.SRV("_web._v1.service.consul. 0 IN SRV 1 1 8080 0a000102.addr.dc1.consul."),
		}, Extra: []dns.RR{
			test.A("0a000102.addr.dc1.consul. 0 IN A 10.0.1.2"),
			test.A("web-1.node.dc1.consul. 0 IN A 10.0.0.1"),
		}},
		{Qname: "_db._tcp.service.consul.", Qtype: dns.TypeSRV, Answer: []dns.RR{
			test.SRV("_db._tcp.service.consul. 0 IN SRV 1 1 5432 db-6.node.dc1.consul."),
		}, Extra: []dns.RR{test.AAAA("db-6.node.dc1.consul. 0 IN AAAA 2001:db8::6")}},
		{Qname: "db.service.consul.", Qtype: dns.TypeA, Ns: soaNs},
		// ANY answers what A and AAAA would.
		{Qname: "dual.service.consul.", Qtype: dns.TypeANY, Answer: []dns.RR{
			test.A("dual.service.consul. 0 IN A 10.0.0.1"),
			test.AAAA("dual.service.consul. 0 IN AAAA 2001:db8::6"),
		}},
		{Qname: "db.service.consul.", Qtype: dns.TypeANY, Answer: []dns.RR{test.AAAA("db.service.consul. 0 IN AAAA 2001:db8::6")}},
		{Qname: "web-1.node.consul.", Qtype: dns.TypeANY, Answer: []dns.RR{test.A("web-1.node.consul. 0 IN A 10.0.0.1")}},
		{Qname: "db-6.node.consul.", Qtype: dns.TypeANY, Answer: []dns.RR{test.AAAA("db-6.node.consul. 0 IN AAAA 2001:db8::6")}},
		{Qname: "0a000102.addr.dc1.consul.", Qtype: dns.TypeANY, Answer: []dns.RR{test.A("0a000102.addr.dc1.consul. 0 IN A 10.0.1.2")}},
		{Qname: "0a000102.addr.dc1.consul.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("0a000102.addr.dc1.consul. 0 IN A 10.0.1.2")}},
		{Qname: "consul.", Qtype: dns.TypeSOA, Answer: soaNs},
		{Qname: "consul.", Qtype: dns.TypeNS, Answer: []dns.RR{test.NS("consul. 0 IN NS ns.node.dc1.consul.")},
			Extra: []dns.RR{test.A("ns.node.dc1.consul. 0 IN A 127.0.0.1")}},
		{Qname: "consul.", Qtype: dns.TypeA, Ns: soaNs},
		{Qname: "a.b.web.service.consul.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: soaNs},
		{Qname: "web.consul.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: soaNs},
		{Qname: "zz.addr.consul.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: soaNs},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s/%s", tc.Qname, dns.TypeToString[tc.Qtype]), func(t *testing.T) {
			resp := serve(t, c, tc.Msg(), false)
			for _, rr := range resp.Ns {
				if s, ok := rr.(*dns.SOA); ok {
					s.Serial = 0 // time-based
				}
			}
			if !resp.Authoritative {
				t.Error("answer is not authoritative")
			}
			if err := test.SortAndCheck(resp, tc); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestCaseInsensitive(t *testing.T) {
	c := newTestPlugin(fixture(t))
	resp := serve(t, c, new(dns.Msg).SetQuestion("WEB-1.Node.CONSUL.", dns.TypeA), false)
	if resp.Rcode != dns.RcodeSuccess || len(resp.Answer) != 1 {
		t.Fatalf("upper-case node lookup: rcode %s, %d answers", dns.RcodeToString[resp.Rcode], len(resp.Answer))
	}
	if got := resp.Answer[0].Header().Name; got != "WEB-1.Node.CONSUL." {
		t.Errorf("answer owner %q, want the question's spelling", got)
	}
	resp = serve(t, c, new(dns.Msg).SetQuestion("_WEB._V1.SERVICE.consul.", dns.TypeSRV), false)
	if len(resp.Answer) != 2 {
		t.Errorf("upper-case RFC 2782 lookup: %d answers, want 2", len(resp.Answer))
	}
}

func TestOnlyPassing(t *testing.T) {
	c := newTestPlugin(fixture(t))
	c.onlyPassing = true
	resp := serve(t, c, new(dns.Msg).SetQuestion("web.service.consul.", dns.TypeA), false)
	if len(resp.Answer) != 2 {
		t.Fatalf("only_passing: %d answers, want 2 (warning instance excluded): %v", len(resp.Answer), resp.Answer)
	}
	for _, rr := range resp.Answer {
		if rr.(*dns.A).A.String() == "10.0.0.4" {
			t.Error("warning instance answered with only_passing")
		}
	}
}

func TestTTLs(t *testing.T) {
	c := newTestPlugin(fixture(t))
	c.nodeTTL, c.serviceTTL = 7, 5
	resp := serve(t, c, new(dns.Msg).SetQuestion("web.service.consul.", dns.TypeSRV), false)
	for _, rr := range resp.Answer {
		if rr.Header().Ttl != 5 {
			t.Errorf("service TTL %d, want 5", rr.Header().Ttl)
		}
	}
	for _, rr := range resp.Extra {
		if rr.Header().Ttl != 7 {
			t.Errorf("node TTL in additional %d, want 7", rr.Header().Ttl)
		}
	}
}

func TestShuffled(t *testing.T) {
	c := newTestPlugin(fixture(t))
	firsts := map[string]bool{}
	for i := 0; i < 60; i++ {
		resp := serve(t, c, new(dns.Msg).SetQuestion("web.service.consul.", dns.TypeSRV), false)
		firsts[resp.Answer[0].(*dns.SRV).Target] = true
	}
	if len(firsts) < 2 {
		t.Fatalf("60 SRV answers all started with the same target: %v", firsts)
	}
}

// bigStore holds one service with n instances on n nodes.
func bigStore(t testing.TB, n int) *state.Store {
	s := state.NewStore()
	for i := 0; i < n; i++ {
		err := s.EnsureRegistration(uint64(i+1), &structs.RegisterRequest{
			Node: fmt.Sprintf("node-%d", i), Address: fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255),
			Service: &structs.NodeService{Service: "big", Port: 9000},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func TestTruncation(t *testing.T) {
	c := newTestPlugin(bigStore(t, 300))
	for _, qtype := range []uint16{dns.TypeA, dns.TypeSRV, dns.TypeANY} {
		name := dns.TypeToString[qtype]
		plain := serve(t, c, new(dns.Msg).SetQuestion("big.service.consul.", qtype), false)
		if !plain.Truncated || plain.Len() > 512 || len(plain.Answer) == 0 {
			t.Errorf("%s without EDNS0: TC=%v, %d bytes, %d answers; want TC, <=512 bytes, some answers", name, plain.Truncated, plain.Len(), len(plain.Answer))
		}
		big := new(dns.Msg).SetQuestion("big.service.consul.", qtype)
		big.SetEdns0(4096, false)
		edns := serve(t, c, big, false)
		if !edns.Truncated || edns.Len() > 4096-optRRLen || len(edns.Answer) <= len(plain.Answer) {
			t.Errorf("%s with EDNS0 4096: TC=%v, %d bytes, %d answers (512-byte answer had %d)", name, edns.Truncated, edns.Len(), len(edns.Answer), len(plain.Answer))
		}
		if qtype == dns.TypeSRV && len(edns.Extra) != len(edns.Answer) {
			t.Errorf("SRV trimmed to %d answers but %d additional records", len(edns.Answer), len(edns.Extra))
		}
		full := serve(t, c, new(dns.Msg).SetQuestion("big.service.consul.", qtype), true)
		if full.Truncated || len(full.Answer) != 300 {
			t.Errorf("%s over TCP: TC=%v, %d answers; want all 300", name, full.Truncated, len(full.Answer))
		}
	}
}

func TestARecordLimit(t *testing.T) {
	c := newTestPlugin(bigStore(t, 20))
	c.aRecordLimit = 3
	resp := serve(t, c, new(dns.Msg).SetQuestion("big.service.consul.", dns.TypeA), true)
	if len(resp.Answer) != 3 || resp.Truncated {
		t.Fatalf("a_record_limit 3: %d answers, TC=%v", len(resp.Answer), resp.Truncated)
	}
	resp = serve(t, c, new(dns.Msg).SetQuestion("big.service.consul.", dns.TypeSRV), true)
	if len(resp.Answer) != 20 {
		t.Fatalf("a_record_limit must not cap SRV: %d answers", len(resp.Answer))
	}
}

func TestCacheFollowsCatalog(t *testing.T) {
	s := fixture(t)
	c := newTestPlugin(s)
	q := new(dns.Msg).SetQuestion("db.service.consul.", dns.TypeAAAA)
	if resp := serve(t, c, q, false); len(resp.Answer) != 1 {
		t.Fatalf("before: %d answers", len(resp.Answer))
	}
	err := s.EnsureRegistration(100, &structs.RegisterRequest{Node: "db-6", Address: "2001:db8::6",
		Check: &structs.HealthCheck{CheckID: "maint", Status: structs.HealthCritical}})
	if err != nil {
		t.Fatal(err)
	}
	if resp := serve(t, c, q, false); resp.Rcode != dns.RcodeNameError {
		t.Fatalf("after a critical node check: rcode %s, answers %v", dns.RcodeToString[resp.Rcode], resp.Answer)
	}
}

func TestOutsideZonePassesOn(t *testing.T) {
	c := newTestPlugin(fixture(t))
	rec := dnstest.NewRecorder(&test.ResponseWriter{})
	code, _ := c.ServeDNS(context.Background(), rec, new(dns.Msg).SetQuestion("example.org.", dns.TypeA))
	if rec.Msg != nil || code != dns.RcodeServerFailure {
		t.Fatalf("outside the zone with no next plugin: code %d, wrote %v", code, rec.Msg)
	}
}
