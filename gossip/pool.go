package gossip

import (
	"errors"
	"fmt"
	"log"
	"maps"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

type poolState int32

const (
	stateAlive poolState = iota
	stateLeaving
	stateLeft
	stateShutdown
)

// Errors returned when the pool is no longer usable.
var (
	ErrLeft     = errors.New("gossip: the pool has left")
	ErrShutdown = errors.New("gossip: the pool is shut down")
	// ErrUnknownMember is a force-leave of a name the pool does not know.
	ErrUnknownMember = errors.New("gossip: no such member")
)

// Bounds on the bookkeeping buffers.
const (
	maxRecentEvents  = 4096
	maxRecentQueries = 1024
	maxIntents       = 4096
	intentTTL        = 5 * time.Minute
	maxQueueDepth    = 4096
)

// Pool is this agent's membership in a gossip pool.
type Pool struct {
	cfg     Config
	logger  *log.Logger
	ml      atomic.Pointer[memberlist.Memberlist]
	keyring *memberlist.Keyring
	// keyringMu serializes keyring changes with their saving to KeyringFile.
	keyringMu sync.Mutex

	clock        lamport // join and leave intents
	eventClock   lamport // user events
	eventMinTime atomic.Uint64
	joining      atomic.Int32

	state   atomic.Int32 // poolState
	leaveMu sync.Mutex   // serializes Leave and Shutdown

	tagsMu sync.RWMutex
	tags   map[string]string
	meta   []byte

	// mu guards members, intents, the recent-ID buffers, closed, and sends
	// on the event channels (so that they are never sent on once closed).
	mu         sync.RWMutex
	members    map[string]*memberState
	intents    map[string]pendingIntent
	seenEvents *recentIDs
	// recentEvents are the last user events seen (under mu), for push/pull.
	recentEvents []userEventMsg
	seenQueries  *recentIDs
	closed       bool
	numMembers   atomic.Int32 // members memberlist sees alive, including us

	control *memberlist.TransmitLimitedQueue // intents and queries
	userQ   *memberlist.TransmitLimitedQueue // user events

	events     chan MemberEvent
	userEvents chan UserEvent
	dropped    atomic.Uint64

	queriesMu sync.Mutex
	queries   map[string]*pendingQuery

	shutdownCh chan struct{}
	wg         sync.WaitGroup
}

// pendingIntent is an intent about a member we do not know (yet): applied
// when it joins. A tombstone only remembers the status time of a member we
// forgot, so that old intents about it still in flight are not news.
type pendingIntent struct {
	leave     bool
	tombstone bool
	ltime     uint64
	at        time.Time
}

// Create starts a pool member: it binds the gossip port and is alone in its
// pool until Join.
func Create(cfg Config) (*Pool, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	tags, err := poolTags(cfg.Tags, cfg.Datacenter)
	if err != nil {
		return nil, err
	}
	meta, err := encodeTags(tags)
	if err != nil {
		return nil, err
	}
	p := &Pool{
		cfg:         cfg,
		logger:      cfg.Logger,
		tags:        tags,
		meta:        meta,
		members:     map[string]*memberState{},
		intents:     map[string]pendingIntent{},
		seenEvents:  newRecentIDs(maxRecentEvents),
		seenQueries: newRecentIDs(maxRecentQueries),
		events:      make(chan MemberEvent, cfg.EventBuffer),
		userEvents:  make(chan UserEvent, cfg.EventBuffer),
		queries:     map[string]*pendingQuery{},
		shutdownCh:  make(chan struct{}),
	}
	keys, err := p.resolveKeyring()
	if err != nil {
		return nil, err
	}
	t := cfg.Tuning
	p.control = &memberlist.TransmitLimitedQueue{NumNodes: p.numNodes, RetransmitMult: t.RetransmitMult}
	// User events are rare and small but have no failure detector behind
	// them: a member every relay happened to skip would only get the event
	// at the next push/pull (30 s). Twice the retransmissions make that
	// about 1 in a million members instead of 1 in a thousand (5 members).
	p.userQ = &memberlist.TransmitLimitedQueue{NumNodes: p.numNodes, RetransmitMult: 2 * t.RetransmitMult}

	mc := memberlist.DefaultLANConfig()
	mc.Name = cfg.NodeName
	mc.BindAddr = cfg.BindAddr
	mc.BindPort = cfg.BindPort
	mc.AdvertiseAddr = cfg.AdvertiseAddr
	mc.AdvertisePort = cfg.AdvertisePort
	if mc.AdvertisePort == 0 {
		mc.AdvertisePort = cfg.BindPort
	}
	mc.ProbeInterval = t.ProbeInterval
	mc.ProbeTimeout = t.ProbeTimeout
	mc.IndirectChecks = t.IndirectChecks
	mc.SuspicionMult = t.SuspicionMult
	mc.SuspicionMaxTimeoutMult = t.SuspicionMaxTimeoutMult
	mc.AwarenessMaxMultiplier = t.AwarenessMaxMultiplier
	mc.GossipInterval = t.GossipInterval
	mc.GossipNodes = t.GossipNodes
	mc.GossipToTheDeadTime = t.GossipToTheDeadTime
	mc.RetransmitMult = t.RetransmitMult
	mc.PushPullInterval = t.PushPullInterval
	mc.TCPTimeout = t.TCPTimeout
	mc.DeadNodeReclaimTime = t.DeadNodeReclaimTime
	mc.Delegate = (*delegate)(p)
	mc.Events = (*eventDelegate)(p)
	mc.Alive = (*aliveDelegate)(p)
	mc.Merge = (*mergeDelegate)(p)
	mc.Conflict = (*conflictDelegate)(p)
	mc.Logger = newMemberlistLogger(cfg)
	if len(keys) > 0 {
		kr, err := memberlist.NewKeyring(keys, keys[0])
		if err != nil {
			return nil, fmt.Errorf("gossip: keyring: %w", err)
		}
		p.keyring = kr
		mc.Keyring = kr
	}

	ml, err := memberlist.Create(mc)
	if err != nil {
		return nil, fmt.Errorf("gossip: starting the %s pool on %s: %w", cfg.PoolName,
			net.JoinHostPort(cfg.BindAddr, strconv.Itoa(cfg.BindPort)), err)
	}
	p.ml.Store(ml)
	// No join intent here (serf sends one): a fresh process starts its
	// Lamport clock at zero, so it would be older than any leave intent
	// from a previous life of this node name. Such stale intents reach us
	// through gossip or push/pull, and handleLeaveIntent refutes them with
	// a join intent newer than the leave.

	registerPool(p)
	p.wg.Add(2)
	go p.maintain()
	go p.reconnect()
	local := ml.LocalNode()
	p.infof("started as %q at %s (datacenter %s, encryption %s)", cfg.NodeName, local.Address(), cfg.Datacenter,
		map[bool]string{true: "on", false: "off"}[p.keyring != nil])
	return p, nil
}

func poolTags(in map[string]string, dc string) (map[string]string, error) {
	tags := maps.Clone(in)
	if tags == nil {
		tags = map[string]string{}
	}
	if v, ok := tags["dc"]; ok && v != dc {
		return nil, fmt.Errorf("gossip: the dc tag (%q) must be the pool's datacenter (%q)", v, dc)
	}
	tags["dc"] = dc
	return tags, nil
}

func (p *Pool) list() *memberlist.Memberlist { return p.ml.Load() }

func (p *Pool) numNodes() int { return max(1, int(p.numMembers.Load())) }

func (p *Pool) usable() error {
	switch poolState(p.state.Load()) {
	case stateLeaving, stateLeft:
		return ErrLeft
	case stateShutdown:
		return ErrShutdown
	}
	return nil
}

// Join contacts the given members (host:port; the port defaults to the
// bind port) and merges state with them. It returns how many were
// contacted; an error only when none could be joined, which includes
// refusals: another datacenter, this node name already used by another
// address, a gossip key mismatch.
func (p *Pool) Join(addrs []string) (int, error) {
	if err := p.usable(); err != nil {
		return 0, err
	}
	if len(addrs) == 0 {
		return 0, errors.New("gossip: join: no addresses")
	}
	p.joining.Add(1)
	n, err := p.list().Join(addrs)
	p.joining.Add(-1)
	if err != nil {
		// The caller reports it (retry_join logs each attempt).
		return n, p.joinError(addrs, err)
	}
	p.infof("joined %d of %d address(es): %s", n, len(addrs), strings.Join(addrs, ", "))
	return n, nil
}

// joinError flattens memberlist's multi-error into one line and explains the
// usual cause of a connection closed during the join.
func (p *Pool) joinError(addrs []string, err error) error {
	var msgs []string
	var multi interface{ WrappedErrors() []error }
	if errors.As(err, &multi) {
		for _, e := range multi.WrappedErrors() {
			msgs = append(msgs, e.Error())
		}
	} else {
		msgs = append(msgs, err.Error())
	}
	text := strings.Join(msgs, "; ")
	low := strings.ToLower(text)
	hint := ""
	switch {
	case strings.Contains(low, "encryption is not configured") || strings.Contains(low, "not encrypted"):
		hint = " (gossip encryption is configured on one side only)"
	case strings.Contains(low, "no installed keys could decrypt"):
		hint = " (the gossip encryption keys differ)"
	case strings.Contains(low, "eof") || strings.Contains(low, "connection reset") || strings.Contains(low, "broken pipe"):
		if p.keyring != nil {
			hint = " (the remote closed the connection: most likely its gossip encryption key differs from ours, or it does not use encryption)"
		} else {
			hint = " (the remote closed the connection: most likely it requires gossip encryption and this agent has no key)"
		}
	}
	return fmt.Errorf("gossip: join %s failed: %s%s", strings.Join(addrs, ", "), text, hint)
}

// Leave leaves the pool gracefully: other members see EventLeave and the
// status left (not failed). It waits up to timeout (5s when <= 0) for the
// news to go out, then keeps answering probes for LeavePropagateDelay
// (within the timeout). Call Shutdown afterwards.
func (p *Pool) Leave(timeout time.Duration) error {
	p.leaveMu.Lock()
	defer p.leaveMu.Unlock()
	switch poolState(p.state.Load()) {
	case stateLeft:
		return nil
	case stateShutdown:
		return ErrShutdown
	}
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	deadline := time.Now().Add(timeout)
	p.state.Store(int32(stateLeaving))
	p.infof("leaving the pool")

	self := p.cfg.NodeName
	intent := leaveIntent{LTime: p.clock.Next(), Node: self}
	p.handleLeaveIntent(intent)
	others := p.othersAlive()
	var errs []error
	if others {
		sent := make(chan struct{})
		p.queueMsg(p.control, intentKey(self), intent.LTime, msgLeaveIntent, intent, sent)
		select {
		case <-sent:
		case <-time.After(time.Until(deadline)):
			errs = append(errs, errors.New("timed out sending the leave intent"))
		}
	}
	if err := p.list().Leave(max(time.Until(deadline), time.Millisecond)); err != nil {
		errs = append(errs, err)
	}
	if others {
		if d := min(p.cfg.Tuning.LeavePropagateDelay, time.Until(deadline)); d > 0 {
			time.Sleep(d)
		}
	}
	p.state.Store(int32(stateLeft))
	if err := errors.Join(errs...); err != nil {
		p.warnf("leave: %v", err)
		return fmt.Errorf("gossip: leave: %w", err)
	}
	p.infof("left the pool")
	return nil
}

func (p *Pool) othersAlive() bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	for name, m := range p.members {
		if name != p.cfg.NodeName && (m.Status == StatusAlive || m.Status == StatusLeaving) {
			return true
		}
	}
	return false
}

