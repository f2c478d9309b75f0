package coordcatalog

import (
	"net"
	"slices"
	"strings"

	"github.com/coredns/coredns/request"
	"github.com/miekg/dns"

	"github.com/coredns-coord/coredns-coord/structs"
)

// nodeMetaTXT is a node's meta as TXT records, one key=value each, in key
// order so that answers are stable.
func nodeMetaTXT(name string, node *structs.Node, ttl uint32) []dns.RR {
	if len(node.Meta) == 0 {
		return nil
	}
	keys := make([]string, 0, len(node.Meta))
	for k := range node.Meta {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	recs := make([]dns.TXT, len(keys))
	rrs := make([]dns.RR, len(keys))
	for i, k := range keys {
		recs[i] = dns.TXT{Hdr: hdr(name, dns.TypeTXT, ttl), Txt: []string{encodeKVasRFC1464(k, node.Meta[k])}}
		rrs[i] = &recs[i]
	}
	return rrs
}

// encodeKVasRFC1464 is key=value with the key quoted as RFC 1464 (and
// Consul) do: a backquote before each backquote and "=", and before each
// leading or trailing space, so the first unquoted "=" ends the key.
func encodeKVasRFC1464(key, value string) string {
	key = strings.ReplaceAll(key, "`", "``")
	key = strings.ReplaceAll(key, "=", "`=")
	trimmed := strings.Trim(key, " ")
	if trimmed == key {
		return key + "=" + value
	}
	if trimmed == "" {
		return strings.Repeat("` ", len(key)) + "=" + value
	}
	lead := strings.Index(key, trimmed)
	trail := len(key) - lead - len(trimmed)
	return strings.Repeat("` ", lead) + trimmed + strings.Repeat("` ", trail) + "=" + value
}

// nodeAnswer fills m for a node lookup, as Consul does: the address record
// for A, AAAA and ANY; the node's meta as TXT records in the answer for TXT
// and ANY, and in the additional section of other lookups when
// metaTXT (Consul's enable_additional_node_meta_txt) is on. Meta records
// that would overflow a UDP answer are left out of the additional section;
// in the answer they are trimmed with TC set.
func (c *CoordCatalog) nodeAnswer(state request.Request, node *structs.Node, m *dns.Msg) {
	qname, qtype := state.QName(), state.QType()
	if rr := addrRecord(qname, net.ParseIP(node.Address), qtype, c.nodeTTL); rr != nil {
		m.Answer = append(m.Answer, rr)
	}
	inAnswer := qtype == dns.TypeTXT || qtype == dns.TypeANY
	if !inAnswer && (!c.metaTXT || len(m.Answer) == 0) {
		return
	}
	meta := nodeMetaTXT(qname, node, c.nodeTTL)
	if len(meta) == 0 {
		return
	}
	size := answerBudget(state)
	if !inAnswer {
		m.Extra = append(m.Extra, meta...)
		if m.Len() > size {
			m.Extra = m.Extra[:len(m.Extra)-len(meta)]
		}
		return
	}
	units := make([]unit, 0, len(m.Answer)+len(meta))
	for _, rr := range append(m.Answer, meta...) {
		units = append(units, unit{answer: rr})
	}
	m.Truncated = fit(m, units, size) && state.Proto() == "udp"
	if len(m.Extra) == 0 {
		m.Extra = nil
	}
}
