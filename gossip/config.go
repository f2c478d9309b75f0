package gossip

import (
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/serf/serf"
)

// Consul's serf ports.
const (
	DefaultLANPort = 8301
	DefaultWANPort = 8302
)

// UserEventSizeLimit is Consul's limit on a user event's name + payload.
const UserEventSizeLimit = 512

// Config configures a Pool. Zero values take the defaults documented on
// each field.
type Config struct {
	// NodeName is this member's name; it must be unique in the pool. In a
	// WAN pool it is WANMemberName(node, Datacenter).
	NodeName string
	// Datacenter is carried in the "dc" tag. A LAN pool refuses members of
	// another datacenter. Default "dc1".
	Datacenter string
	// PoolName labels metrics and log lines ("lan" by default; "wan" when
	// WAN is set).
	PoolName string
	// WAN makes this a servers' WAN pool (as Consul's): members of every
	// datacenter are accepted, but each one's name must be <node>.<dc> for
	// the dc of its tags. Use DefaultWANTuning and DefaultWANPort with it.
	WAN bool

	// BindAddr is the address to listen on (UDP and TCP). Default 0.0.0.0.
	BindAddr string
	// BindPort is the port to listen on (UDP and TCP): DefaultLANPort
	// (8301) in production; 0 picks a free port (tests).
	BindPort int
	// AdvertiseAddr and AdvertisePort are what other members use to reach
	// this one. Default: the bind address (a private address when bound to
	// 0.0.0.0) and the bound port.
	AdvertiseAddr string
	AdvertisePort int

	// Tags are this member's tags: role ("consul" for servers, "node" for
	// clients), id, port, expect, build, ... The "dc" tag is always set
	// from Datacenter. Encoded, they must fit memberlist's 512-byte meta.
	Tags map[string]string

	// Keyring enables gossip encryption: AES keys of 16, 24 or 32 bytes,
	// the first one is the primary. nil means no encryption.
	Keyring [][]byte
	// KeyringFile persists the keyring (a JSON list of base64 keys, the
	// primary first) so that key operations survive restarts. When the file
	// exists it wins over Keyring (as Consul, with a log line); when it does
	// not and Keyring is set, it is created.
	KeyringFile string
	// SnapshotPath is serf's snapshot (Consul's serf/local.snapshot): the
	// Lamport clocks and the members last seen alive. After a restart the
	// member joins those again by itself and does not replay user events it
	// already delivered. After a Leave it does not rejoin them. Empty: none.
	SnapshotPath string

	// ReconnectTimeout is how long a failed member is kept (status failed)
	// before it is reaped. Default 72h.
	ReconnectTimeout time.Duration
	// ReconnectInterval is how often the pool tries to join a failed
	// member again (serf's default is 30 s, ours is LAN tuned). Default 3s.
	ReconnectInterval time.Duration
	// TombstoneTimeout is how long a left member is kept (status left)
	// before it is reaped. Default 24h.
	TombstoneTimeout time.Duration

	// Tuning holds memberlist's timing parameters. Zero fields take
	// DefaultLANTuning's value.
	Tuning Tuning

	// EventBuffer is the capacity of the Events and UserEvents channels.
	// Default 1024. Events that do not fit are dropped and counted.
	EventBuffer int

	// Logger receives this package's log lines ("[INFO] gossip: ..."),
	// serf's and memberlist's. [DEBUG] lines and memberlist's [INFO] ones
	// are dropped unless LogMemberlistDebug / LogMemberlistInfo is set.
	// Default: the standard logger's output.
	Logger *log.Logger
	// LogMemberlistInfo keeps memberlist's [INFO] lines (and the [DEBUG]
	// ones of serf and memberlist when LogMemberlistDebug is set too).
	LogMemberlistInfo  bool
	LogMemberlistDebug bool
}

