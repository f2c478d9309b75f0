package coordcatalog

import (
	"context"
	"math/rand/v2"
	"strings"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/request"
	"github.com/miekg/dns"

	"github.com/coredns-coord/coredns-coord/acl"
)

// serveReverse answers a PTR query for an address the catalog knows; every
// other name or type in a reverse zone goes to the next plugin, so that a
// resolver in front of us still answers dig -x of any address.
func (c *CoordCatalog) serveReverse(ctx context.Context, state request.Request, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	ip := parseReverse(state.Name())
	if ip == nil || (state.QType() != dns.TypePTR && state.QType() != dns.TypeANY) {
		return plugin.NextOrFailure(c.Name(), c.Next, ctx, w, r)
	}
	names, err := c.cache.names(c.store(), ip, c.datacenter, c.forwardZone())
	if err != nil {
		return dns.RcodeServerFailure, plugin.Error(c.Name(), err)
	}
	names = readableNames(c.dnsAuthorizer(), names)
	if len(names) == 0 {
		return plugin.NextOrFailure(c.Name(), c.Next, ctx, w, r)
	}

	m := authoritativeReply(r)
	m.Truncated = c.ptrAnswer(state, names, m) && state.Proto() == "udp"
	countResponse(ctx, state, dns.RcodeSuccess)
	w.WriteMsg(m)
	return dns.RcodeSuccess, nil
}

// readableNames keeps the PTR targets the DNS token may read: a node name
// needs node:read, a service name service:read. It copies only when it
// drops one (nil authz: ACLs off, all).
func readableNames(authz *acl.Authorizer, names []string) []string {
	if authz == nil {
		return names
	}
	for i, name := range names {
		if readableName(authz, name) {
			continue
		}
		kept := append(make([]string, 0, len(names)-1), names[:i]...)
		for _, rest := range names[i+1:] {
			if readableName(authz, rest) {
				kept = append(kept, rest)
			}
		}
		return kept
	}
	return names
}

func readableName(authz *acl.Authorizer, name string) bool {
	label, rest, _ := strings.Cut(name, ".")
	switch {
	case strings.HasPrefix(rest, "node."):
		return authz.Allowed(acl.ResourceNode, label, acl.AccessRead)
	case strings.HasPrefix(rest, "service."):
		return authz.Allowed(acl.ResourceService, label, acl.AccessRead)
	}
	return true
}

// ptrAnswer fills m with the PTR records of names in random order, as many
// as the client's buffer takes, and reports whether any were left out.
func (c *CoordCatalog) ptrAnswer(state request.Request, names []string, m *dns.Msg) (trimmed bool) {
	qname := state.QName()
	recs := make([]dns.PTR, len(names))
	units := make([]unit, len(names))
	for i, name := range names {
		recs[i] = dns.PTR{Hdr: hdr(qname, dns.TypePTR, c.nodeTTL), Ptr: name}
		units[i].answer = &recs[i]
	}
	rand.Shuffle(len(units), func(i, j int) { units[i], units[j] = units[j], units[i] })
	size := answerBudget(state)
	m.Answer = make([]dns.RR, 0, len(units))
	if ptrMaxLen(qname, names) <= size {
		// The common case, a name or two: no need to measure the message.
		for _, u := range units {
			m.Answer = append(m.Answer, u.answer)
		}
		return false
	}
	return fit(m, units, size)
}

// ptrMaxLen bounds the wire size of a PTR answer from above: the header,
// the question, and per record a pointer to the owner, type, class, TTL,
// length and the target uncompressed.
func ptrMaxLen(qname string, names []string) int {
	n := 12 + len(qname) + 1 + 4
	for _, name := range names {
		n += 2 + 10 + len(name) + 1
	}
	return n
}

// forwardZone is the zone PTR targets are named in: the first zone on the
// plugin's line that is not a reverse zone.
func (c *CoordCatalog) forwardZone() string {
	for _, z := range c.Zones {
		if !isReverseZone(z) {
			return z
		}
	}
	return "consul."
}
