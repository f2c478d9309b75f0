package gossip

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/serf/coordinate"
	"github.com/hashicorp/serf/serf"
)

// Errors returned when the pool is no longer usable.
var (
	ErrLeft     = errors.New("gossip: the pool has left")
	ErrShutdown = errors.New("gossip: the pool is shut down")
	// ErrUnknownMember is a force-leave of a name the pool does not know.
	ErrUnknownMember = errors.New("gossip: no such member")
)

// Pool is this agent's membership in a gossip pool: a serf instance.
type Pool struct {
	cfg     Config
	serf    *serf.Serf
	keyring *memberlist.Keyring // nil without encryption
	joining atomic.Int32        // Joins in progress (merge delegate)
	// created is serf once serf.Create has returned: the merge delegate
	// runs from within it too.
	created atomic.Pointer[serf.Serf]

	// serfEvents is serf's event channel; forward moves its events to
	// events and userEvents without ever blocking serf.
	serfEvents  chan serf.Event
	events      chan MemberEvent
	userEvents  chan UserEvent
	dropped     atomic.Uint64
	sentEvents  sync.Map // event ID -> chan uint64 (its Lamport time)
	stop        chan struct{}
	forwardDone chan struct{}
	// goodCopyDone closes when keepGoodCopy ends (at once without one).
	goodCopyDone chan struct{}
	shutdown     sync.Once
}

// Create starts a pool member: it binds the gossip port and is alone in its
// pool until Join (or until it rejoins the members of its snapshot).
func Create(cfg Config) (*Pool, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	tags, err := poolTags(cfg.Tags, cfg.Datacenter)
	if err != nil {
		return nil, err
	}
	p := &Pool{
		cfg:          cfg,
		serfEvents:   make(chan serf.Event, cfg.EventBuffer),
		events:       make(chan MemberEvent, cfg.EventBuffer),
		userEvents:   make(chan UserEvent, cfg.EventBuffer),
		stop:         make(chan struct{}),
		forwardDone:  make(chan struct{}),
		goodCopyDone: make(chan struct{}),
	}
	keys, err := p.resolveKeyring()
	if err != nil {
		return nil, err
	}
	if cfg.SnapshotPath != "" {
		if err := os.MkdirAll(filepath.Dir(cfg.SnapshotPath), 0o700); err != nil {
			return nil, fmt.Errorf("gossip: snapshot: %w", err)
		}
	}
	sc := cfg.serfConfig(tags)
	sc.EventCh = p.serfEvents
	sc.Merge = (*mergeDelegate)(p)
	if len(keys) > 0 {
		if p.keyring, err = memberlist.NewKeyring(keys, keys[0]); err != nil {
			return nil, fmt.Errorf("gossip: keyring: %w", err)
		}
		sc.MemberlistConfig.Keyring = p.keyring
	}
	go p.forward()
	if p.serf, err = serf.Create(sc); err != nil {
		close(p.stop)
		return nil, fmt.Errorf("gossip: starting the %s pool on %s: %w", cfg.poolName(),
			net.JoinHostPort(cfg.BindAddr, strconv.Itoa(cfg.BindPort)), err)
	}
	p.created.Store(p.serf)
	if p.keyring != nil && cfg.KeyringFile != "" {
		go p.keepGoodCopy(100 * time.Millisecond)
	} else {
		close(p.goodCopyDone)
	}
	registerPool(p)
	p.infof("started as %q at %s (datacenter %s, encryption %s)", cfg.NodeName, p.LocalMember().Address(),
		cfg.Datacenter, map[bool]string{true: "on", false: "off"}[p.keyring != nil])
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

func (p *Pool) usable() error {
	switch p.serf.State() {
	case serf.SerfLeaving, serf.SerfLeft:
		return ErrLeft
	case serf.SerfShutdown:
		return ErrShutdown
	}
	return nil
}

// Join contacts the given members (host:port; the port defaults to the
// bind port) and merges state with them, ignoring the user events they had
// already seen (as Consul). It returns how many were contacted; an error
// only when none could be joined, which includes refusals: another
// datacenter, this node name already used by another address, a gossip key
// mismatch.
func (p *Pool) Join(addrs []string) (int, error) {
	if err := p.usable(); err != nil {
		return 0, err
	}
	if len(addrs) == 0 {
		return 0, errors.New("gossip: join: no addresses")
	}
	p.joining.Add(1)
	n, err := p.serf.Join(addrs, true)
	p.joining.Add(-1)
	if err != nil {
		// The caller reports it (retry_join logs each attempt).
		return n, p.joinError(addrs, err)
	}
	p.infof("joined %d of %d address(es): %s", n, len(addrs), strings.Join(addrs, ", "))
	return n, nil
}

// joinError flattens memberlist's multi-error into one line and names the
// usual cause of an encryption or version mismatch.
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
	case strings.Contains(low, "delegate protocol version (0)"):
		hint = " (the other agent runs a coredns-coord from before gossip moved to serf: the two do not mix, upgrade every agent)"
	case strings.Contains(low, "eof") || strings.Contains(low, "connection reset") || strings.Contains(low, "broken pipe"):
		hint = " (the remote closed the connection: most likely it requires gossip encryption and this agent has no key)"
		if p.keyring != nil {
			hint = " (the remote closed the connection: most likely its gossip encryption key differs from ours, or it does not use encryption)"
		}
	}
	return fmt.Errorf("gossip: join %s failed: %s%s", strings.Join(addrs, ", "), text, hint)
}

