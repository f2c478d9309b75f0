// Package coordcatalog is the CoreDNS plugin that owns the consul. zone: it
// parses Consul-style names and answers them from the agent's local catalog
// replica. Its Corefile block also configures the agent.
package coordcatalog

import (
	"github.com/coredns/coredns/plugin"

	"github.com/coredns-coord/coredns-coord/agent"
	"github.com/coredns-coord/coredns-coord/raftstore/state"
)

// CoordCatalog answers the zones it owns from a state store.
type CoordCatalog struct {
	Next  plugin.Handler
	Zones []string

	agent *agent.Agent
	store func() *state.Store
	ready func() bool
	// caughtUp: the store holds what the cluster had committed when the
	// agent started; until then names in the zone get SERVFAIL, never a
	// wrong NXDOMAIN.
	caughtUp func() bool

	datacenter   string
	self         string // this agent's node name, the zone's name server
	nodeTTL      uint32
	serviceTTL   uint32
	onlyPassing  bool
	aRecordLimit int

	cache *instanceCache
}

// Agent is the agent this block configured; coordhealth finds it here.
func (c *CoordCatalog) Agent() *agent.Agent { return c.agent }

// Name implements plugin.Handler; ready and prometheus find us by it.
func (c *CoordCatalog) Name() string { return pluginName }

// Ready implements ready.Readiness: ready once a leader is known and this
// agent's node is in the catalog.
func (c *CoordCatalog) Ready() bool { return c.ready() }
