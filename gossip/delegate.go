package gossip

import (
	"bytes"
	"fmt"
	"slices"
	"time"

	"github.com/hashicorp/memberlist"
)

// The memberlist delegates are views of the Pool. Memberlist calls the
// event, alive and conflict delegates with its node lock held, so nothing
// here calls back into memberlist.
type (
	delegate         Pool
	eventDelegate    Pool
	aliveDelegate    Pool
	mergeDelegate    Pool
	conflictDelegate Pool
)

// --- membership events -------------------------------------------------

func (d *eventDelegate) NotifyJoin(n *memberlist.Node)   { (*Pool)(d).handleNodeJoin(n) }
func (d *eventDelegate) NotifyLeave(n *memberlist.Node)  { (*Pool)(d).handleNodeLeave(n) }
func (d *eventDelegate) NotifyUpdate(n *memberlist.Node) { (*Pool)(d).handleNodeUpdate(n) }

func (p *Pool) nodeTags(n *memberlist.Node) map[string]string {
	tags, err := decodeTags(n.Meta)
	if err != nil {
		p.warnf("member %q: %v", n.Name, err)
		return map[string]string{}
	}
	return tags
}

func (p *Pool) handleNodeJoin(n *memberlist.Node) {
	tags := p.nodeTags(n)
	p.mu.Lock()
	defer p.mu.Unlock()
	m, ok := p.members[n.Name]
	if !ok {
		m = &memberState{Member: Member{Name: n.Name}}
		p.members[n.Name] = m
		m.Status = StatusAlive
		if it, ok := p.intents[n.Name]; ok {
			delete(p.intents, n.Name)
			m.statusLTime = it.ltime
			if it.leave && !it.tombstone {
				m.Status = StatusLeaving
				// Pass the intent on: if the member is in fact back
				// (restarted after leaving), it refutes.
				l := leaveIntent{LTime: it.ltime, Node: n.Name}
				defer p.queueMsg(p.control, intentKey(n.Name), l.LTime, msgLeaveIntent, l, nil)
			}
		}
	} else {
		m.Status = StatusAlive
		m.leaveTime = time.Time{}
	}
	m.Addr = slices.Clone(n.Addr)
	m.Port = n.Port
	m.Tags = tags
	p.recountLocked()
	p.infof("member joined: %q %s", n.Name, n.Address())
	p.emitLocked(EventJoin, m)
}

func (p *Pool) handleNodeLeave(n *memberlist.Node) {
	p.mu.Lock()
	defer p.mu.Unlock()
	m, ok := p.members[n.Name]
	if !ok {
		return
	}
	now := time.Now()
	switch m.Status {
	case StatusLeaving:
		m.Status = StatusLeft
		m.leaveTime = now
		p.recountLocked()
		p.infof("member left: %q %s", m.Name, m.Address())
		p.emitLocked(EventLeave, m)
	case StatusAlive:
		m.Status = StatusFailed
		m.leaveTime = now
		m.failedAt = now
		p.recountLocked()
		p.infof("member failed: %q %s", m.Name, m.Address())
		p.emitLocked(EventFailed, m)
	}
}

func (p *Pool) handleNodeUpdate(n *memberlist.Node) {
	tags := p.nodeTags(n)
	p.mu.Lock()
	defer p.mu.Unlock()
	m, ok := p.members[n.Name]
	if !ok {
		return
	}
	m.Addr = slices.Clone(n.Addr)
	m.Port = n.Port
	m.Tags = tags
	p.emitLocked(EventUpdate, m)
}

// --- intents -------------------------------------------------------------

// handleJoinIntent applies a join intent and reports whether it was news
// (to be gossiped on).
func (p *Pool) handleJoinIntent(j joinIntent) bool {
	p.clock.Witness(j.LTime)
	p.mu.Lock()
	defer p.mu.Unlock()
	m, ok := p.members[j.Node]
	if !ok {
		return p.upsertIntentLocked(j.Node, false, j.LTime)
	}
	if j.LTime <= m.statusLTime {
		return false
	}
	m.statusLTime = j.LTime
	if m.Status == StatusLeaving {
		// A stale leave intent, refuted by the member itself.
		m.Status = StatusAlive
	}
	return true
}

// handleLeaveIntent applies a leave intent (graceful leave or force-leave)
// and reports whether it was news.
func (p *Pool) handleLeaveIntent(l leaveIntent) bool {
	p.clock.Witness(l.LTime)
	refute := false
	news := func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		m, ok := p.members[l.Node]
		if !ok {
			return p.upsertIntentLocked(l.Node, true, l.LTime)
		}
		if l.LTime <= m.statusLTime {
			return false
		}
		m.statusLTime = l.LTime
		if l.Node == p.cfg.NodeName && poolState(p.state.Load()) == stateAlive {
			// Someone force-left us, or an intent from a previous life
			// of this node name is still around: we are alive.
			refute = true
			return false
		}
		switch m.Status {
		case StatusAlive:
			m.Status = StatusLeaving
		case StatusFailed:
			m.Status = StatusLeft
			m.leaveTime = time.Now()
			p.infof("member left (forced): %q %s", m.Name, m.Address())
			p.emitLocked(EventLeave, m)
			if l.Prune {
				p.eraseLocked(m, "pruned by force-leave")
			}
		case StatusLeft:
			if l.Prune {
				p.eraseLocked(m, "pruned by force-leave")
			}
		}
		return true
	}()
	if refute {
		p.warnf("refuting a leave intent about this member")
		j := joinIntent{LTime: p.clock.Next(), Node: p.cfg.NodeName}
		p.handleJoinIntent(j)
		p.queueMsg(p.control, intentKey(j.Node), j.LTime, msgJoinIntent, j, nil)
	}
	return news
}