// Shutdown stops the member: it stops answering and other members will
// declare it failed, unless Leave was called first. The event channels are
// closed. Safe to call more than once.
func (p *Pool) Shutdown() error {
	p.leaveMu.Lock()
	defer p.leaveMu.Unlock()
	prev := poolState(p.state.Swap(int32(stateShutdown)))
	if prev == stateShutdown {
		return nil
	}
	if prev != stateLeft {
		p.infof("shutting down without leaving: other members will see %q as failed", p.cfg.NodeName)
	}
	err := p.list().Shutdown()
	unregisterPool(p)
	p.mu.Lock()
	p.closed = true
	close(p.events)
	close(p.userEvents)
	p.mu.Unlock()
	close(p.shutdownCh)
	p.wg.Wait()
	if err != nil {
		return fmt.Errorf("gossip: shutdown: %w", err)
	}
	return nil
}

// Members returns every member this agent knows, sorted by name: alive,
// leaving, and failed or left ones until they are reaped.
func (p *Pool) Members() []Member {
	p.mu.RLock()
	out := make([]Member, 0, len(p.members))
	for _, m := range p.members {
		out = append(out, m.Member.clone())
	}
	p.mu.RUnlock()
	slices.SortFunc(out, func(a, b Member) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Member returns one member by name.
func (p *Pool) Member(name string) (Member, bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	m, ok := p.members[name]
	if !ok {
		return Member{}, false
	}
	return m.Member.clone(), true
}

// LocalMember is this agent's own member entry.
func (p *Pool) LocalMember() Member {
	if m, ok := p.Member(p.cfg.NodeName); ok {
		return m
	}
	n := p.list().LocalNode()
	p.tagsMu.RLock()
	defer p.tagsMu.RUnlock()
	return Member{Name: n.Name, Addr: slices.Clone(n.Addr), Port: n.Port, Tags: maps.Clone(p.tags)}
}

// SetTags replaces this member's tags (the dc tag is kept) and gossips
// them: other members see EventUpdate.
func (p *Pool) SetTags(tags map[string]string) error {
	if err := p.usable(); err != nil {
		return err
	}
	t, err := poolTags(tags, p.cfg.Datacenter)
	if err != nil {
		return err
	}
	meta, err := encodeTags(t)
	if err != nil {
		return err
	}
	p.tagsMu.Lock()
	p.tags, p.meta = t, meta
	p.tagsMu.Unlock()
	if err := p.list().UpdateNode(p.cfg.Tuning.TCPTimeout); err != nil {
		return fmt.Errorf("gossip: set tags: %w", err)
	}
	return nil
}

// ForceLeave moves a failed member to left on every member (EventLeave), so
// that it is reaped after TombstoneTimeout instead of ReconnectTimeout; with
// prune it is forgotten at once (EventReap). A member that is in fact alive
// refutes it and stays alive. An unknown node is an error.
func (p *Pool) ForceLeave(node string, prune bool) error {
	if err := p.usable(); err != nil {
		return err
	}
	if node == p.cfg.NodeName {
		return errors.New("gossip: force-leave of the local member: use Leave")
	}
	if _, ok := p.Member(node); !ok {
		return fmt.Errorf("%w: force-leave: no member named %q", ErrUnknownMember, node)
	}
	intent := leaveIntent{LTime: p.clock.Next(), Node: node, Prune: prune}
	p.infof("force-leave of %q (prune: %v)", node, prune)
	if p.handleLeaveIntent(intent) {
		p.queueMsg(p.control, intentKey(node), intent.LTime, msgLeaveIntent, intent, nil)
	}
	return nil
}

// Events delivers membership events. See the package documentation: the
// channel is buffered and events are dropped (and counted) when it is full.
// It is closed by Shutdown.
func (p *Pool) Events() <-chan MemberEvent { return p.events }

// UserEvents delivers user events, each once. Same buffering as Events.
func (p *Pool) UserEvents() <-chan UserEvent { return p.userEvents }

// DroppedEvents is how many member and user events were dropped because
// their channel was full.
func (p *Pool) DroppedEvents() uint64 { return p.dropped.Load() }

// LocalNodeName is this member's name.
func (p *Pool) LocalNodeName() string { return p.cfg.NodeName }

// emitLocked sends a member event without blocking. Call with p.mu held.
func (p *Pool) emitLocked(t EventType, m *memberState) {
	if p.closed {
		return
	}
	select {
	case p.events <- MemberEvent{Type: t, Member: m.Member.clone()}:
	default:
		p.dropped.Add(1)
		eventsDropped.WithLabelValues("member").Inc()
	}
}

// recountLocked refreshes the number of members memberlist sees alive.
// Call with p.mu held.
func (p *Pool) recountLocked() {
	n := 0
	for _, m := range p.members {
		if m.Status == StatusAlive || m.Status == StatusLeaving {
			n++
		}
	}
	p.numMembers.Store(int32(n))
}

// eraseLocked forgets a member (EventReap). Call with p.mu held.
func (p *Pool) eraseLocked(m *memberState, why string) {
	delete(p.members, m.Name)
	p.intents[m.Name] = pendingIntent{tombstone: true, ltime: m.statusLTime, at: time.Now()}
	p.recountLocked()
	p.infof("forgot member %q (%s, %s)", m.Name, m.Status, why)
	p.emitLocked(EventReap, m)
}

// maintain reaps failed and left members, expires intents and bounds the
// broadcast queues.
func (p *Pool) maintain() {
	defer p.wg.Done()
	interval := min(5*time.Second, p.cfg.ReconnectTimeout/4, p.cfg.TombstoneTimeout/4)
	interval = max(interval, 50*time.Millisecond)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-p.shutdownCh:
			return
		case now := <-tick.C:
			p.reap(now)
			// Prune panics on a queue that never held anything
			// (memberlist v0.7.0), hence the check.
			for _, q := range []*memberlist.TransmitLimitedQueue{p.control, p.userQ} {
				if q.NumQueued() > maxQueueDepth {
					q.Prune(maxQueueDepth)
				}
			}
		}
	}
}

