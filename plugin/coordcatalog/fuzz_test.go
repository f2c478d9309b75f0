package coordcatalog

import (
	"context"
	"strings"
	"testing"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"
)

// FuzzParseName: any name parses without panicking, and what parses obeys
// the grammar's invariants.
func FuzzParseName(f *testing.F) {
	for _, s := range []string{"web.service.consul.", "_web._tcp.service.dc1.consul.", "n1.node.consul.",
		"0a000001.addr.dc1.consul.", "consul.", "a.b.c.service.consul.", "_._.service.consul.", "x.consul."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		qname := strings.ToLower(dns.Fqdn(name))
		q := parseName(qname, "consul.")
		switch q.kind {
		case kindNode, kindService:
			if q.name == "" || strings.Contains(q.name, ".") {
				t.Fatalf("%q parsed to name %q", qname, q.name)
			}
		case kindAddr:
			if len(q.ip) != 4 && len(q.ip) != 16 {
				t.Fatalf("%q parsed to ip %v", qname, q.ip)
			}
		}
	})
}

// FuzzServeDNS: any packet that unpacks is answered without panicking, and
// every answer in the zone carries a valid rcode.
func FuzzServeDNS(f *testing.F) {
	for _, q := range []string{"web.service.consul.", "_web._v1.service.consul.", "web-1.node.consul.", "1.0.0.10.in-addr.arpa."} {
		m := new(dns.Msg).SetQuestion(q, dns.TypeSRV)
		buf, _ := m.Pack()
		f.Add(buf)
	}
	c := newTestPlugin(fixture(f))
	c.Zones = []string{"consul.", "in-addr.arpa.", "ip6.arpa."}
	f.Fuzz(func(t *testing.T, buf []byte) {
		m := new(dns.Msg)
		if m.Unpack(buf) != nil || len(m.Question) != 1 {
			return // the server answers these with FORMERR before any plugin runs
		}
		rec := dnstest.NewRecorder(&test.ResponseWriter{})
		c.ServeDNS(context.Background(), rec, m)
		if rec.Msg != nil && rec.Msg.Rcode != dns.RcodeSuccess && rec.Msg.Rcode != dns.RcodeNameError {
			t.Fatalf("rcode %s for %v", dns.RcodeToString[rec.Msg.Rcode], m.Question[0])
		}
	})
}

// FuzzSetup: any Corefile block is parsed or refused, never a panic.
func FuzzSetup(f *testing.F) {
	f.Add("coordcatalog {\n dev\n node n1\n node_ttl 5s\n}")
	f.Add("coordcatalog consul. {\n data_dir /tmp/x\n http off\n a_record_limit 3\n}")
	f.Add("coordcatalog {\n dev\n https 127.0.0.1:8501\n tls {\n ca_file /nonexistent\n verify_outgoing false\n }\n node n1\n}")
	f.Add("coordcatalog {\n dev\n tls {\n tls {\n }\n}")
	f.Add("coordcatalog {\n dev\n acl {\n default_policy deny\n initial_management root\n token_ttl 1m\n }\n node n1\n}")
	f.Add("coordcatalog {\n dev\n acl {\n acl {\n }\n}")
	f.Fuzz(func(t *testing.T, input string) {
		c := caddy.NewTestController("dns", input)
		c.ServerBlockKeys = []string{"consul.:8600"}
		parse(c)
	})
}

// FuzzParseReverse: any name parses without panicking, and what parses is
// an address whose reverse name is the input.
func FuzzParseReverse(f *testing.F) {
	for _, s := range []string{"1.0.0.10.in-addr.arpa.", "0.10.in-addr.arpa.", "x.0.0.10.in-addr.arpa.",
		"6.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.", "in-addr.arpa.", "..ip6.arpa."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		qname := strings.ToLower(dns.Fqdn(name))
		ip := parseReverse(qname)
		if ip == nil {
			return
		}
		if back, err := dns.ReverseAddr(ip.String()); err != nil || back != qname {
			t.Fatalf("%q parsed to %v, whose reverse name is %q", qname, ip, back)
		}
	})
}
