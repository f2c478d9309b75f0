package coordcatalog

import (
	"context"
	"net"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/metrics"
	"github.com/coredns/coredns/request"
	"github.com/miekg/dns"

	"github.com/coredns-coord/coredns-coord/acl"
)

// ServeDNS answers names inside the zone from the local catalog replica and
// passes every other name to the next plugin.
func (c *CoordCatalog) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	state := request.Request{W: w, Req: r}
	zone := plugin.Zones(c.Zones).Matches(state.Name())
	if zone == "" {
		return plugin.NextOrFailure(c.Name(), c.Next, ctx, w, r)
	}

	if !c.caughtUp() {
		// The server writes the SERVFAIL; no error, so that the errors
		// plugin does not log every query of a starting agent.
		countResponse(ctx, state, dns.RcodeServerFailure)
		return dns.RcodeServerFailure, nil
	}
	if isReverseZone(zone) {
		return c.serveReverse(ctx, state, w, r)
	}

	m := authoritativeReply(r)
	rcode, err := c.answer(state, zone, m)
	if err != nil {
		return dns.RcodeServerFailure, plugin.Error(c.Name(), err)
	}
	m.Rcode = rcode
	if rcode == dns.RcodeNameError || (rcode == dns.RcodeSuccess && len(m.Answer) == 0) {
		m.Ns = []dns.RR{soa(zone, c.nsTarget(zone))}
	}
	countResponse(ctx, state, rcode)
	w.WriteMsg(m)
	return dns.RcodeSuccess, nil
}

// authoritativeReply is the empty, compressed, authoritative reply to r.
func authoritativeReply(r *dns.Msg) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	m.Compress = true
	return m
}

// countResponse counts an answer for a name in the zone.
func countResponse(ctx context.Context, state request.Request, rcode int) {
	responses.WithLabelValues(metrics.WithServer(ctx), dns.TypeToString[state.QType()], dns.RcodeToString[rcode]).Inc()
}

// answerBudget is how many bytes the answer may take: the client's buffer
// (its EDNS0 size, or 512 over UDP; 64 KiB over TCP) less the OPT record
// the server adds to EDNS0 replies.
func answerBudget(state request.Request) int {
	size := state.Size()
	if state.Req.IsEdns0() != nil {
		size -= optRRLen
	}
	return size
}

// answer fills m for a name inside zone and returns the rcode.
func (c *CoordCatalog) answer(state request.Request, zone string, m *dns.Msg) (int, error) {
	q := parseName(state.Name(), zone)
	if q.kind == kindInvalid || (q.dc != "" && q.dc != c.datacenter) {
		return dns.RcodeNameError, nil
	}
	qname, qtype := state.QName(), state.QType()
	authz := c.dnsAuthorizer()
	switch q.kind {
	case kindApex:
		c.apex(zone, qtype, m)
	case kindNode:
		node, err := c.store().Node(q.name)
		if err != nil {
			return 0, err
		}
		if node == nil || (authz != nil && !authz.Allowed(acl.ResourceNode, node.Node, acl.AccessRead)) {
			return dns.RcodeNameError, nil
		}
		c.nodeAnswer(state, node, m)
	case kindAddr:
		if rr := addrRecord(qname, q.ip, qtype, c.nodeTTL); rr != nil {
			m.Answer = append(m.Answer, rr)
		}
	case kindService:
		set, err := c.cache.get(c.store(), instanceKey{service: q.name, tag: q.tag, zone: zone}, c.datacenter, c.onlyPassing, authz)
		if err != nil {
			return 0, err
		}
		if len(set.all) == 0 {
			return dns.RcodeNameError, nil
		}
		c.serviceAnswer(state, qname, qtype, set, m)
	}
	return dns.RcodeSuccess, nil
}

// dnsAuthorizer is what the DNS token may read, nil with ACLs off.
func (c *CoordCatalog) dnsAuthorizer() *acl.Authorizer {
	if c.authz == nil {
		return nil
	}
	return c.authz()
}

