package e2e

import (
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/consul/api"
	"github.com/miekg/dns"
)

// TestDNSReverse: PTR for node and service addresses (IPv4 and IPv6) from
// the catalog; any other reverse name goes to the block's forward.
func TestDNSReverse(t *testing.T) {
	multiProcess(t)
	up := startUpstream(t)
	n := newNode(t)
	n.Upstream = up.addr
	start(t, n)
	c := n.client(t)

	for _, reg := range []*api.CatalogRegistration{
		{Node: "rev-4", Address: "10.20.30.40", NodeMeta: map[string]string{"rack": "r7"}},
		{Node: "rev-6", Address: "2001:db8::20"},
		{Node: "rev-4", Address: "10.20.30.40", Service: &api.AgentService{ID: "api", Service: "api", Port: 81, Address: "10.20.30.41"}},
		{Node: "rev-6", Address: "2001:db8::20", Service: &api.AgentService{ID: "api6", Service: "api6", Port: 81, Address: "2001:db8::21"}},
	} {
		if _, err := c.Catalog().Register(reg, nil); err != nil {
			t.Fatal(err)
		}
	}

	ptr := func(t *testing.T, proto, addr string) *dns.Msg {
		t.Helper()
		name, err := dns.ReverseAddr(addr)
		if err != nil {
			t.Fatal(err)
		}
		return query(t, n, proto, name, dns.TypePTR)
	}
	for _, proto := range []string{"udp", "tcp"} {
		t.Run(proto, func(t *testing.T) {
			for addr, want := range map[string]string{
				"10.20.30.40":  "rev-4.node.dc1.consul.",
				"10.20.30.41":  "api.service.dc1.consul.",
				"2001:db8::20": "rev-6.node.dc1.consul.",
				"2001:db8::21": "api6.service.dc1.consul.",
			} {
				r := ptr(t, proto, addr)
				if r.Rcode != dns.RcodeSuccess || !r.Authoritative || len(r.Answer) != 1 || r.Answer[0].(*dns.PTR).Ptr != want {
					t.Errorf("PTR %s: rcode %s, aa=%v, %v; want %s", addr, dns.RcodeToString[r.Rcode], r.Authoritative, r.Answer, want)
				}
			}
			if proto != "udp" {
				return // the stub upstream answers UDP only
			}
			// Not in the catalog: the upstream's answer (NXDOMAIN).
			if r := ptr(t, proto, "192.0.2.77"); r.Rcode != dns.RcodeNameError || r.Authoritative {
				t.Errorf("PTR outside the catalog: rcode %s, aa=%v", dns.RcodeToString[r.Rcode], r.Authoritative)
			}
			if r := query(t, n, proto, "x.30.20.10.in-addr.arpa.", dns.TypePTR); r.Rcode != dns.RcodeNameError {
				t.Errorf("malformed reverse name: rcode %s", dns.RcodeToString[r.Rcode])
			}
		})
	}
	seen := strings.Join(up.names(), " ")
	for _, name := range []string{"77.2.0.192.in-addr.arpa.", "x.30.20.10.in-addr.arpa."} {
		if !strings.Contains(seen, name) {
			t.Errorf("%s never reached the upstream (it saw %s)", name, seen)
		}
	}
	if strings.Contains(seen, "40.30.20.10.in-addr.arpa.") {
		t.Error("a catalog address's reverse name went upstream")
	}
}

// TestDNSNodeMetaTXT: a node's meta as TXT records, in the answer of a TXT
// query and in the additional section of an A query.
func TestDNSNodeMetaTXT(t *testing.T) {
	multiProcess(t)
	n := newNode(t)
	start(t, n)
	c := n.client(t)
	_, err := c.Catalog().Register(&api.CatalogRegistration{
		Node: "meta-1", Address: "10.20.30.50", NodeMeta: map[string]string{"rack": "r7", "a=b": "c"},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	txts := func(rrs []dns.RR) []string {
		var out []string
		for _, rr := range rrs {
			if txt, ok := rr.(*dns.TXT); ok {
				out = append(out, strings.Join(txt.Txt, ""))
			}
		}
		slices.Sort(out)
		return out
	}
	want := []string{"a`=b=c", "rack=r7"}
	for _, proto := range []string{"udp", "tcp"} {
		r := query(t, n, proto, "meta-1.node.consul.", dns.TypeTXT)
		if got := txts(r.Answer); !slices.Equal(got, want) || len(r.Answer) != 2 {
			t.Errorf("%s TXT: %v, want %v", proto, r.Answer, want)
		}
		r = query(t, n, proto, "meta-1.node.consul.", dns.TypeA)
		if got := txts(r.Extra); len(r.Answer) != 1 || !slices.Equal(got, want) {
			t.Errorf("%s A: %v / additional %v, want the meta %v", proto, r.Answer, r.Extra, want)
		}
	}
	// The agent's own node carries the keys every Consul agent sets.
	r := query(t, n, "udp", "e2e.node.consul.", dns.TypeTXT)
	if got := strings.Join(txts(r.Answer), " "); !strings.Contains(got, "consul-network-segment=") || !strings.Contains(got, "consul-version=") {
		t.Errorf("agent's own node TXT: %v", r.Answer)
	}
}
