package coordcatalog

import (
	"fmt"
	"strconv"
)

// agentOptions say who the agent is and where and how it keeps its state.
// Like every agent setting, a running agent cannot change them.
var agentOptions = map[string]option{
	"dev": flagOption(func(o *options) {
		o.agent.Dev, o.agent.Server, o.agent.BootstrapExpect = true, true, 1
	}),
	"server": flagOption(func(o *options) { o.agent.Server = true }),
	"node": valueOption(func(o *options, v string) error {
		o.agent.NodeName = v
		return nil
	}),
	"node_id": valueOption(func(o *options, v string) error {
		o.agent.NodeID = v
		return nil
	}),
	"datacenter": valueOption(func(o *options, v string) error {
		o.agent.Datacenter = v
		return nil
	}),
	"data_dir": valueOption(func(o *options, v string) error {
		o.agent.DataDir = v
		return nil
	}),
	"node_meta": {nargs: 2, parse: func(o *options, args []string) error {
		if o.agent.NodeMeta == nil {
			o.agent.NodeMeta = map[string]string{}
		}
		o.agent.NodeMeta[args[0]] = args[1]
		return nil
	}},
	"snapshot_threshold": valueOption(func(o *options, v string) error {
		n, err := strconv.Atoi(v)
		if err == nil && n < 1 {
			err = fmt.Errorf("must be at least 1")
		}
		o.agent.SnapshotThreshold = uint64(n)
		return err
	}),
	"snapshot_interval": valueOption(func(o *options, v string) (err error) {
		o.agent.SnapshotInterval, err = parsePositiveDuration(v)
		return err
	}),
}
