package coordcatalog

import (
	"context"
	"fmt"
	"net"
	"sort"
	"testing"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"

	"github.com/coredns-coord/coredns-coord/state"
	"github.com/coredns-coord/coredns-coord/structs"
)

// nextMarker stands for the forward plugin: it answers every name with one
// TXT record, so a test sees which names were passed on.
var nextMarker = plugin.HandlerFunc(func(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	m := new(dns.Msg)
	m.SetReply(r)
	m.Answer = []dns.RR{&dns.TXT{Hdr: hdr(r.Question[0].Name, dns.TypeTXT, 0), Txt: []string{"next"}}}
	w.WriteMsg(m)
	return dns.RcodeSuccess, nil
})

func newReversePlugin(s *state.Store) *CoordCatalog {
	c := newTestPlugin(s)
	c.Zones = []string{"consul.", "in-addr.arpa.", "ip6.arpa."}
	c.Next = nextMarker
	return c
}

func reverseName(t *testing.T, addr string) string {
	t.Helper()
	name, err := dns.ReverseAddr(addr)
	if err != nil {
		t.Fatal(err)
	}
	return name
}

func passedOn(m *dns.Msg) bool {
	if len(m.Answer) != 1 {
		return false
	}
	txt, ok := m.Answer[0].(*dns.TXT)
	return ok && len(txt.Txt) == 1 && txt.Txt[0] == "next"
}

