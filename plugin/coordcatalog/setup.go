package coordcatalog

import (
	"fmt"
	"time"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"

	"github.com/coredns-coord/coredns-coord/agent"
	"github.com/coredns-coord/coredns-coord/internal/logging"
	"github.com/coredns-coord/coredns-coord/plugin/pkg/agenthost"
)

const pluginName = "coordcatalog"

func init() { plugin.Register(pluginName, setup) }

// options is everything the Corefile block sets: the agent's configuration
// and the DNS answer settings.
type options struct {
	agent        agent.Config
	nodeTTL      time.Duration
	serviceTTL   time.Duration
	onlyPassing  bool
	aRecordLimit int
	metaTXT      bool
	logLevel     logging.Level
	enableDebug  bool
}

func setup(c *caddy.Controller) error {
	zones, opts, err := parse(c)
	if err != nil {
		return plugin.Error(pluginName, err)
	}
	// Setup only parses: agenthost starts the agent on startup (or finds it
	// running, after a reload) and stops it on final shutdown.
	if err := agenthost.Declare(c, pluginName, opts.agent); err != nil {
		return plugin.Error(pluginName, err)
	}
	var started startedAgent
	agenthost.Use(c, func(a *agent.Agent) error {
		started.set(a)
		opts.applyOps(a)
		return reloadTLS(a, opts.agent.TLS)
	})

	cc := &CoordCatalog{
		Zones:        zones,
		store:        started.State,
		ready:        started.Ready,
		caughtUp:     started.CaughtUp,
		authz:        started.DNSAuthorizer,
		datacenter:   opts.agent.Datacenter,
		self:         opts.agent.NodeName,
		nodeTTL:      uint32(opts.nodeTTL / time.Second),
		serviceTTL:   uint32(opts.serviceTTL / time.Second),
		onlyPassing:  opts.onlyPassing,
		aRecordLimit: opts.aRecordLimit,
		metaTXT:      opts.metaTXT,
		cache:        newInstanceCache(),
	}
	dnsserver.GetConfig(c).AddPlugin(func(next plugin.Handler) plugin.Handler {
		cc.Next = next
		return cc
	})
	return nil
}

// parse reads one coordcatalog block; a second block in the same server
// block is an error.
func parse(c *caddy.Controller) ([]string, *options, error) {
	opts := &options{agent: agent.DefaultConfig(), metaTXT: true, logLevel: logging.LevelInfo}
	var zones []string
	blocks := 0
	for c.Next() {
		if blocks++; blocks > 1 {
			return nil, nil, c.Err("coordcatalog may appear only once per server block")
		}
		zones = plugin.OriginsFromArgsOrServerBlock(c.RemainingArgs(), c.ServerBlockKeys)
		for c.NextBlock() {
			if err := opts.property(c); err != nil {
				return nil, nil, err
			}
		}
	}
	if err := opts.agent.Validate(); err != nil {
		return nil, nil, c.Errf("invalid agent configuration: %v", err)
	}
	return zones, opts, nil
}

// property parses one line of the block with the option of its name.
func (o *options) property(c *caddy.Controller) error {
	name := c.Val()
	args := c.RemainingArgs()
	opt, ok := blockOptions[name]
	if !ok {
		return c.Errf("unknown property %q", name)
	}
	if opt.nargs != anyArgs && len(args) != opt.nargs {
		return c.Errf("%s takes %d argument(s), got %d", name, opt.nargs, len(args))
	}
	if err := opt.parse(o, args); err != nil {
		return c.Errf("%s: %v", name, err)
	}
	if opt.block != nil {
		return opt.block(o, c)
	}
	return nil
}

// An option parses the arguments of one line of the block into the
// options. nargs is how many arguments it takes, or anyArgs when parse
// counts them itself. block, when set, parses the { ... } block that
// follows the line.
type option struct {
	nargs int
	parse func(o *options, args []string) error
	block func(o *options, c *caddy.Controller) error
}

const anyArgs = -1

// blockOptions is every option of the block by name. Each concern keeps its
// own table: setup_agent.go (who the agent is, where it keeps its state),
// setup_cluster.go (how it finds and talks to the others), setup_http.go
// (the HTTP API), setup_tls.go (HTTPS and TLS on the server port),
// setup_dns.go (the answers), setup_ops.go (logging and debugging, which a
// reload changes) and setup_acl.go (the acl block).
var blockOptions = joinOptions(agentOptions, clusterOptions, httpOptions, tlsOptions, dnsOptions, opsOptions, aclOptions)

func joinOptions(tables ...map[string]option) map[string]option {
	all := map[string]option{}
	for _, table := range tables {
		for name, opt := range table {
			if _, dup := all[name]; dup {
				panic("coordcatalog: option " + name + " is defined twice")
			}
			all[name] = opt
		}
	}
	return all
}

// flagOption is an option without arguments.
func flagOption(set func(o *options)) option {
	return option{nargs: 0, parse: func(o *options, _ []string) error {
		set(o)
		return nil
	}}
}

// valueOption is an option of one argument.
func valueOption(parse func(o *options, v string) error) option {
	return option{nargs: 1, parse: func(o *options, args []string) error {
		return parse(o, args[0])
	}}
}

// parseSubBlock reads the { ... } block that follows an option's line,
// calling each for every line in it with the line's first word and the
// rest.
func parseSubBlock(c *caddy.Controller, each func(name string, args []string) error) error {
	name := c.Val()
	if !c.NextArg() || c.Val() != "{" {
		return c.Errf("%s needs a block: %s { ... }", name, name)
	}
	for c.Next() {
		if c.Val() == "}" {
			return nil
		}
		if err := each(c.Val(), c.RemainingArgs()); err != nil {
			return err
		}
	}
	return c.Errf("%s block is not closed", name)
}

func errArgs(want, got int) error {
	return fmt.Errorf("takes %d argument(s), got %d", want, got)
}

func parsePositiveDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	if d <= 0 {
		return 0, fmt.Errorf("%q: must be positive", s)
	}
	return d, nil
}