// upsertIntentLocked remembers an intent about a member not known yet;
// it reports whether the intent was news.
func (p *Pool) upsertIntentLocked(node string, leave bool, ltime uint64) bool {
	if it, ok := p.intents[node]; ok {
		if ltime <= it.ltime {
			return false
		}
	} else if len(p.intents) >= maxIntents {
		return false
	}
	// A newer intent replaces a tombstone: it is news.
	p.intents[node] = pendingIntent{leave: leave, ltime: ltime, at: time.Now()}
	return true
}

// --- refusals --------------------------------------------------------------

func (d *aliveDelegate) NotifyAlive(n *memberlist.Node) error {
	return (*Pool)(d).checkDatacenter(n)
}

// checkDatacenter refuses members whose tags are unreadable or name another
// datacenter.
func (p *Pool) checkDatacenter(n *memberlist.Node) error {
	tags, err := decodeTags(n.Meta)
	if err != nil {
		return fmt.Errorf("member %q (%s): %v", n.Name, n.Address(), err)
	}
	if dc := tags["dc"]; dc != p.cfg.Datacenter {
		return fmt.Errorf("member %q (%s) is in datacenter %q but this pool is datacenter %q",
			n.Name, n.Address(), dc, p.cfg.Datacenter)
	}
	return nil
}

// NotifyMerge runs on both sides of a join, before any state is merged;
// an error cancels the merge and, on the joining side, fails the Join.
func (d *mergeDelegate) NotifyMerge(peers []*memberlist.Node) error {
	p := (*Pool)(d)
	for _, n := range peers {
		if err := p.checkDatacenter(n); err != nil {
			err = fmt.Errorf("refusing to merge with a pool of another datacenter: %w", err)
			p.errorf("%v", err)
			return err
		}
		if err := p.checkName(n); err != nil {
			p.errorf("%v", err)
			return err
		}
	}
	return nil
}

// checkName refuses a member that uses the name of another live member
// at another address, on either side of a join.
func (p *Pool) checkName(n *memberlist.Node) error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	m, ok := p.members[n.Name]
	if !ok || (bytes.Equal(m.Addr.To16(), n.Addr.To16()) && m.Port == n.Port) {
		return nil
	}
	theirs := n.Address()
	if n.Name == p.cfg.NodeName {
		// The other side has a member with our name.
		switch {
		case n.State == memberlist.StateLeft:
			// A previous life of this agent that left: memberlist lets
			// a new address take over the name at once.
			return nil
		case p.joining.Load() == 0:
			return fmt.Errorf("refusing the agent at %s: it uses this agent's node name %q; node names must be unique",
				theirs, n.Name)
		case n.State == memberlist.StateDead:
			// The other side refuses us too (the name stays reserved
			// for the failed member's address for DeadNodeReclaimTime),
			// but cannot tell us: it sends its state before merging.
			return fmt.Errorf("refused: node name %q belongs to a failed member at %s (this agent is %s); the name can be taken over once the pool forgets that member (DeadNodeReclaimTime and GossipToTheDeadTime, %s and %s)",
				n.Name, theirs, m.Address(), p.cfg.Tuning.DeadNodeReclaimTime, p.cfg.Tuning.GossipToTheDeadTime)
		default:
			return fmt.Errorf("refused: node name %q is already in use by the member at %s (this agent is %s); node names must be unique",
				n.Name, theirs, m.Address())
		}
	}
	switch m.Status {
	case StatusAlive, StatusLeaving:
		return fmt.Errorf("refusing the agent at %s: node name %q is already in use by the member at %s; node names must be unique",
			theirs, n.Name, m.Address())
	case StatusFailed, StatusLeft:
		if !m.failedAt.IsZero() {
			if wait := p.cfg.Tuning.DeadNodeReclaimTime - time.Since(m.failedAt); wait > 0 {
				return fmt.Errorf("refusing the agent at %s: node name %q belongs to the failed member at %s, which can be taken over in %s",
					theirs, n.Name, m.Address(), wait.Round(time.Second))
			}
		}
	}
	return nil
}

func (d *conflictDelegate) NotifyConflict(existing, other *memberlist.Node) {
	p := (*Pool)(d)
	if existing.Name == p.cfg.NodeName {
		p.errorf("the agent at %s uses this agent's node name %q; it is refused (node names must be unique)",
			other.Address(), existing.Name)
		return
	}
	p.errorf("node name conflict: %q is a member at %s; the agent at %s that uses the same name is refused",
		existing.Name, existing.Address(), other.Address())
}

