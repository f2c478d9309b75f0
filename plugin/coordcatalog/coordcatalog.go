// Package coordcatalog is the CoreDNS plugin that owns the consul. zone: it
// parses Consul-style names and answers them from the agent's local catalog
// replica. Its Corefile block also configures that agent: setup parses the
// block (setup*.go) and declares the agent to package agenthost, which
// starts it on startup and hands it back as an Agent.
package coordcatalog

import (
	"sync/atomic"

	"github.com/coredns/coredns/plugin"

	"github.com/coredns-coord/coredns-coord/acl"
	"github.com/coredns-coord/coredns-coord/state"
)

// Agent is what the plugin reads from the agent its block configures.
type Agent interface {
	// State is the local state store (a server's, or a client's replica).
	State() *state.Store
	// Ready: a leader is known and this agent's node is in the catalog.
	Ready() bool
	// CaughtUp: the store holds what the cluster had committed when the
	// agent started.
	CaughtUp() bool
}

// CoordCatalog answers the zones it owns from a state store.
type CoordCatalog struct {
	Next  plugin.Handler
	Zones []string

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
	// metaTXT puts a node's meta as TXT records in the additional section
	// of its lookups (Consul's enable_additional_node_meta_txt).
	metaTXT bool

	cache *instanceCache
	// authz is what the DNS token may read (nil, or a nil answer: ACLs
	// off, everything).
	authz func() *acl.Authorizer
}

// Name implements plugin.Handler; ready and prometheus find us by it.
func (c *CoordCatalog) Name() string { return pluginName }

// Ready implements ready.Readiness: ready once a leader is known and this
// agent's node is in the catalog.
func (c *CoordCatalog) Ready() bool { return c.ready() }

// startedAgent is the block's agent from startup on. The handler exists from
// setup and the agent only from startup, and the ready plugin may ask in
// between, from a goroutine of its own: until then the zone is neither
// ready nor caught up, so the handler never reads the store.
type startedAgent struct{ p atomic.Pointer[Agent] }

func (s *startedAgent) set(a Agent) { s.p.Store(&a) }

func (s *startedAgent) agent() Agent {
	if p := s.p.Load(); p != nil {
		return *p
	}
	return nil
}

// State must be read only once CaughtUp.
func (s *startedAgent) State() *state.Store { return s.agent().State() }

func (s *startedAgent) Ready() bool {
	a := s.agent()
	return a != nil && a.Ready()
}

// DNSAuthorizer is what the agent's DNS token may read; nil before the
// agent started or with ACLs off.
func (s *startedAgent) DNSAuthorizer() *acl.Authorizer {
	if a, ok := s.agent().(interface{ DNSAuthorizer() *acl.Authorizer }); ok {
		return a.DNSAuthorizer()
	}
	return nil
}

func (s *startedAgent) CaughtUp() bool {
	a := s.agent()
	return a != nil && a.CaughtUp()
}