func TestPTR(t *testing.T) {
	s := fixture(t)
	// A second name for web-1's address: a service with that address of its own.
	err := s.EnsureRegistration(50, &structs.RegisterRequest{Node: "web-1", Address: "10.0.0.1",
		Service: &structs.NodeService{ID: "api", Service: "api", Port: 81, Address: "10.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	c := newReversePlugin(s)
	cases := []test.Case{
		{Qname: reverseName(t, "10.0.0.1"), Qtype: dns.TypePTR, Answer: []dns.RR{
			test.PTR(reverseName(t, "10.0.0.1") + " 0 IN PTR api.service.dc1.consul."),
			test.PTR(reverseName(t, "10.0.0.1") + " 0 IN PTR web-1.node.dc1.consul."),
		}},
		{Qname: reverseName(t, "10.0.1.2"), Qtype: dns.TypePTR, Answer: []dns.RR{
			test.PTR(reverseName(t, "10.0.1.2") + " 0 IN PTR web.service.dc1.consul."),
		}},
		{Qname: reverseName(t, "2001:db8::6"), Qtype: dns.TypePTR, Answer: []dns.RR{
			test.PTR(reverseName(t, "2001:db8::6") + " 0 IN PTR db-6.node.dc1.consul."),
		}},
	}
	for _, tc := range cases {
		t.Run(tc.Qname, func(t *testing.T) {
			resp := serve(t, c, tc.Msg(), false)
			// Shuffled: compare in the expected (sorted) order.
			sort.Slice(resp.Answer, func(i, j int) bool { return resp.Answer[i].String() < resp.Answer[j].String() })
			if !resp.Authoritative {
				t.Error("answer is not authoritative")
			}
			if err := test.SortAndCheck(resp, tc); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestPTRPassesOn: reverse names the catalog does not hold, malformed ones
// and other types go to the next plugin; none is answered NXDOMAIN here.
func TestPTRPassesOn(t *testing.T) {
	c := newReversePlugin(fixture(t))
	for _, q := range []struct {
		name  string
		qtype uint16
	}{
		{reverseName(t, "192.0.2.1"), dns.TypePTR},
		{reverseName(t, "2001:db8::99"), dns.TypePTR},
		{reverseName(t, "10.0.0.1"), dns.TypeA},
		{"in-addr.arpa.", dns.TypePTR},
		{"ip6.arpa.", dns.TypeSOA},
		{"0.10.in-addr.arpa.", dns.TypePTR},
		{"5.1.0.0.10.in-addr.arpa.", dns.TypePTR},
		{"x.0.0.10.in-addr.arpa.", dns.TypePTR},
		{"01.0.0.10.in-addr.arpa.", dns.TypePTR},
		{"256.0.0.10.in-addr.arpa.", dns.TypePTR},
		{"g.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.", dns.TypePTR},
		{"6.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.2.ip6.arpa.", dns.TypePTR},
		{"60.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.", dns.TypePTR},
		{"..in-addr.arpa.", dns.TypePTR},
	} {
		resp := serve(t, c, new(dns.Msg).SetQuestion(q.name, q.qtype), false)
		if !passedOn(resp) {
			t.Errorf("%s %s: not passed on: %v", q.name, dns.TypeToString[q.qtype], resp)
		}
	}
}

// TestPTROutsideZones: with only consul. listed, reverse names are never
// touched.
func TestPTROutsideZones(t *testing.T) {
	c := newTestPlugin(fixture(t))
	c.Next = nextMarker
	resp := serve(t, c, new(dns.Msg).SetQuestion(reverseName(t, "10.0.0.1"), dns.TypePTR), false)
	if !passedOn(resp) {
		t.Fatalf("reverse name outside the plugin's zones answered: %v", resp)
	}
}

func TestPTRTruncation(t *testing.T) {
	s := state.NewStore()
	for i := 0; i < 100; i++ {
		err := s.EnsureRegistration(uint64(i+1), &structs.RegisterRequest{Node: fmt.Sprintf("node-%03d", i), Address: "10.9.9.9"})
		if err != nil {
			t.Fatal(err)
		}
	}
	c := newReversePlugin(s)
	q := reverseName(t, "10.9.9.9")
	plain := serve(t, c, new(dns.Msg).SetQuestion(q, dns.TypePTR), false)
	if !plain.Truncated || plain.Len() > 512 || len(plain.Answer) == 0 {
		t.Errorf("without EDNS0: TC=%v, %d bytes, %d answers", plain.Truncated, plain.Len(), len(plain.Answer))
	}
	full := serve(t, c, new(dns.Msg).SetQuestion(q, dns.TypePTR), true)
	if full.Truncated || len(full.Answer) != 100 {
		t.Errorf("over TCP: TC=%v, %d answers; want all 100", full.Truncated, len(full.Answer))
	}
	firsts := map[string]bool{}
	for i := 0; i < 20; i++ {
		firsts[serve(t, c, new(dns.Msg).SetQuestion(q, dns.TypePTR), true).Answer[0].(*dns.PTR).Ptr] = true
	}
	if len(firsts) < 2 {
		t.Errorf("20 PTR answers all started with %v", firsts)
	}
}

func TestPTRFollowsCatalog(t *testing.T) {
	s := fixture(t)
	c := newReversePlugin(s)
	q := new(dns.Msg).SetQuestion(reverseName(t, "10.7.7.7"), dns.TypePTR)
	if resp := serve(t, c, q, false); !passedOn(resp) {
		t.Fatalf("before: %v", resp)
	}
	if err := s.EnsureRegistration(100, &structs.RegisterRequest{Node: "late", Address: "10.7.7.7"}); err != nil {
		t.Fatal(err)
	}
	resp := serve(t, c, q, false)
	if len(resp.Answer) != 1 || resp.Answer[0].(*dns.PTR).Ptr != "late.node.dc1.consul." {
		t.Fatalf("after registration: %v", resp.Answer)
	}
}

func TestParseReverse(t *testing.T) {
	for name, want := range map[string]string{
		"1.0.0.10.in-addr.arpa.": "10.0.0.1",
		"6.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.": "2001:db8::6",
		"0.10.in-addr.arpa.": "",
		"1.0.0.10.consul.":   "",
	} {
		got := parseReverse(name)
		if (want == "" && got != nil) || (want != "" && !got.Equal(net.ParseIP(want))) {
			t.Errorf("parseReverse(%q) = %v, want %q", name, got, want)
		}
	}
}
