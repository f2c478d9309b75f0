package coordcatalog

import (
	"github.com/coredns/caddy"

	"github.com/coredns-coord/coredns-coord/agent"
)

// aclBlockOptions is the acl { } block: its presence turns ACLs on (with
// Consul's defaults), each line sets one thing.
var aclBlockOptions = map[string]option{
	"default_policy": valueOption(func(o *options, v string) error {
		o.agent.ACL.DefaultPolicy = v
		return nil
	}),
	"down_policy": valueOption(func(o *options, v string) error {
		o.agent.ACL.DownPolicy = v
		return nil
	}),
	// Any secret, as Consul's; a UUID is what acl/bootstrap would make.
	"initial_management": valueOption(func(o *options, v string) error {
		o.agent.ACL.InitialManagement = v
		return nil
	}),
	"agent_token": valueOption(func(o *options, v string) error {
		o.agent.ACL.AgentToken = v
		return nil
	}),
	"default_token": valueOption(func(o *options, v string) error {
		o.agent.ACL.DefaultToken = v
		return nil
	}),
	"dns_token": valueOption(func(o *options, v string) error {
		o.agent.ACL.DNSToken = v
		return nil
	}),
	"token_ttl": valueOption(func(o *options, v string) (err error) {
		o.agent.ACL.TokenTTL, err = parsePositiveDuration(v)
		return err
	}),
}

// aclOptions is the acl line of the coordcatalog block.
var aclOptions = map[string]option{
	"acl": {nargs: 0, parse: func(*options, []string) error { return nil }, block: parseACLBlock},
}

func parseACLBlock(o *options, c *caddy.Controller) error {
	if o.agent.ACL.Enabled {
		return c.Err("acl may appear only once")
	}
	o.agent.ACL = agent.DefaultACLConfig()
	return parseSubBlock(c, func(name string, args []string) error {
		opt, ok := aclBlockOptions[name]
		if !ok {
			return c.Errf("acl: unknown property %q", name)
		}
		if len(args) != opt.nargs {
			return c.Errf("acl %s: %v", name, errArgs(opt.nargs, len(args)))
		}
		if err := opt.parse(o, args); err != nil {
			return c.Errf("acl %s: %v", name, err)
		}
		return nil
	})
}
