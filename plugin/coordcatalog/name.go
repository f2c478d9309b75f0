package coordcatalog

import (
	"encoding/hex"
	"net"
	"strings"

	"github.com/miekg/dns"
)

// queryKind is what a name inside the zone asks for.
type queryKind int

const (
	kindInvalid queryKind = iota
	kindApex
	kindNode
	kindService
	kindAddr
)

// query is a parsed name inside the zone. Names are lower-cased by CoreDNS
// before they reach us, so comparisons are exact.
type query struct {
	kind queryKind
	// name is the node or service name.
	name string
	// tag filters service instances; empty for none.
	tag string
	// dc is the datacenter label, empty when the name has none.
	dc string
	// ip is the decoded address of an addr lookup.
	ip net.IP
}

// parseName parses qname (lower case, fully qualified) inside zone:
//
//	<node>.node[.<dc>].<zone>
//	[<tag>.]<service>.service[.<dc>].<zone>
//	_<service>._<tag>.service[.<dc>].<zone>   (_tcp/_udp as tag: no filter)
//	<hex ip>.addr[.<dc>].<zone>
//
// It returns kindInvalid for anything else, which answers NXDOMAIN. The
// caller has matched qname to zone (plugin.Zones.Matches).
func parseName(qname, zone string) query {
	rel := strings.TrimSuffix(strings.TrimSuffix(qname, zone), ".")
	if rel == "" {
		return query{kind: kindApex}
	}
	labels := dns.SplitDomainName(rel)
	n := len(labels)
	if n == 0 {
		// Only empty labels, as in "..consul.": not a name we serve.
		return query{}
	}
	var q query
	switch {
	case kindOf(labels[n-1]) != kindInvalid:
		q.kind, labels = kindOf(labels[n-1]), labels[:n-1]
	case n >= 2 && kindOf(labels[n-2]) != kindInvalid:
		q.kind, q.dc, labels = kindOf(labels[n-2]), labels[n-1], labels[:n-2]
	default:
		return query{}
	}
	switch q.kind {
	case kindNode:
		if len(labels) != 1 {
			return query{}
		}
		q.name = labels[0]
	case kindService:
		return parseService(q, labels)
	case kindAddr:
		if len(labels) != 1 {
			return query{}
		}
		q.ip = decodeHexIP(labels[0])
		if q.ip == nil {
			return query{}
		}
	}
	return q
}

func kindOf(label string) queryKind {
	switch label {
	case "node":
		return kindNode
	case "service":
		return kindService
	case "addr":
		return kindAddr
	}
	return kindInvalid
}

func parseService(q query, labels []string) query {
	switch len(labels) {
	case 1:
		q.name = labels[0]
	case 2:
		if strings.HasPrefix(labels[0], "_") && strings.HasPrefix(labels[1], "_") {
			// RFC 2782: _service._tag
			if labels[1] == "_" {
				return query{}
			}
			q.name = labels[0][1:]
			if tag := labels[1][1:]; tag != "tcp" && tag != "udp" {
				q.tag = tag
			}
		} else {
			q.tag, q.name = labels[0], labels[1]
		}
	default:
		return query{}
	}
	if q.name == "" {
		return query{}
	}
	return q
}

// decodeHexIP reads the 8 (IPv4) or 32 (IPv6) hex digits of an addr label.
func decodeHexIP(label string) net.IP {
	if len(label) != 8 && len(label) != 32 {
		return nil
	}
	b, err := hex.DecodeString(label)
	if err != nil {
		return nil
	}
	return net.IP(b)
}

// encodeHexIP is the inverse of decodeHexIP: the addr label of an address.
func encodeHexIP(ip net.IP) string {
	if v4 := ip.To4(); v4 != nil {
		return hex.EncodeToString(v4)
	}
	return hex.EncodeToString(ip.To16())
}
