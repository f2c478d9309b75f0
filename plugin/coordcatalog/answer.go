package coordcatalog

import (
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// unit is one instance's share of an answer: its record and, for SRV, the
// address record of its target. Trimming drops whole units, so an SRV
// answer never loses the address of a target it keeps.
type unit struct {
	answer dns.RR
	extra  dns.RR
}

func hdr(name string, rrtype uint16, ttl uint32) dns.RR_Header {
	return dns.RR_Header{Name: name, Rrtype: rrtype, Class: dns.ClassINET, Ttl: ttl}
}

// addrRR is the A or AAAA record for ip, by its family; nil for no ip.
func addrRR(name string, ip net.IP, ttl uint32) dns.RR {
	if ip == nil {
		return nil
	}
	if v4 := ip.To4(); v4 != nil {
		return &dns.A{Hdr: hdr(name, dns.TypeA, ttl), A: v4}
	}
	return &dns.AAAA{Hdr: hdr(name, dns.TypeAAAA, ttl), AAAA: ip}
}

// addrRecord returns an A or AAAA record for ip if it matches qtype; ANY
// matches either.
func addrRecord(name string, ip net.IP, qtype uint16, ttl uint32) dns.RR {
	switch {
	case ip == nil:
		return nil
	case qtype == dns.TypeANY:
	case qtype != dns.TypeA && qtype != dns.TypeAAAA, (ip.To4() != nil) != (qtype == dns.TypeA):
		return nil
	}
	return addrRR(name, ip, ttl)
}

// Wire sizes of one unit with its owner name compressed to a pointer: an
// A record is 16 bytes, an AAAA 28, and an SRV with its target's A record
// at least 37 (a one-letter target label). They bound how many instances
// are sampled for a message, so a service with thousands of instances costs
// no more to answer over UDP than one with a hundred.
const (
	aUnitLen      = 16
	aaaaUnitLen   = 28
	srvMinUnitLen = 37
)

// maxUnits is how many units of qtype can fit in budget bytes at most; for
// A and AAAA it is exact. ANY mixes both, so its bound is A's and fit
// trims what does not.
func maxUnits(qtype uint16, budget int) int {
	switch qtype {
	case dns.TypeA, dns.TypeANY:
		return budget / aUnitLen
	case dns.TypeAAAA:
		return budget / aaaaUnitLen
	}
	return budget / srvMinUnitLen
}

// scratch holds reusable sample buffers for the hot path.
var scratch = sync.Pool{New: func() any { s := make([]*instance, 0, 256); return &s }}

// sample returns up to k instances of pool in random order. The caller
// returns buf to scratch when done with the result.
func sample(pool []*instance, k int) ([]*instance, *[]*instance) {
	buf := scratch.Get().(*[]*instance)
	s := append((*buf)[:0], pool...)
	if k > len(s) {
		k = len(s)
	}
	// Partial Fisher–Yates: only the first k positions are drawn.
	for i := 0; i < k; i++ {
		j := i + rand.IntN(len(s)-i)
		s[i], s[j] = s[j], s[i]
	}
	*buf = s
	return s[:k], buf
}

// fit puts as many units into m as fit in size bytes and reports whether
// any were left out. Units are already in random order, so a trimmed answer
// is a random subset.
func fit(m *dns.Msg, units []unit, size int) (truncated bool) {
	// Several instances on one node share a target: its address goes into
	// the additional section once, with the first unit that names it.
	m.Extra = make([]dns.RR, 0, len(units))
	firstExtra := make([]bool, len(units))
	var seen map[string]struct{}
	for i, u := range units {
		if u.extra == nil {
			continue
		}
		if seen == nil {
			seen = make(map[string]struct{}, len(units))
		}
		if _, dup := seen[u.extra.Header().Name]; !dup {
			seen[u.extra.Header().Name] = struct{}{}
			firstExtra[i] = true
		}
	}
	fill := func(k int) {
		m.Answer, m.Extra = m.Answer[:0], m.Extra[:0]
		for i, u := range units[:k] {
			m.Answer = append(m.Answer, u.answer)
			if firstExtra[i] {
				m.Extra = append(m.Extra, u.extra)
			}
		}
	}
	fill(len(units))
	full := m.Len()
	if full <= size {
		return false
	}
	// Units of one answer are nearly the same size: estimate the count
	// that fits from the average, then step to the exact one.
	fill(0)
	base := m.Len()
	k := len(units) * (size - base) / (full - base)
	fill(k)
	for k > 0 && m.Len() > size {
		k--
		fill(k)
	}
	for k < len(units) {
		fill(k + 1)
		if m.Len() > size {
			fill(k)
			break
		}
		k++
	}
	return true
}

// soa is the zone's SOA. Its minimum TTL is 0 so that resolvers do not cache
// a negative answer for a service that is about to register.
func soa(zone, mname string) *dns.SOA {
	return &dns.SOA{
		Hdr:     hdr(zone, dns.TypeSOA, 0),
		Ns:      mname,
		Mbox:    "hostmaster." + zone,
		Serial:  uint32(time.Now().Unix()),
		Refresh: 3600,
		Retry:   600,
		Expire:  86400,
		Minttl:  0,
	}
}
