// Package agenthost runs the agents that Corefile blocks configure and hands
// each to the plugins of its server block.
//
// It keeps CoreDNS's rule: setup parses, OnStartup starts, OnFinalShutdown
// stops. In setup, the plugin whose block configures an agent (coordcatalog)
// declares it with Declare, and every plugin that needs the agent of its
// server block (coordcatalog, coordhealth) asks for it with Use. One startup
// function per Corefile load then starts each declared agent, or finds it
// running (an agent outlives reloads: package agent keeps one per data
// directory), hands it to the plugins of its server block, and only then
// starts its catalog sync, so that the definitions a plugin loads are in
// place before the first full sync compares them with the catalog. None of
// this depends on the order of the directives.
//
// The plugins never see the HTTP API: main, the composition root, gives it
// to SetHTTPAPI, and the agents serve it.
package agenthost

import (
	"sync"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"

	"github.com/coredns-coord/coredns-coord/agent"
)

var (
	httpAPIMu sync.Mutex
	httpAPI   agent.HandlerFunc
)

// SetHTTPAPI sets the HTTP API that the agents started from now on serve on
// their http address; without it they serve none.
func SetHTTPAPI(api agent.HandlerFunc) {
	httpAPIMu.Lock()
	defer httpAPIMu.Unlock()
	httpAPI = api
}

func currentHTTPAPI() agent.HandlerFunc {
	httpAPIMu.Lock()
	defer httpAPIMu.Unlock()
	return httpAPI
}

// Declare makes cfg the agent of c's server block; owner, the declaring
// plugin, names it in errors. It starts nothing, and fails when the running
// agent of cfg's data directory has other settings: those take effect only
// after a restart, so such a reload must fail while the old configuration
// keeps serving.
func Declare(c *caddy.Controller, owner string, cfg agent.Config) error {
	if err := agent.CheckSettings(cfg); err != nil {
		return err
	}
	return loadOf(c).declare(dnsserver.GetConfig(c), owner, cfg)
}

// Use calls use at every startup (the first and each reload's) with the
// agent of c's server block, before that agent's catalog sync starts. The
// agent is nil when no plugin of the server block declared one; an error
// from use fails the startup.
func Use(c *caddy.Controller, use func(*agent.Agent) error) {
	loadOf(c).use(dnsserver.GetConfig(c), use)
}

// loadKey keeps a Corefile load's declarations in its caddy instance.
type loadKey struct{}

// loadOf returns the declarations of c's Corefile load. The first call of
// a load registers its startup and final shutdown.
func loadOf(c *caddy.Controller) *load {
	if l, ok := c.Get(loadKey{}).(*load); ok {
		return l
	}
	l := newLoad()
	c.Set(loadKey{}, l)
	c.OnStartup(func() error { return l.start(currentHTTPAPI()) })
	c.OnFinalShutdown(l.stop)
	return l
}