// Tuning holds the memberlist parameters that decide how fast failures are
// detected and how fast state spreads. See the package documentation for
// the arithmetic.
type Tuning struct {
	// ProbeInterval is how often each member probes another one.
	ProbeInterval time.Duration
	// ProbeTimeout is how long a direct probe waits for an ack before
	// indirect probes are tried. Should be a few LAN round trips.
	ProbeTimeout time.Duration
	// IndirectChecks is how many members are asked to probe on our behalf.
	IndirectChecks int
	// SuspicionMult scales the suspicion timeout:
	// SuspicionMult * max(1, log10(n)) * ProbeInterval.
	SuspicionMult int
	// SuspicionMaxTimeoutMult is the timeout's upper bound, as a multiple of
	// the minimum, used while no other member confirms the suspicion.
	SuspicionMaxTimeoutMult int
	// AwarenessMaxMultiplier bounds how much a member that thinks it is
	// itself unhealthy slows down its probing.
	AwarenessMaxMultiplier int
	// GossipInterval and GossipNodes: every GossipInterval, queued
	// messages go to GossipNodes random members.
	GossipInterval time.Duration
	GossipNodes    int
	// GossipToTheDeadTime is how long dead members still get gossip (so
	// they can refute) and stay in memberlist's own table.
	GossipToTheDeadTime time.Duration
	// RetransmitMult: each broadcast is sent RetransmitMult * log10(n+1)
	// times by each member that relays it.
	RetransmitMult int
	// PushPullInterval is the period of full state exchanges with a random
	// member (anti-entropy).
	PushPullInterval time.Duration
	// TCPTimeout bounds stream connections (joins, push/pull, queries'
	// answers).
	TCPTimeout time.Duration
	// DeadNodeReclaimTime is how long a failed member's name stays reserved
	// for its old address; after it, an agent with the same name at a new
	// address may take it over (a replaced host).
	DeadNodeReclaimTime time.Duration
	// LeavePropagateDelay is how long Leave keeps the member up after the
	// leave went out, to answer probes while the news spreads.
	LeavePropagateDelay time.Duration
	// QueryTimeoutMult: a key operation waits for answers up to
	// GossipInterval * QueryTimeoutMult * ceil(log10(n+1)).
	QueryTimeoutMult int
}

// DefaultLANTuning returns the LAN tuning: a dead member is declared failed
// in about 1.5 s with 10 members and under 3 s with 100 (see the package
// documentation for the derivation, the measurements and the trade-off).
func DefaultLANTuning() Tuning {
	return Tuning{
		ProbeInterval:           250 * time.Millisecond,
		ProbeTimeout:            125 * time.Millisecond,
		IndirectChecks:          3,
		SuspicionMult:           3,
		SuspicionMaxTimeoutMult: 3,
		AwarenessMaxMultiplier:  8,
		GossipInterval:          100 * time.Millisecond,
		GossipNodes:             3,
		GossipToTheDeadTime:     30 * time.Second,
		RetransmitMult:          4,
		PushPullInterval:        30 * time.Second,
		TCPTimeout:              5 * time.Second,
		DeadNodeReclaimTime:     30 * time.Second,
		LeavePropagateDelay:     500 * time.Millisecond,
		QueryTimeoutMult:        16,
	}
}

// DefaultWANTuning returns memberlist's WAN timing (as Consul's WAN pool):
// 5 s probes with 3 s timeouts, suspicion multiplier 6, 500 ms gossip to 4
// members, 60 s push/pull.
func DefaultWANTuning() Tuning {
	t := DefaultLANTuning()
	t.ProbeInterval, t.ProbeTimeout = 5*time.Second, 3*time.Second
	t.SuspicionMult, t.SuspicionMaxTimeoutMult = 6, 6
	t.GossipInterval, t.GossipNodes = 500*time.Millisecond, 4
	t.GossipToTheDeadTime, t.DeadNodeReclaimTime = 60*time.Second, 60*time.Second
	t.PushPullInterval, t.TCPTimeout = 60*time.Second, 30*time.Second
	t.LeavePropagateDelay = time.Second
	return t
}

// WANMemberName is a server's name in the WAN pool: <node>.<dc>, as Consul.
func WANMemberName(node, dc string) string { return node + "." + dc }

