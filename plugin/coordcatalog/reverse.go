package coordcatalog

import (
	"net"
	"strings"

	"github.com/coredns/coredns/plugin/pkg/dnsutil"
)

// isReverseZone reports whether zone is under in-addr.arpa. or ip6.arpa.,
// the zones coordcatalog answers PTR queries in.
func isReverseZone(zone string) bool {
	return dnsutil.IsReverse(zone) > 0 || zone == "in-addr.arpa." || zone == "ip6.arpa."
}

// parseReverse returns the address a full reverse name (lower case, fully
// qualified) stands for: four decimal octets under in-addr.arpa., or 32 hex
// nibbles under ip6.arpa.; nil for anything else, a partial name included.
// It decodes in place rather than with dnsutil.ExtractAddressFromReverse,
// which splits, joins and parses again, so that a PTR lookup costs what an
// A lookup does.
func parseReverse(qname string) net.IP {
	switch dnsutil.IsReverse(qname) {
	case 1:
		return parseReverse4(strings.TrimSuffix(qname, dnsutil.IP4arpa))
	case 2:
		return parseReverse6(strings.TrimSuffix(qname, dnsutil.IP6arpa))
	}
	return nil
}

// parseReverse4 reads "d.c.b.a": four decimal octets, lowest first, with
// no leading zeros (as net.ParseIP).
func parseReverse4(rel string) net.IP {
	ip := make(net.IP, net.IPv4len)
	for i := net.IPv4len - 1; i >= 0; i-- {
		label := rel
		if i > 0 {
			dot := strings.IndexByte(rel, '.')
			if dot < 0 {
				return nil
			}
			label, rel = rel[:dot], rel[dot+1:]
		}
		if len(label) == 0 || len(label) > 3 || (len(label) > 1 && label[0] == '0') {
			return nil
		}
		v := 0
		for j := 0; j < len(label); j++ {
			if label[j] < '0' || label[j] > '9' {
				return nil
			}
			v = v*10 + int(label[j]-'0')
		}
		if v > 255 {
			return nil
		}
		ip[i] = byte(v)
	}
	return ip
}

// parseReverse6 reads 32 one-digit hex labels, lowest nibble first.
func parseReverse6(rel string) net.IP {
	const nibbles = 2 * net.IPv6len
	if len(rel) != 2*nibbles-1 {
		return nil
	}
	ip := make(net.IP, net.IPv6len)
	for i := 0; i < nibbles; i++ {
		if i > 0 && rel[2*i-1] != '.' {
			return nil
		}
		v, ok := hexDigit(rel[2*i])
		if !ok {
			return nil
		}
		// Label i is nibble nibbles-1-i of the address, high nibble first.
		pos := nibbles - 1 - i
		if pos%2 == 0 {
			v <<= 4
		}
		ip[pos/2] |= v
	}
	return ip
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}