// apex answers SOA and NS at the zone apex; the name servers are the
// catalog's servers, each as <node>.node.<dc>.<zone> with its address.
func (c *CoordCatalog) apex(zone string, qtype uint16, m *dns.Msg) {
	switch qtype {
	case dns.TypeSOA:
		m.Answer = append(m.Answer, soa(zone, c.nsTarget(zone)))
	case dns.TypeNS:
		target := c.nsTarget(zone)
		m.Answer = append(m.Answer, &dns.NS{Hdr: hdr(zone, dns.TypeNS, c.nodeTTL), Ns: target})
		if node, err := c.store().Node(c.self); err == nil && node != nil {
			if rr := addrRR(target, net.ParseIP(node.Address), c.nodeTTL); rr != nil {
				m.Extra = append(m.Extra, rr)
			}
		}
	}
}

func (c *CoordCatalog) nsTarget(zone string) string {
	return c.self + ".node." + c.datacenter + "." + zone
}

// serviceAnswer samples, shuffles and sizes a service answer. Over UDP it
// fills the client's buffer (EDNS0 size, or 512) and sets TC when instances
// were left out; over TCP it returns all of them up to 64 KiB.
func (c *CoordCatalog) serviceAnswer(state request.Request, qname string, qtype uint16, set *instanceSet, m *dns.Msg) {
	pool := set.pool(qtype)
	if len(pool) == 0 {
		return
	}

	udp := state.Proto() == "udp"
	size := answerBudget(state)
	// The header and the question take 12 bytes plus the name and 4.
	k, capped := maxUnits(qtype, size-12-len(qname)-1-4), false
	if qtype != dns.TypeSRV && c.aRecordLimit > 0 && c.aRecordLimit < k {
		k, capped = c.aRecordLimit, true
	}
	picked, buf := sample(pool, k)
	defer scratch.Put(buf)

	// One backing array per answer instead of one allocation per record:
	// big answers are dominated by allocation otherwise. A and AAAA records
	// have an exact size, so the sampled count already fits; SRV answers,
	// whose targets vary in length, and ANY, which mixes A and AAAA, are
	// measured and trimmed.
	trimmed := !capped && len(picked) < len(pool)
	m.Answer = make([]dns.RR, 0, len(picked))
	switch qtype {
	case dns.TypeA:
		recs := make([]dns.A, len(picked))
		for i, in := range picked {
			recs[i] = dns.A{Hdr: hdr(qname, dns.TypeA, c.serviceTTL), A: in.ip.To4()}
			m.Answer = append(m.Answer, &recs[i])
		}
	case dns.TypeAAAA:
		recs := make([]dns.AAAA, len(picked))
		for i, in := range picked {
			recs[i] = dns.AAAA{Hdr: hdr(qname, dns.TypeAAAA, c.serviceTTL), AAAA: in.ip}
			m.Answer = append(m.Answer, &recs[i])
		}
	case dns.TypeSRV:
		trimmed = fit(m, c.srvUnits(qname, picked), size) || trimmed
	case dns.TypeANY:
		units := make([]unit, len(picked))
		for i, in := range picked {
			units[i].answer = addrRR(qname, in.ip, c.serviceTTL)
		}
		trimmed = fit(m, units, size) || trimmed
	}
	m.Truncated = trimmed && udp
}

// srvUnits are the SRV records of picked with their targets' addresses.
// The records share backing arrays; their capacity is never exceeded, so
// the pointers stay valid.
func (c *CoordCatalog) srvUnits(qname string, picked []*instance) []unit {
	recs := make([]dns.SRV, len(picked))
	units := make([]unit, len(picked))
	var as []dns.A
	var aaaas []dns.AAAA
	for i, in := range picked {
		recs[i] = dns.SRV{Hdr: hdr(qname, dns.TypeSRV, c.serviceTTL), Priority: 1, Weight: in.weight, Port: in.port, Target: in.target}
		units[i].answer = &recs[i]
		switch v4 := in.ip.To4(); {
		case in.ip == nil: // a host name: no address record
		case v4 != nil:
			if as == nil {
				as = make([]dns.A, 0, len(picked))
			}
			as = append(as, dns.A{Hdr: hdr(in.target, dns.TypeA, c.nodeTTL), A: v4})
			units[i].extra = &as[len(as)-1]
		default:
			if aaaas == nil {
				aaaas = make([]dns.AAAA, 0, len(picked))
			}
			aaaas = append(aaaas, dns.AAAA{Hdr: hdr(in.target, dns.TypeAAAA, c.nodeTTL), AAAA: in.ip})
			units[i].extra = &aaaas[len(aaaas)-1]
		}
	}
	return units
}

// optRRLen is the wire size of the OPT record the server adds to replies to
// EDNS0 queries.
const optRRLen = 11
