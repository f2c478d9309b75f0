package coordhealth

import (
	"errors"
	"os"
	"time"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/plugin"

	"github.com/coredns-coord/coredns-coord/agent"
	"github.com/coredns-coord/coredns-coord/plugin/pkg/agenthost"
)

func init() { plugin.Register(pluginName, setup) }

func setup(c *caddy.Controller) error {
	hc, err := parse(c)
	if err != nil {
		return plugin.Error(pluginName, err)
	}
	// The agent is the one the coordcatalog block of this server block
	// configures. agenthost hands it over at every startup, before its
	// catalog sync starts, whichever of the two blocks came first.
	agenthost.Use(c, func(a *agent.Agent) error {
		if a == nil {
			return plugin.Error(pluginName, errors.New("needs a coordcatalog block in the same server block"))
		}
		apply(a, hc)
		return nil
	})
	return nil
}

// parse reads the coordhealth block.
func parse(c *caddy.Controller) (agent.HealthConfig, error) {
	hc := agent.HealthConfig{CheckUpdateInterval: agent.DefaultCheckUpdateInterval}
	blocks := 0
	for c.Next() {
		if blocks++; blocks > 1 {
			return hc, c.Err("coordhealth may appear only once per server block")
		}
		if args := c.RemainingArgs(); len(args) > 0 {
			return hc, c.ArgErr()
		}
		for c.NextBlock() {
			if err := property(c, &hc); err != nil {
				return hc, err
			}
		}
	}
	return hc, nil
}

func property(c *caddy.Controller, hc *agent.HealthConfig) error {
	name := c.Val()
	args := c.RemainingArgs()
	switch name {
	case "config_dir":
		if len(args) == 0 {
			return c.ArgErr()
		}
		for _, dir := range args {
			fi, err := os.Stat(dir)
			if err != nil {
				return c.Errf("config_dir: %v", err)
			}
			if !fi.IsDir() {
				return c.Errf("config_dir: %s is not a directory", dir)
			}
		}
		hc.ConfigDirs = append(hc.ConfigDirs, args...)
	case "enable_script_checks", "enable_local_script_checks":
		if len(args) != 0 {
			return c.ArgErr()
		}
		if name == "enable_script_checks" {
			hc.EnableScripts = true
		} else {
			hc.EnableLocalScripts = true
		}
	case "check_update_interval":
		if len(args) != 1 {
			return c.ArgErr()
		}
		d, err := time.ParseDuration(args[0])
		if err != nil || d < 0 {
			return c.Errf("check_update_interval: want a duration of 0s or more, got %q", args[0])
		}
		hc.CheckUpdateInterval = d
	default:
		return c.Errf("unknown property %q", name)
	}
	return nil
}
