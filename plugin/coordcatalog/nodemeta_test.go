package coordcatalog

import (
	"strings"
	"testing"

	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"

	"github.com/coredns-coord/coredns-coord/state"
	"github.com/coredns-coord/coredns-coord/structs"
)

func metaStore(t *testing.T, meta map[string]string) *state.Store {
	t.Helper()
	s := fixture(t)
	if err := s.EnsureRegistration(60, &structs.RegisterRequest{Node: "meta-1", Address: "10.0.5.1", NodeMeta: meta}); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNodeMetaTXT(t *testing.T) {
	c := newTestPlugin(metaStore(t, map[string]string{"rack": "r1", "zone": "z2"}))
	cases := []test.Case{
		{Qname: "meta-1.node.consul.", Qtype: dns.TypeTXT, Answer: []dns.RR{
			test.TXT(`meta-1.node.consul. 0 IN TXT "rack=r1"`),
			test.TXT(`meta-1.node.consul. 0 IN TXT "zone=z2"`),
		}},
		{Qname: "meta-1.node.consul.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("meta-1.node.consul. 0 IN A 10.0.5.1")}, Extra: []dns.RR{
			test.TXT(`meta-1.node.consul. 0 IN TXT "rack=r1"`),
			test.TXT(`meta-1.node.consul. 0 IN TXT "zone=z2"`),
		}},
		{Qname: "meta-1.node.consul.", Qtype: dns.TypeANY, Answer: []dns.RR{
			test.A("meta-1.node.consul. 0 IN A 10.0.5.1"),
			test.TXT(`meta-1.node.consul. 0 IN TXT "rack=r1"`),
			test.TXT(`meta-1.node.consul. 0 IN TXT "zone=z2"`),
		}},
		// No meta: TXT is NODATA.
		{Qname: "web-1.node.consul.", Qtype: dns.TypeTXT, Ns: []dns.RR{test.SOA("consul. 0 IN SOA ns.node.dc1.consul. hostmaster.consul. 0 3600 600 86400 0")}},
	}
	for _, tc := range cases {
		t.Run(dns.TypeToString[tc.Qtype], func(t *testing.T) {
			resp := serve(t, c, tc.Msg(), false)
			for _, rr := range resp.Ns {
				rr.(*dns.SOA).Serial = 0
			}
			if err := test.SortAndCheck(resp, tc); err != nil {
				t.Error(err)
			}
		})
	}

	c.metaTXT = false
	resp := serve(t, c, new(dns.Msg).SetQuestion("meta-1.node.consul.", dns.TypeA), false)
	if len(resp.Answer) != 1 || len(resp.Extra) != 0 {
		t.Errorf("enable_additional_node_meta_txt false: %v / %v", resp.Answer, resp.Extra)
	}
	if resp = serve(t, c, new(dns.Msg).SetQuestion("meta-1.node.consul.", dns.TypeTXT), false); len(resp.Answer) != 2 {
		t.Errorf("TXT query with the option off: %v, want the meta still", resp.Answer)
	}
}

// TestNodeMetaTXTSize: meta never grows a UDP answer past the client's
// buffer: left out of the additional section, trimmed with TC in the answer.
func TestNodeMetaTXTSize(t *testing.T) {
	meta := map[string]string{}
	for _, k := range []string{"a", "b", "c", "d", "e"} {
		meta[k] = strings.Repeat("v", 200)
	}
	c := newTestPlugin(metaStore(t, meta))
	resp := serve(t, c, new(dns.Msg).SetQuestion("meta-1.node.consul.", dns.TypeA), false)
	if len(resp.Answer) != 1 || resp.Len() > 512 || resp.Truncated {
		t.Errorf("A: %d answers, %d bytes, TC=%v", len(resp.Answer), resp.Len(), resp.Truncated)
	}
	resp = serve(t, c, new(dns.Msg).SetQuestion("meta-1.node.consul.", dns.TypeTXT), false)
	if !resp.Truncated || resp.Len() > 512 || len(resp.Answer) == 0 {
		t.Errorf("TXT over UDP: %d answers, %d bytes, TC=%v", len(resp.Answer), resp.Len(), resp.Truncated)
	}
	if resp = serve(t, c, new(dns.Msg).SetQuestion("meta-1.node.consul.", dns.TypeTXT), true); len(resp.Answer) != 5 || resp.Truncated {
		t.Errorf("TXT over TCP: %d answers, TC=%v", len(resp.Answer), resp.Truncated)
	}
}

func TestEncodeKVasRFC1464(t *testing.T) {
	for _, tc := range [][3]string{
		{"rack", "r1", "rack=r1"},
		{"a=b", "c", "a`=b=c"},
		{"a`b", "c", "a``b=c"},
		{" a ", "v", "` a` =v"},
		{"  ", "v", "` ` =v"},
		{"k", "x=y", "k=x=y"},
	} {
		if got := encodeKVasRFC1464(tc[0], tc[1]); got != tc[2] {
			t.Errorf("encodeKVasRFC1464(%q, %q) = %q, want %q", tc[0], tc[1], got, tc[2])
		}
	}
}
