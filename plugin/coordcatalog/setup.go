package coordcatalog

import (
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"

	"github.com/coredns-coord/coredns-coord/agent"
	"github.com/coredns-coord/coredns-coord/httpapi"
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
}

func setup(c *caddy.Controller) error {
	zones, opts, err := parse(c)
	if err != nil {
		return plugin.Error(pluginName, err)
	}
	a, err := agent.Acquire(opts.agent, httpapi.New)
	if err != nil {
		return plugin.Error(pluginName, err)
	}
	// The agent outlives reloads: stop it only when the process stops.
	cfg := opts.agent
	c.OnFinalShutdown(func() error { return agent.Release(cfg) })
	// Start the catalog sync once every plugin's setup and startup has
	// run, so that coordhealth's definitions are loaded before the first
	// full sync compares them with the catalog.
	c.OnStartup(func() error {
		a.StartSync()
		return nil
	})

	cc := &CoordCatalog{
		Zones:        zones,
		agent:        a,
		store:        a.State,
		ready:        a.Ready,
		caughtUp:     a.CaughtUp,
		datacenter:   cfg.Datacenter,
		self:         cfg.NodeName,
		nodeTTL:      uint32(opts.nodeTTL / time.Second),
		serviceTTL:   uint32(opts.serviceTTL / time.Second),
		onlyPassing:  opts.onlyPassing,
		aRecordLimit: opts.aRecordLimit,
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
	opts := &options{agent: agent.DefaultConfig()}
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

// property parses one line of the block.
func (o *options) property(c *caddy.Controller) error {
	a := &o.agent
	name := c.Val()
	args := c.RemainingArgs()
	want := func(n int) error {
		if len(args) != n {
			return c.Errf("%s takes %d argument(s), got %d", name, n, len(args))
		}
		return nil
	}
	var err error
	switch name {
	case "dev":
		if err = want(0); err == nil {
			a.Dev, a.Server, a.BootstrapExpect = true, true, 1
		}
	case "server":
		if err = want(0); err == nil {
			a.Server = true
		}
	case "advertise":
		if err = want(1); err == nil {
			a.AdvertiseAddr = args[0]
		}
	case "serf_lan_port":
		if err = want(1); err == nil {
			a.SerfLANPort, err = parsePort(args[0])
		}
	case "retry_join":
		if len(args) == 0 {
			err = fmt.Errorf("needs at least one address")
		}
		a.RetryJoin = append(a.RetryJoin, args...)
	case "encrypt":
		if err = want(1); err == nil {
			a.Encrypt = args[0]
		}
	case "reconnect_timeout":
		if err = want(1); err == nil {
			a.ReconnectTimeout, err = parsePositiveDuration(args[0])
		}
	case "snapshot_threshold":
		if err = want(1); err == nil {
			var n int
			n, err = strconv.Atoi(args[0])
			if err == nil && n < 1 {
				err = fmt.Errorf("must be at least 1")
			}
			a.SnapshotThreshold = uint64(n)
		}
	case "snapshot_interval":
		if err = want(1); err == nil {
			a.SnapshotInterval, err = parsePositiveDuration(args[0])
		}
	case "cleanup_dead_servers":
		if err = want(1); err == nil {
			a.CleanupDeadServers, err = strconv.ParseBool(args[0])
		}
	case "node":
		if err = want(1); err == nil {
			a.NodeName = args[0]
		}
	case "node_id":
		if err = want(1); err == nil {
			a.NodeID = args[0]
		}
	case "datacenter":
		if err = want(1); err == nil {
			a.Datacenter = args[0]
		}
	case "data_dir":
		if err = want(1); err == nil {
			a.DataDir = args[0]
		}
	case "bind":
		if err = want(1); err == nil {
			a.BindAddr = args[0]
		}
	case "server_port":
		if err = want(1); err == nil {
			a.ServerPort, err = parsePort(args[0])
		}
	case "http":
		if err = want(1); err == nil {
			a.HTTPAddr, err = parseHTTP(args[0])
		}
	case "http_max_conns_per_client":
		if err = want(1); err == nil {
			a.HTTPMaxConnsPerClient, err = strconv.Atoi(args[0])
			if err == nil && a.HTTPMaxConnsPerClient < 0 {
				err = fmt.Errorf("must not be negative (0: no limit)")
			}
		}
	case "http_read_header_timeout":
		if err = want(1); err == nil {
			a.HTTPReadHeaderTimeout, err = parsePositiveDuration(args[0])
		}
	case "http_idle_timeout":
		if err = want(1); err == nil {
			a.HTTPIdleTimeout, err = parsePositiveDuration(args[0])
		}
	case "bootstrap_expect":
		if err = want(1); err == nil {
			a.BootstrapExpect, err = strconv.Atoi(args[0])
		}
	case "node_meta":
		if err = want(2); err == nil {
			if a.NodeMeta == nil {
				a.NodeMeta = map[string]string{}
			}
			a.NodeMeta[args[0]] = args[1]
		}
	case "node_ttl":
		if err = want(1); err == nil {
			o.nodeTTL, err = parseTTL(args[0])
		}
	case "service_ttl":
		if err = want(1); err == nil {
			o.serviceTTL, err = parseTTL(args[0])
		}
	case "only_passing":
		if err = want(0); err == nil {
			o.onlyPassing = true
		}
	case "a_record_limit":
		if err = want(1); err == nil {
			o.aRecordLimit, err = strconv.Atoi(args[0])
			if err == nil && o.aRecordLimit < 0 {
				err = fmt.Errorf("must not be negative")
			}
		}
	default:
		return c.Errf("unknown property %q", name)
	}
	if err != nil {
		return c.Errf("%s: %v", name, err)
	}
	return nil
}

func parsePort(s string) (int, error) {
	p, err := strconv.Atoi(s)
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("invalid port %q", s)
	}
	return p, nil
}

// parseHTTP accepts host:port, or "off" to run without the HTTP API.
func parseHTTP(s string) (string, error) {
	if s == "off" {
		return "", nil
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return "", err
	}
	if _, err := strconv.Atoi(port); err != nil {
		return "", fmt.Errorf("invalid port %q", port)
	}
	return net.JoinHostPort(host, port), nil
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

// parseTTL takes a Go duration of whole seconds, like Consul's node_ttl.
func parseTTL(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	if d < 0 || d%time.Second != 0 || d > 24*time.Hour {
		return 0, fmt.Errorf("%q: want whole seconds between 0s and 24h", s)
	}
	return d, nil
}