// reconnect joins a failed member again, one picked at random each
// ReconnectInterval, as serf does. Without it, a pool that split stays
// split: when every server restarts, each knows only the servers it joins
// at start, and the clients, which still count the servers as failed,
// gossip only among themselves, so they never learn that the servers are
// back.
func (p *Pool) reconnect() {
	defer p.wg.Done()
	for {
		jitter := time.Duration(rand.Int64N(int64(p.cfg.ReconnectInterval) / 4))
		select {
		case <-p.shutdownCh:
			return
		case <-time.After(p.cfg.ReconnectInterval + jitter):
		}
		p.mu.Lock()
		var failed []string
		for _, m := range p.members {
			if m.Status == StatusFailed {
				failed = append(failed, m.Address())
			}
		}
		p.mu.Unlock()
		if len(failed) == 0 {
			continue
		}
		addr := failed[rand.IntN(len(failed))]
		if _, err := p.list().Join([]string{addr}); err == nil {
			p.infof("reconnected to failed member at %s", addr)
		}
	}
}

func (p *Pool) reap(now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for name, m := range p.members {
		if name == p.cfg.NodeName {
			continue
		}
		switch {
		case m.Status == StatusFailed && now.Sub(m.leaveTime) >= p.cfg.ReconnectTimeout:
			p.eraseLocked(m, "reconnect timeout "+p.cfg.ReconnectTimeout.String())
		case m.Status == StatusLeft && now.Sub(m.leaveTime) >= p.cfg.TombstoneTimeout:
			p.eraseLocked(m, "tombstone timeout "+p.cfg.TombstoneTimeout.String())
		}
	}
	for name, it := range p.intents {
		if now.Sub(it.at) > intentTTL {
			delete(p.intents, name)
		}
	}
}

func intentKey(node string) string { return "intent/" + node }

// queueMsg encodes and queues a broadcast. A keyed broadcast replaces
// queued ones with the same key and an older or equal ltime. notify, if not
// nil, is closed once the message has been sent enough times (or replaced).
func (p *Pool) queueMsg(q *memberlist.TransmitLimitedQueue, key string, ltime uint64, t msgType, v any, notify chan struct{}) {
	raw, err := encodeMsg(t, v)
	if err != nil {
		p.errorf("%v", err)
		if notify != nil {
			close(notify)
		}
		return
	}
	q.QueueBroadcast(&broadcast{key: key, ltime: ltime, msg: raw, notify: notify})
}
