// Package coordhealth is the CoreDNS plugin that configures the agent's
// health checking: where its service and check definition files live,
// whether script checks may run, and how often an output-only change is
// written. The checks themselves run in the agent (package checks), so that
// checks registered over the HTTP API run whether or not this block exists.
//
// It adds no handler to the DNS chain. At every startup (the first one and
// each Corefile reload) package agenthost hands it the agent of the
// coordcatalog block in the same server block, before that agent's catalog
// sync starts; coordhealth gives it its settings and re-reads the definition
// directories. SIGHUP re-reads them without a reload.
package coordhealth

import (
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"

	clog "github.com/coredns/coredns/plugin/pkg/log"

	"github.com/coredns-coord/coredns-coord/agent"
)

const pluginName = "coordhealth"

var log = clog.NewWithPlugin(pluginName)

// Agent is what coordhealth configures: the agent's health checking and
// the definitions it loads.
type Agent interface {
	ConfigureHealth(agent.HealthConfig)
	ReloadDefinitions() []error
}

// current is the agent SIGHUP reloads: the one the latest startup
// configured.
var (
	current   atomic.Pointer[Agent]
	sighupOne sync.Once
)

// apply configures a and loads its definitions; definition errors are
// logged (with file and field) and do not stop the other files.
func apply(a Agent, hc agent.HealthConfig) {
	a.ConfigureHealth(hc)
	current.Store(&a)
	reload(a)
	sighupOne.Do(watchSIGHUP)
}

func reload(a Agent) {
	if errs := a.ReloadDefinitions(); len(errs) > 0 {
		log.Errorf("%d definition(s) not loaded; the rest are running", len(errs))
	}
}

// watchSIGHUP re-reads the definitions on SIGHUP, which CoreDNS itself
// ignores (it reloads the Corefile on SIGUSR1).
func watchSIGHUP() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	go func() {
		for range ch {
			if a := current.Load(); a != nil {
				log.Info("SIGHUP: re-reading definitions")
				reload(*a)
			}
		}
	}()
}