func (t Tuning) withDefaults() Tuning {
	d := DefaultLANTuning()
	dur := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	num := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	dur(&t.ProbeInterval, d.ProbeInterval)
	dur(&t.ProbeTimeout, d.ProbeTimeout)
	num(&t.IndirectChecks, d.IndirectChecks)
	num(&t.SuspicionMult, d.SuspicionMult)
	num(&t.SuspicionMaxTimeoutMult, d.SuspicionMaxTimeoutMult)
	num(&t.AwarenessMaxMultiplier, d.AwarenessMaxMultiplier)
	dur(&t.GossipInterval, d.GossipInterval)
	num(&t.GossipNodes, d.GossipNodes)
	dur(&t.GossipToTheDeadTime, d.GossipToTheDeadTime)
	num(&t.RetransmitMult, d.RetransmitMult)
	dur(&t.PushPullInterval, d.PushPullInterval)
	dur(&t.TCPTimeout, d.TCPTimeout)
	dur(&t.DeadNodeReclaimTime, d.DeadNodeReclaimTime)
	dur(&t.LeavePropagateDelay, d.LeavePropagateDelay)
	num(&t.QueryTimeoutMult, d.QueryTimeoutMult)
	return t
}

func (c Config) withDefaults() (Config, error) {
	if c.NodeName == "" {
		h, err := os.Hostname()
		if err != nil || h == "" {
			return c, fmt.Errorf("gossip: NodeName is required")
		}
		c.NodeName = h
	}
	if c.Datacenter == "" {
		c.Datacenter = "dc1"
	}
	if c.WAN && !strings.HasSuffix(c.NodeName, "."+c.Datacenter) {
		return c, fmt.Errorf("gossip: a WAN member's name must be <node>.<dc>: %q does not end in %q", c.NodeName, "."+c.Datacenter)
	}
	if c.PoolName == "" {
		c.PoolName = map[bool]string{false: "lan", true: "wan"}[c.WAN]
	}
	if c.BindAddr == "" {
		c.BindAddr = "0.0.0.0"
	}
	if c.BindPort < 0 || c.BindPort > 65535 || c.AdvertisePort < 0 || c.AdvertisePort > 65535 {
		return c, fmt.Errorf("gossip: port out of range")
	}
	if c.ReconnectTimeout <= 0 {
		c.ReconnectTimeout = 72 * time.Hour
	}
	if c.TombstoneTimeout <= 0 {
		c.TombstoneTimeout = 24 * time.Hour
	}
	if c.ReconnectInterval <= 0 {
		c.ReconnectInterval = 3 * time.Second
	}
	if c.EventBuffer <= 0 {
		c.EventBuffer = 1024
	}
	if c.Logger == nil {
		c.Logger = log.New(log.Writer(), "", log.LstdFlags)
	}
	c.Tuning = c.Tuning.withDefaults()
	return c, nil
}

// serfConfig is serf's configuration for this pool; the caller adds the
// event channel, the merge delegate and the keyring.
func (c Config) serfConfig(tags map[string]string) *serf.Config {
	t := c.Tuning
	sc := serf.DefaultConfig()
	sc.NodeName = c.NodeName
	sc.Tags = tags
	sc.LeavePropagateDelay = t.LeavePropagateDelay
	sc.ReconnectInterval = c.ReconnectInterval
	sc.ReconnectTimeout = c.ReconnectTimeout
	sc.TombstoneTimeout = c.TombstoneTimeout
	// Reap often enough that short timeouts (tests) are honoured.
	sc.ReapInterval = max(50*time.Millisecond, min(15*time.Second, c.ReconnectTimeout/4, c.TombstoneTimeout/4))
	sc.QueryTimeoutMult = t.QueryTimeoutMult
	sc.SnapshotPath = c.SnapshotPath
	sc.KeyringFile = c.KeyringFile
	// A name conflict is refused (merge delegate, memberlist); serf's
	// resolution would shut down the member that loses a vote instead.
	sc.EnableNameConflictResolution = false
	// Room for the event ID that UserEvent prepends to the payload; the
	// 512-byte limit is checked on name + payload before.
	sc.UserEventSizeLimit = UserEventSizeLimit + 128
	sc.LogOutput = nil
	sc.Logger = newLibraryLogger(c, false)

	mc := sc.MemberlistConfig
	mc.BindAddr = c.BindAddr
	mc.BindPort = c.BindPort
	mc.AdvertiseAddr = c.AdvertiseAddr
	mc.AdvertisePort = c.AdvertisePort
	if mc.AdvertisePort == 0 {
		mc.AdvertisePort = c.BindPort
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
	mc.LogOutput = nil
	mc.Logger = newLibraryLogger(c, true)
	return sc
}
