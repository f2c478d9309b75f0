package e2e

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/miekg/dns"
)

// upstream is a DNS server the test owns: it answers example.test. and
// records every name it was asked.
type upstream struct {
	addr string
	mu   sync.Mutex
	seen []string
	srv  *dns.Server
}

func startUpstream(t *testing.T) *upstream {
	u := &upstream{}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u.addr = pc.LocalAddr().String()
	u.srv = &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		u.mu.Lock()
		u.seen = append(u.seen, r.Question[0].Name)
		u.mu.Unlock()
		m := new(dns.Msg).SetReply(r)
		if strings.EqualFold(r.Question[0].Name, "example.test.") && r.Question[0].Qtype == dns.TypeA {
			rr, _ := dns.NewRR("example.test. 60 IN A 192.0.2.1")
			m.Answer = append(m.Answer, rr)
		} else {
			m.Rcode = dns.RcodeNameError
		}
		w.WriteMsg(m)
	})}
	started := make(chan struct{})
	u.srv.NotifyStartedFunc = func() { close(started) }
	go u.srv.ActivateAndServe()
	<-started
	t.Cleanup(func() { u.srv.Shutdown() })
	return u
}

func (u *upstream) names() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.seen...)
}

func hasSOA(m *dns.Msg) bool {
	return len(m.Ns) == 1 && m.Ns[0].Header().Rrtype == dns.TypeSOA
}

