package coordcatalog

import (
	"net"

	"github.com/miekg/dns"

	"github.com/coredns-coord/coredns-coord/raftstore/state"
)

// addrIndex maps an address (its 16-byte form, as a string) to the names
// that answer its PTR query: <node>.node.<dc>.<zone> for nodes with that
// address, <service>.service.<dc>.<zone> for services with that address of
// their own. It is built once per catalog index, with the instance cache.
type addrIndex map[string][]string

// addrKey is the index key of ip: both families in their 16-byte form.
func addrKey(ip net.IP) string { return string(ip.To16()) }

func buildAddrIndex(store *state.Store, dc, zone string) (addrIndex, error) {
	_, nodes, err := store.Nodes(nil)
	if err != nil {
		return nil, err
	}
	_, services, err := store.AllServiceNodes(nil)
	if err != nil {
		return nil, err
	}
	idx := addrIndex{}
	seen := map[string]struct{}{}
	add := func(addr, name string) {
		ip := net.ParseIP(addr)
		if ip == nil {
			return
		}
		key := addrKey(ip)
		if _, dup := seen[key+name]; dup {
			return
		}
		seen[key+name] = struct{}{}
		idx[key] = append(idx[key], name)
	}
	for _, n := range nodes {
		add(n.Address, dns.Fqdn(n.Node+".node."+dc+"."+zone))
	}
	for _, sn := range services {
		if sn.ServiceAddress != "" {
			add(sn.ServiceAddress, dns.Fqdn(sn.ServiceName+".service."+dc+"."+zone))
		}
	}
	return idx, nil
}

// names returns the PTR targets of ip, building the index on the first
// lookup after a catalog change.
func (c *instanceCache) names(store *state.Store, ip net.IP, dc, zone string) ([]string, error) {
	idx := store.CatalogIndex()
	c.mu.RLock()
	addrs, fresh := c.addrs, c.addrsIndex == idx && c.addrs != nil
	c.mu.RUnlock()
	if !fresh {
		cacheMisses.Inc()
		var err error
		if addrs, err = buildAddrIndex(store, dc, zone); err != nil {
			return nil, err
		}
		c.mu.Lock()
		c.addrs, c.addrsIndex = addrs, idx
		c.mu.Unlock()
	} else {
		cacheHits.Inc()
	}
	return addrs[addrKey(ip)], nil
}
