package coordcatalog

import (
	"net"
	"net/netip"
	"slices"

	"github.com/miekg/dns"

	"github.com/coredns-coord/coredns-coord/state"
)

// addrIndex maps an address (its 16-byte form) to the names that answer its
// PTR query: <node>.node.<dc>.<zone> for nodes with that address,
// <service>.service.<dc>.<zone> for services with that address of their
// own. It is built once per catalog index, with the instance cache.
type addrIndex map[[16]byte][]string

// addrKey is the index key of ip: both families in their 16-byte form.
func addrKey(ip net.IP) (key [16]byte) {
	copy(key[:], ip.To16())
	return key
}

func buildAddrIndex(store *state.Store, dc, zone string) (addrIndex, error) {
	_, nodes, err := store.Nodes(nil)
	if err != nil {
		return nil, err
	}
	_, services, err := store.AllServiceNodes(nil)
	if err != nil {
		return nil, err
	}
	idx := make(addrIndex, len(nodes))
	add := func(addr, name string) {
		ip, err := netip.ParseAddr(addr)
		if err != nil {
			return // a host name, or no address
		}
		key := ip.As16()
		// An address has a name or two; a scan finds duplicates (the
		// instances of one service) cheaper than a set would.
		if slices.Contains(idx[key], name) {
			return
		}
		idx[key] = append(idx[key], name)
	}
	suffix := "." + dc + "." + dns.Fqdn(zone)
	for _, n := range nodes {
		add(n.Address, n.Node+".node"+suffix)
	}
	for _, sn := range services {
		if sn.ServiceAddress != "" {
			add(sn.ServiceAddress, sn.ServiceName+".service"+suffix)
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