// --- messages and state exchange ------------------------------------------

func (d *delegate) NodeMeta(limit int) []byte {
	p := (*Pool)(d)
	p.tagsMu.RLock()
	defer p.tagsMu.RUnlock()
	if len(p.meta) > limit {
		// encodeTags keeps meta within memberlist's limit; never here.
		return nil
	}
	return slices.Clone(p.meta)
}

func (d *delegate) NotifyMsg(b []byte) {
	p := (*Pool)(d)
	if len(b) == 0 {
		return
	}
	b = slices.Clone(b)
	t, body := msgType(b[0]), b[1:]
	switch t {
	case msgJoinIntent:
		var j joinIntent
		if p.decode(t, body, &j) && p.handleJoinIntent(j) {
			p.rebroadcast(p.control, intentKey(j.Node), j.LTime, b)
		}
	case msgLeaveIntent:
		var l leaveIntent
		if p.decode(t, body, &l) && p.handleLeaveIntent(l) {
			p.rebroadcast(p.control, intentKey(l.Node), l.LTime, b)
		}
	case msgUserEvent:
		var e userEventMsg
		if p.decode(t, body, &e) && p.handleUserEvent(e) {
			p.rebroadcast(p.userQ, "", 0, b)
		}
	case msgQuery:
		var q queryMsg
		if p.decode(t, body, &q) {
			p.handleQuery(q, b)
		}
	case msgQueryResponse:
		var r queryResponse
		if p.decode(t, body, &r) {
			p.handleQueryResponse(r)
		}
	default:
		p.warnf("ignoring a message of unknown type %d", t)
	}
}

func (p *Pool) decode(t msgType, body []byte, v any) bool {
	if err := decodeMsg(body, v); err != nil {
		p.warnf("ignoring a malformed message of type %d: %v", t, err)
		return false
	}
	return true
}

func (p *Pool) rebroadcast(q *memberlist.TransmitLimitedQueue, key string, ltime uint64, raw []byte) {
	if poolState(p.state.Load()) == stateShutdown {
		return
	}
	q.QueueBroadcast(&broadcast{key: key, ltime: ltime, msg: raw})
}

func (d *delegate) GetBroadcasts(overhead, limit int) [][]byte {
	p := (*Pool)(d)
	msgs := p.control.GetBroadcasts(overhead, limit)
	used := 0
	for _, m := range msgs {
		used += overhead + len(m)
	}
	if rest := limit - used; rest > overhead {
		msgs = append(msgs, p.userQ.GetBroadcasts(overhead, rest)...)
	}
	return msgs
}

func (d *delegate) LocalState(join bool) []byte {
	p := (*Pool)(d)
	pp := pushPull{LTime: p.clock.Time(), EventLTime: p.eventClock.Time()}
	p.mu.RLock()
	pp.Events = append(pp.Events, p.recentEvents...)
	pp.StatusLTimes = make(map[string]uint64, len(p.members))
	for name, m := range p.members {
		pp.StatusLTimes[name] = m.statusLTime
		if m.Status == StatusLeft {
			pp.Left = append(pp.Left, name)
		}
	}
	p.mu.RUnlock()
	raw, err := encodeMsg(msgPushPull, pp)
	if err != nil {
		p.errorf("%v", err)
		return nil
	}
	return raw
}

func (d *delegate) MergeRemoteState(buf []byte, join bool) {
	p := (*Pool)(d)
	if len(buf) == 0 || msgType(buf[0]) != msgPushPull {
		p.warnf("ignoring remote state with an unknown format")
		return
	}
	var pp pushPull
	if !p.decode(msgPushPull, buf[1:], &pp) {
		return
	}
	if pp.LTime > 0 {
		p.clock.Witness(pp.LTime - 1)
	}
	if pp.EventLTime > 0 {
		p.eventClock.Witness(pp.EventLTime - 1)
	}
	if join && p.joining.Load() > 0 {
		// Like Consul, an agent that joins does not replay old events.
		for {
			cur := p.eventMinTime.Load()
			if pp.EventLTime <= cur || p.eventMinTime.CompareAndSwap(cur, pp.EventLTime) {
				break
			}
		}
	}
	left := make(map[string]bool, len(pp.Left))
	for _, name := range pp.Left {
		left[name] = true
		// The leave was accepted after the member's last status time.
		// Pass news about known members on: if the member is in fact
		// alive, it refutes.
		l := leaveIntent{LTime: pp.StatusLTimes[name] + 1, Node: name}
		_, known := p.Member(name)
		if p.handleLeaveIntent(l) && known {
			p.queueMsg(p.control, intentKey(name), l.LTime, msgLeaveIntent, l, nil)
		}
	}
	for name, lt := range pp.StatusLTimes {
		if !left[name] {
			p.handleJoinIntent(joinIntent{LTime: lt, Node: name})
		}
	}
	// After the join's event floor above: a joiner does not replay them.
	for _, e := range pp.Events {
		p.handleUserEvent(e)
	}
}