func TestDNS(t *testing.T) {
	multiProcess(t)
	up := startUpstream(t)
	n := newNode(t)
	n.Upstream = up.addr
	start(t, n)
	c := n.client(t)

	registerService(t, c, "web", 3, "v1")
	// A fourth instance with a critical check must not be answered.
	_, err := c.Catalog().Register(&api.CatalogRegistration{
		Node: "sick", Address: "10.9.9.9",
		Service: &api.AgentService{Service: "web", Port: 80, Tags: []string{"v1"}},
		Check:   &api.AgentCheck{CheckID: "web-alive", Name: "web alive", ServiceID: "web", Status: api.HealthCritical},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Catalog().Register(&api.CatalogRegistration{
		Node: "db-v6", Address: "2001:db8::10", Service: &api.AgentService{Service: "db", Port: 5432},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}

	for _, proto := range []string{"udp", "tcp"} {
		t.Run(proto, func(t *testing.T) {
			r := query(t, n, proto, "web.service.consul.", dns.TypeA)
			if len(r.Answer) != 3 || !r.Authoritative {
				t.Errorf("web A: %d answers (want the 3 healthy), aa=%v", len(r.Answer), r.Authoritative)
			}
			for _, rr := range r.Answer {
				if rr.Header().Ttl != 0 {
					t.Errorf("TTL %d, want 0", rr.Header().Ttl)
				}
				if rr.(*dns.A).A.String() == "10.9.9.9" {
					t.Error("critical instance answered")
				}
			}
			r = query(t, n, proto, "web.service.consul.", dns.TypeSRV)
			if len(r.Answer) != 3 || len(r.Extra) != 3 {
				t.Errorf("web SRV: %d answers, %d additional; want 3 and 3", len(r.Answer), len(r.Extra))
			}
			for _, rr := range r.Answer {
				srv := rr.(*dns.SRV)
				if srv.Priority != 1 || srv.Weight != 1 || !strings.HasSuffix(srv.Target, ".node.dc1.consul.") {
					t.Errorf("SRV %v", srv)
				}
			}
			for name, want := range map[string]int{
				"_web._v1.service.consul.":      3,
				"_web._tcp.service.dc1.consul.": 3,
				"_web._v2.service.consul.":      0,
			} {
				r = query(t, n, proto, name, dns.TypeSRV)
				if len(r.Answer) != want {
					t.Errorf("%s SRV: %d answers, want %d", name, len(r.Answer), want)
				}
			}
			if r = query(t, n, proto, "v1.web.service.dc1.consul.", dns.TypeA); len(r.Answer) != 3 {
				t.Errorf("tagged lookup with datacenter: %d answers", len(r.Answer))
			}
			if r = query(t, n, proto, "db.service.consul.", dns.TypeAAAA); len(r.Answer) != 1 {
				t.Errorf("db AAAA: %d answers", len(r.Answer))
			}
			if r = query(t, n, proto, "web.service.consul.", dns.TypeANY); len(r.Answer) != 3 || r.Rcode != dns.RcodeSuccess {
				t.Errorf("web ANY: rcode %s, %d answers, want the 3 A records", dns.RcodeToString[r.Rcode], len(r.Answer))
			}
			if r = query(t, n, proto, "db-v6.node.consul.", dns.TypeANY); len(r.Answer) != 1 || r.Answer[0].Header().Rrtype != dns.TypeAAAA {
				t.Errorf("db-v6 node ANY: %v, want its AAAA", r.Answer)
			}
			if r = query(t, n, proto, "E2E.Node.Consul.", dns.TypeA); len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != "127.0.0.1" {
				t.Errorf("agent's own node: %v", r.Answer)
			}
			if r = query(t, n, proto, "nosuch.service.consul.", dns.TypeA); r.Rcode != dns.RcodeNameError || !hasSOA(r) {
				t.Errorf("unknown service: rcode %s, ns %v", dns.RcodeToString[r.Rcode], r.Ns)
			}
			if r = query(t, n, proto, "web.service.dc9.consul.", dns.TypeA); r.Rcode != dns.RcodeNameError || !hasSOA(r) {
				t.Errorf("unknown datacenter: rcode %s", dns.RcodeToString[r.Rcode])
			}
			// MX: a node's TXT query answers its meta (TestDNSNodeMetaTXT).
			if r = query(t, n, proto, "e2e.node.consul.", dns.TypeMX); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 || !hasSOA(r) {
				t.Errorf("NODATA: rcode %s, %d answers, ns %v", dns.RcodeToString[r.Rcode], len(r.Answer), r.Ns)
			}
			if r = query(t, n, proto, "consul.", dns.TypeSOA); len(r.Answer) != 1 {
				t.Errorf("apex SOA: %v", r.Answer)
			}
			if r = query(t, n, proto, "consul.", dns.TypeNS); len(r.Answer) != 1 || len(r.Extra) != 1 {
				t.Errorf("apex NS: %v / %v", r.Answer, r.Extra)
			}
			if r = query(t, n, proto, "example.test.", dns.TypeA); len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != "192.0.2.1" {
				t.Errorf("forwarded name: rcode %s, %v", dns.RcodeToString[r.Rcode], r.Answer)
			}
		})
	}
	for _, name := range up.names() {
		if strings.HasSuffix(strings.ToLower(name), "consul.") {
			t.Errorf("the consul. zone leaked upstream: %s", name)
		}
	}
	if len(up.names()) == 0 {
		t.Error("the upstream was never asked for example.test.")
	}
}

func TestDNSSizesAndShuffle(t *testing.T) {
	multiProcess(t)
	n := newNode(t)
	start(t, n)
	registerService(t, n.client(t), "big", 120)

	for _, qtype := range []uint16{dns.TypeA, dns.TypeSRV} {
		plain := query(t, n, "udp", "big.service.consul.", qtype)
		if !plain.Truncated || len(plain.Answer) == 0 {
			t.Errorf("%s over UDP without EDNS0: TC=%v, %d answers", dns.TypeToString[qtype], plain.Truncated, len(plain.Answer))
		}
		plain.Compress = true // measure the size on the wire
		if size := plain.Len(); size > 512 {
			t.Errorf("%s over UDP without EDNS0: %d bytes", dns.TypeToString[qtype], size)
		}
		m := new(dns.Msg).SetQuestion("big.service.consul.", qtype)
		m.SetEdns0(1232, false)
		r, err := exchangeMsg(n, "udp", m)
		if err != nil {
			t.Fatal(err)
		}
		r.Compress = true
		if !r.Truncated || len(r.Answer) <= len(plain.Answer) || r.Len() > 1232 {
			t.Errorf("%s with EDNS0 1232: TC=%v, %d answers (%d without EDNS0), %d bytes", dns.TypeToString[qtype], r.Truncated, len(r.Answer), len(plain.Answer), r.Len())
		}
		full := query(t, n, "tcp", "big.service.consul.", qtype)
		if full.Truncated || len(full.Answer) != 120 {
			t.Errorf("%s over TCP: TC=%v, %d answers, want 120", dns.TypeToString[qtype], full.Truncated, len(full.Answer))
		}
	}

	orders := map[string]bool{}
	for i := 0; i < 20; i++ {
		r := query(t, n, "tcp", "big.service.consul.", dns.TypeSRV)
		var b strings.Builder
		for _, rr := range r.Answer[:5] {
			b.WriteString(rr.(*dns.SRV).Target)
		}
		orders[b.String()] = true
	}
	if len(orders) < 2 {
		t.Error("20 answers came back in the same order")
	}
}

// TestMalformedQueries: the server answers FORMERR where it can, never
// crashes, and keeps answering.
func TestMalformedQueries(t *testing.T) {
	multiProcess(t)
	n := newNode(t)
	start(t, n)
	conn, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", n.DNS))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	two := new(dns.Msg).SetQuestion("e2e.node.consul.", dns.TypeA)
	two.Question = append(two.Question, two.Question[0])
	buf, _ := two.Pack()
	conn.SetDeadline(time.Now().Add(2 * time.Second))
	conn.Write(buf)
	reply := make([]byte, 512)
	k, err := conn.Read(reply)
	if err != nil {
		t.Fatalf("no answer to a two-question query: %v", err)
	}
	r := new(dns.Msg)
	if err := r.Unpack(reply[:k]); err != nil || r.Rcode != dns.RcodeFormatError {
		t.Errorf("two questions: rcode %v (%v), want FORMERR", r.Rcode, err)
	}

	for _, junk := range [][]byte{{0x12}, buf[:20], append(buf[:12:12], 0xff, 0xff, 0xff)} {
		conn.Write(junk)
	}
	if r := query(t, n, "udp", "e2e.node.consul.", dns.TypeA); len(r.Answer) != 1 {
		t.Fatal("server stopped answering after malformed packets")
	}
}