// Leave leaves the pool gracefully: other members see EventLeave and the
// status left (not failed). Serf broadcasts a leave intent, leaves
// memberlist, then keeps answering probes for LeavePropagateDelay. It
// returns after timeout (5s when <= 0) plus that delay at most. Call
// Shutdown afterwards.
func (p *Pool) Leave(timeout time.Duration) error {
	switch p.serf.State() {
	case serf.SerfLeft:
		return nil
	case serf.SerfShutdown:
		return ErrShutdown
	}
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	p.infof("leaving the pool")
	done := make(chan error, 1)
	go func() { done <- p.serf.Leave() }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("gossip: leave: %w", err)
		}
	case <-time.After(timeout + p.cfg.Tuning.LeavePropagateDelay):
		return fmt.Errorf("gossip: leave: not done after %s", timeout)
	}
	p.infof("left the pool")
	return nil
}

// Shutdown stops the member: it stops answering and other members will
// declare it failed, unless Leave was called first. The event channels are
// closed. Safe to call more than once.
func (p *Pool) Shutdown() error {
	var err error
	p.shutdown.Do(func() {
		err = p.serf.Shutdown()
		unregisterPool(p)
		close(p.stop)
		<-p.forwardDone
		<-p.goodCopyDone
		close(p.events)
		close(p.userEvents)
	})
	if err != nil {
		return fmt.Errorf("gossip: shutdown: %w", err)
	}
	return nil
}

// Members returns every member this agent knows, sorted by name: alive,
// leaving, and failed or left ones until they are reaped.
func (p *Pool) Members() []Member {
	ms := p.serf.Members()
	out := make([]Member, len(ms))
	for i, m := range ms {
		out[i] = fromSerf(m)
	}
	slices.SortFunc(out, func(a, b Member) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Member returns one member by name.
func (p *Pool) Member(name string) (Member, bool) {
	for _, m := range p.serf.Members() {
		if m.Name == name {
			return fromSerf(m), true
		}
	}
	return Member{}, false
}

// LocalMember is this agent's own member entry.
func (p *Pool) LocalMember() Member { return fromSerf(p.serf.LocalMember()) }

// LocalNodeName is this member's name.
func (p *Pool) LocalNodeName() string { return p.cfg.NodeName }

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
	if err := p.serf.SetTags(t); err != nil {
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
	p.infof("force-leave of %q (prune: %v)", node, prune)
	remove := p.serf.RemoveFailedNode
	if prune {
		remove = p.serf.RemoveFailedNodePrune
	}
	if err := remove(node); err != nil {
		return fmt.Errorf("gossip: force-leave of %q: %w", node, err)
	}
	return nil
}

// Coordinate is this member's Vivaldi network coordinate.
func (p *Pool) Coordinate() (*coordinate.Coordinate, error) { return p.serf.GetCoordinate() }

// MemberCoordinate is the last coordinate this member learned for node.
func (p *Pool) MemberCoordinate(node string) (*coordinate.Coordinate, bool) {
	return p.serf.GetCachedCoordinate(node)
}

// Events delivers membership events. The channel is buffered and events
// are dropped (and counted) when it is full. It is closed by Shutdown.
func (p *Pool) Events() <-chan MemberEvent { return p.events }

// UserEvents delivers user events, each once. Same buffering as Events.
func (p *Pool) UserEvents() <-chan UserEvent { return p.userEvents }

// DroppedEvents is how many member and user events were dropped because
// their channel was full.
func (p *Pool) DroppedEvents() uint64 { return p.dropped.Load() }

// forward moves serf's events to Events and UserEvents until Shutdown.
func (p *Pool) forward() {
	defer close(p.forwardDone)
	for {
		select {
		case <-p.stop:
			return
		case e := <-p.serfEvents:
			switch e := e.(type) {
			case serf.MemberEvent:
				for _, m := range e.Members {
					offer(p, p.events, MemberEvent{Type: fromSerfEvent[e.Type], Member: fromSerf(m)}, "member")
				}
			case serf.UserEvent:
				if ue, ok := p.decodeUserEvent(e); ok {
					userEventsTotal.Inc()
					offer(p, p.userEvents, ue, "user")
				}
			}
		}
	}
}

// offer sends without blocking, counting what does not fit.
func offer[T any](p *Pool, ch chan<- T, v T, kind string) {
	select {
	case ch <- v:
	default:
		p.dropped.Add(1)
		eventsDropped.WithLabelValues(kind).Inc()
	}
}
