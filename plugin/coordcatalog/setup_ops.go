package coordcatalog

import (
	"github.com/coredns-coord/coredns-coord/agent"
	"github.com/coredns-coord/coredns-coord/internal/logging"
)

// opsOptions are the operator's settings. Unlike the agent's, a Corefile
// reload changes them: they are applied at every startup.
var opsOptions = map[string]option{
	"log_level": valueOption(func(o *options, v string) (err error) {
		o.logLevel, err = logging.ParseLevel(v)
		return err
	}),
	"enable_debug": flagOption(func(o *options) { o.enableDebug = true }),
}

// applyOps applies the operator's settings to the process and the agent.
// The log level is the process's: with several coordcatalog blocks, the
// last one started sets it.
func (o *options) applyOps(a *agent.Agent) {
	logging.SetLevel(o.logLevel)
	if a != nil {
		a.SetDebugEndpoints(o.enableDebug)
	}
}
