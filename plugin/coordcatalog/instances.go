package coordcatalog

import (
	"net"
	"sync"

	"github.com/miekg/dns"

	"github.com/coredns-coord/coredns-coord/acl"
	"github.com/coredns-coord/coredns-coord/state"
	"github.com/coredns-coord/coredns-coord/structs"
)

// instance is a healthy service instance, parsed once for the answer path.
type instance struct {
	ip     net.IP // nil when the address is a host name
	port   uint16
	weight uint16
	// target is the SRV target: <node>.node.<dc>.<zone>, or
	// <hexip>.addr.<dc>.<zone> when the service has an address of its own.
	target string
}

// instanceSet is a service's healthy instances, split by address family so
// that an A query samples only IPv4 instances.
type instanceSet struct {
	all, v4, v6 []*instance
}

// maxCachedSets bounds the cache: queries for names that do not exist must
// not grow it without limit between two catalog changes.
const maxCachedSets = 4096

// instanceCache keeps the healthy instances of each queried service until
// the catalog changes. The state store bumps its catalog index on every
// change to nodes, services or checks; an index that moved drops everything.
type instanceCache struct {
	mu    sync.RWMutex
	index uint64
	sets  map[instanceKey]*instanceSet
	// authz is the DNS token's authorizer the sets were filtered with
	// (nil: ACLs off); another one (the ACL tables or the token changed)
	// drops everything too.
	authz *acl.Authorizer
	// addrs answers PTR queries; built for catalog index addrsIndex.
	addrs      addrIndex
	addrsIndex uint64
}

func newInstanceCache() *instanceCache {
	return &instanceCache{sets: map[instanceKey]*instanceSet{}}
}

// instanceKey names one cached answer set; it is the map key itself, so a
// lookup builds nothing.
type instanceKey struct {
	service, tag, zone string
}

// get returns the instances for key, computing them on a miss.
func (c *instanceCache) get(store *state.Store, key instanceKey, dc string, onlyPassing bool, authz *acl.Authorizer) (*instanceSet, error) {
	idx := store.CatalogIndex()
	c.mu.RLock()
	set, ok := c.sets[key]
	fresh := c.index == idx && c.authz == authz
	c.mu.RUnlock()
	if ok && fresh {
		cacheHits.Inc()
		return set, nil
	}
	cacheMisses.Inc()

	var tags []string
	if key.tag != "" {
		tags = []string{key.tag}
	}
	_, nodes, err := store.CheckServiceNodes(nil, key.service, tags)
	if err != nil {
		return nil, err
	}
	set = buildInstanceSet(readableInstances(authz, key.service, nodes), dc, key.zone, onlyPassing)

	c.mu.Lock()
	if c.index != idx || c.authz != authz || len(c.sets) >= maxCachedSets {
		c.sets = map[instanceKey]*instanceSet{}
		c.index, c.authz = idx, authz
	}
	c.sets[key] = set
	c.mu.Unlock()
	return set, nil
}

// readableInstances keeps the instances the DNS token may read, as
// Consul: none without service:read on the name (the name is then
// NXDOMAIN, as if absent), and of the rest those whose node it may read.
// A nil authz (ACLs off) keeps all.
func readableInstances(authz *acl.Authorizer, service string, nodes []*structs.CheckServiceNode) []*structs.CheckServiceNode {
	if authz == nil {
		return nodes
	}
	if !authz.Allowed(acl.ResourceService, service, acl.AccessRead) {
		return nil
	}
	kept := nodes[:0:0]
	for _, csn := range nodes {
		if authz.Allowed(acl.ResourceNode, csn.Node.Node, acl.AccessRead) {
			kept = append(kept, csn)
		}
	}
	return kept
}

// healthy applies Consul's DNS health rule to an instance's aggregated
// status: any critical check (node or service) excludes it; warning
// excludes it only with only_passing.
func healthy(status string, onlyPassing bool) bool {
	switch status {
	case structs.HealthPassing:
		return true
	case structs.HealthWarning:
		return !onlyPassing
	}
	return false
}

func buildInstanceSet(nodes []*structs.CheckServiceNode, dc, zone string, onlyPassing bool) *instanceSet {
	set := &instanceSet{}
	for _, csn := range nodes {
		status := csn.Checks.AggregatedStatus()
		if !healthy(status, onlyPassing) {
			continue
		}
		in := &instance{port: uint16(csn.Service.ServicePort), weight: srvWeight(csn.Service.ServiceWeights, status)}
		addr := csn.AnswerAddress()
		in.ip = net.ParseIP(addr)
		switch {
		case in.ip == nil:
			in.target = dns.Fqdn(addr)
		case csn.Service.ServiceAddress == "" || csn.Service.ServiceAddress == csn.Node.Address:
			in.target = dns.Fqdn(csn.Node.Node + ".node." + dc + "." + zone)
		default:
			in.target = encodeHexIP(in.ip) + ".addr." + dc + "." + zone
		}
		set.all = append(set.all, in)
		switch {
		case in.ip == nil:
		case in.ip.To4() != nil:
			set.v4 = append(set.v4, in)
		default:
			set.v6 = append(set.v6, in)
		}
	}
	return set
}

// srvWeight is the instance's weight for its status, at least 1 so that
// RFC 2782 clients never skip it.
func srvWeight(w structs.Weights, status string) uint16 {
	v := w.Passing
	if status == structs.HealthWarning {
		v = w.Warning
	}
	if v < 1 {
		return 1
	}
	if v > 65535 {
		return 65535
	}
	return uint16(v)
}

// pool is the instances a query type answers with: A the IPv4 ones, AAAA
// the IPv6 ones, SRV all, ANY what A and AAAA would, together (Consul
// answers ANY with the A records only).
func (set *instanceSet) pool(qtype uint16) []*instance {
	switch qtype {
	case dns.TypeA:
		return set.v4
	case dns.TypeAAAA:
		return set.v6
	case dns.TypeSRV:
		return set.all
	case dns.TypeANY:
		pool := make([]*instance, 0, len(set.v4)+len(set.v6))
		return append(append(pool, set.v4...), set.v6...)
	}
	return nil
}
