package gossip

import (
	"fmt"
	"strings"

	"github.com/hashicorp/serf/serf"
)

// mergeDelegate is serf's MergeDelegate. Serf calls it before merging the
// state of a join or push/pull (on both sides: an error cancels the merge
// and, on the joining side, fails the Join), and for each alive message
// (an error drops it; memberlist holds its node lock then, so it only reads
// serf's members, as serf's own event handling does under that lock).
type mergeDelegate Pool

func (d *mergeDelegate) NotifyMerge(members []*serf.Member) error {
	p := (*Pool)(d)
	s := p.created.Load()
	for _, m := range members {
		if err := p.checkDatacenter(m); err != nil {
			return err
		}
		if s == nil {
			continue // our own alive message, while serf.Create runs
		}
		if err := p.checkName(s, m); err != nil {
			return err
		}
	}
	return nil
}

// checkDatacenter refuses, in a LAN pool, members of another datacenter and,
// in a WAN pool, members whose name is not <node>.<dc> for their dc tag.
func (p *Pool) checkDatacenter(m *serf.Member) error {
	dc := m.Tags["dc"]
	if p.cfg.WAN {
		if dc == "" || !strings.HasSuffix(m.Name, "."+dc) {
			return fmt.Errorf("refusing member %q (%s): in a WAN pool a member's name must be <node>.<dc> (its dc tag is %q)",
				m.Name, fromSerf(*m).Address(), dc)
		}
		return nil
	}
	if dc != p.cfg.Datacenter {
		return fmt.Errorf("refusing to merge with a pool of another datacenter: member %q (%s) is in datacenter %q but this pool is datacenter %q",
			m.Name, fromSerf(*m).Address(), dc, p.cfg.Datacenter)
	}
	return nil
}

// checkName refuses a member that uses the name of another live member at
// another address, on either side of a join. Memberlist refuses such an
// address change too, but silently; this makes the Join fail with a reason.
func (p *Pool) checkName(s *serf.Serf, m *serf.Member) error {
	theirs := fromSerf(*m).Address()
	if m.Name == p.cfg.NodeName {
		// The other side has a member with our name.
		switch {
		case theirs == fromSerf(s.LocalMember()).Address():
			return nil
		case sameAgent(m.Tags, p.cfg.Tags):
			// A previous life of this agent at another address (it
			// restarted there): the pool learns the new one.
			return nil
		case m.Status == serf.StatusLeft:
			// A previous life of this agent that left: memberlist lets
			// a new address take over the name at once.
			return nil
		case p.joining.Load() == 0:
			return fmt.Errorf("refusing the agent at %s: it uses this agent's node name %q; node names must be unique",
				theirs, m.Name)
		default:
			// Serf does not tell an alive member from a failed one here.
			return fmt.Errorf("refused: node name %q is already in use by the member at %s (or, if that is a failed member, reserved for its address for %s after the failure); node names must be unique",
				m.Name, theirs, p.cfg.Tuning.DeadNodeReclaimTime)
		}
	}
	for _, known := range s.Members() {
		k := fromSerf(known)
		if k.Name == m.Name && k.Address() != theirs && (k.Status == StatusAlive || k.Status == StatusLeaving) &&
			!sameAgent(k.Tags, m.Tags) {
			return fmt.Errorf("refusing the agent at %s: node name %q is already in use by the member at %s; node names must be unique",
				theirs, m.Name, k.Address())
		}
	}
	return nil
}

// sameAgent reports whether two members' tags carry the same node ID: one
// agent (as Consul's merge delegate tells them apart), whatever address
// each entry has.
func sameAgent(a, b map[string]string) bool {
	return a["id"] != "" && a["id"] == b["id"]
}
