package agenthost

import (
	"errors"
	"fmt"

	"github.com/coredns/coredns/plugin"

	"github.com/coredns-coord/coredns-coord/agent"
)

// A load is what the setups of one Corefile load declared, by server block.
// The key of a server block is its *dnsserver.Config, the value every
// plugin of the block gets from dnsserver.GetConfig.
type load struct {
	blocks  map[any]*block
	ordered []*block // in setup order, so that startup is deterministic
}

// block is the agent of one server block and the plugins that use it.
type block struct {
	owner string        // the plugin that declared the agent
	cfg   *agent.Config // nil: no plugin of the block declared one
	uses  []func(*agent.Agent) error
	agent *agent.Agent // from startup on
}

func newLoad() *load { return &load{blocks: map[any]*block{}} }

func (l *load) block(key any) *block {
	b, ok := l.blocks[key]
	if !ok {
		b = &block{}
		l.blocks[key] = b
		l.ordered = append(l.ordered, b)
	}
	return b
}

func (l *load) declare(key any, owner string, cfg agent.Config) error {
	b := l.block(key)
	if b.cfg != nil {
		return fmt.Errorf("the agent of this server block is already configured by %s", b.owner)
	}
	b.owner, b.cfg = owner, &cfg
	return nil
}

func (l *load) use(key any, use func(*agent.Agent) error) {
	b := l.block(key)
	b.uses = append(b.uses, use)
}

// start starts (or finds running) every declared agent, hands each to the
// plugins of its server block, and then starts the agents' catalog sync.
func (l *load) start(api agent.HandlerFunc) error {
	for _, b := range l.ordered {
		if b.cfg == nil {
			continue
		}
		a, err := agent.Acquire(*b.cfg, api)
		if err != nil {
			return plugin.Error(b.owner, err)
		}
		b.agent = a
	}
	for _, b := range l.ordered {
		for _, use := range b.uses {
			if err := use(b.agent); err != nil {
				return err
			}
		}
	}
	for _, b := range l.ordered {
		if b.agent != nil {
			b.agent.StartSync()
		}
	}
	return nil
}

// stop stops the agents this load declared. CoreDNS runs it on final
// shutdown only: on a reload the agents stay for the next load.
func (l *load) stop() error {
	var errs []error
	for _, b := range l.ordered {
		if b.cfg == nil {
			continue
		}
		if err := agent.Release(*b.cfg); err != nil {
			errs = append(errs, plugin.Error(b.owner, err))
		}
	}
	return errors.Join(errs...)
}
