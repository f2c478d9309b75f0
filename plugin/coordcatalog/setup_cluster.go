package coordcatalog

import (
	"fmt"
	"strconv"
)

// clusterOptions say how the agent finds the other agents of its
// datacenter and talks to them: Raft, gossip and their addresses.
var clusterOptions = map[string]option{
	"bootstrap_expect": valueOption(func(o *options, v string) (err error) {
		o.agent.BootstrapExpect, err = strconv.Atoi(v)
		return err
	}),
	"retry_join": {nargs: anyArgs, parse: func(o *options, args []string) error {
		o.agent.RetryJoin = append(o.agent.RetryJoin, args...)
		if len(args) == 0 {
			return fmt.Errorf("needs at least one address")
		}
		return nil
	}},
	"bind": valueOption(func(o *options, v string) error {
		o.agent.BindAddr = v
		return nil
	}),
	"advertise": valueOption(func(o *options, v string) error {
		o.agent.AdvertiseAddr = v
		return nil
	}),
	"server_port": valueOption(func(o *options, v string) (err error) {
		o.agent.ServerPort, err = parsePort(v)
		return err
	}),
	"serf_lan_port": valueOption(func(o *options, v string) (err error) {
		o.agent.SerfLANPort, err = parsePort(v)
		return err
	}),
	"encrypt": valueOption(func(o *options, v string) error {
		o.agent.Encrypt = v
		return nil
	}),
	"reconnect_timeout": valueOption(func(o *options, v string) (err error) {
		o.agent.ReconnectTimeout, err = parsePositiveDuration(v)
		return err
	}),
	"cleanup_dead_servers": valueOption(func(o *options, v string) (err error) {
		o.agent.CleanupDeadServers, err = strconv.ParseBool(v)
		return err
	}),
}

func parsePort(s string) (int, error) {
	p, err := strconv.Atoi(s)
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("invalid port %q", s)
	}
	return p, nil
}
