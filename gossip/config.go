package gossip

import (
	"fmt"
	"log"
	"os"
	"reflect"
	"strings"
	"time"

	"github.com/hashicorp/serf/serf"
)

// Consul's serf ports, and its limit on a user event's name + payload.
const (
	DefaultLANPort     = 8301
	DefaultWANPort     = 8302
	UserEventSizeLimit = 512
)

// Config configures a Pool. Zero values take the defaults given.
type Config struct {
	// NodeName must be unique in the pool; in a WAN pool it is
	// WANMemberName(node, Datacenter).
	NodeName string
	// Datacenter goes in the "dc" tag; a LAN pool refuses members of
	// another one. Default "dc1".
	Datacenter string
	// WAN makes this a servers' WAN pool (as Consul's): members of every
	// datacenter, each named <node>.<dc> for the dc of its tags. Use
	// DefaultWANTuning and DefaultWANPort with it.
	WAN bool

	// BindAddr and BindPort are where to listen (UDP and TCP); default
	// 0.0.0.0, and port 0 picks a free one (tests). AdvertiseAddr and
	// AdvertisePort are what other members dial; default the bind address
	// (a private address when bound to 0.0.0.0) and the bound port.
	BindAddr      string
	BindPort      int
	AdvertiseAddr string
	AdvertisePort int

	// Tags: role ("consul" for servers, "node" for clients), id, port, ...
	// The "dc" tag is set from Datacenter. Encoded, they must fit in 512
	// bytes (memberlist's node meta).
	Tags map[string]string

	// Keyring enables encryption: AES keys of 16, 24 or 32 bytes, the
	// primary first. KeyringFile persists it (a JSON list of base64 keys,
	// the primary first) across key operations and restarts: when the file
	// exists it wins over Keyring (as Consul); else Keyring creates it.
	Keyring     [][]byte
	KeyringFile string
	// SnapshotPath is serf's snapshot (Consul's serf/local.snapshot): the
	// Lamport clocks and the members last seen alive. After a restart the
	// member rejoins those by itself and does not deliver again the user
	// events it had delivered; after a Leave it does not rejoin them.
	SnapshotPath string

	// ReconnectTimeout: a failed member is reaped after it (default 72h);
	// TombstoneTimeout: a left one (default 24h). ReconnectInterval is how
	// often serf tries to join a failed member again (default 3s; serf's
	// is 30s).
	ReconnectTimeout  time.Duration
	TombstoneTimeout  time.Duration
	ReconnectInterval time.Duration

	// Tuning: zero fields take DefaultLANTuning's value.
	Tuning Tuning

	// EventBuffer is the capacity of the Events and UserEvents channels
	// (default 1024); events that do not fit are dropped and counted.
	EventBuffer int

	// Logger gets this package's lines and serf's and memberlist's, with
	// CoreDNS's level tags, but not their [DEBUG] lines nor memberlist's
	// [INFO] ones. Default: the standard logger's output.
	Logger *log.Logger
}

// Tuning holds the timing that decides how fast failures are detected and
// how fast state spreads. The fields are memberlist's (and serf's, for
// LeavePropagateDelay and QueryTimeoutMult) of the same name; the package
// documentation explains the ones that set the failure detection time.
type Tuning struct {
	ProbeInterval, ProbeTimeout time.Duration
	IndirectChecks              int
	SuspicionMult               int
	SuspicionMaxTimeoutMult     int
	AwarenessMaxMultiplier      int
	GossipInterval              time.Duration
	GossipNodes                 int
	// GossipToTheDeadTime: dead members still get gossip (to refute) and
	// stay in memberlist's table this long.
	GossipToTheDeadTime time.Duration
	RetransmitMult      int
	PushPullInterval    time.Duration
	TCPTimeout          time.Duration
	// DeadNodeReclaimTime: a failed member's name stays reserved for its
	// address this long; then another address may take it (a new host).
	DeadNodeReclaimTime time.Duration
	// LeavePropagateDelay: Leave keeps answering probes this long after
	// the leave went out, while the news spreads.
	LeavePropagateDelay time.Duration
	// QueryTimeoutMult: key operations wait for answers up to
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

// poolName labels metrics and log lines.
func (c Config) poolName() string { return map[bool]string{false: "lan", true: "wan"}[c.WAN] }

// withDefaults fills the zero (or negative) fields from DefaultLANTuning.
func (t Tuning) withDefaults() Tuning {
	v, def := reflect.ValueOf(&t).Elem(), reflect.ValueOf(DefaultLANTuning())
	for i := range v.NumField() {
		if v.Field(i).Int() <= 0 {
			v.Field(i).Set(def.Field(i))
		}
	}
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
	sc := serf.DefaultConfig()
	sc.NodeName = c.NodeName
	sc.Tags = tags
	sc.ReconnectInterval = c.ReconnectInterval
	sc.ReconnectTimeout = c.ReconnectTimeout
	sc.TombstoneTimeout = c.TombstoneTimeout
	// Reap often enough that short timeouts (tests) are honoured.
	sc.ReapInterval = max(50*time.Millisecond, min(15*time.Second, c.ReconnectTimeout/4, c.TombstoneTimeout/4))
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
	// Each Tuning field sets memberlist's, or else serf's, of that name.
	t := reflect.ValueOf(c.Tuning)
	for i := range t.NumField() {
		name := t.Type().Field(i).Name
		f := reflect.ValueOf(mc).Elem().FieldByName(name)
		if !f.IsValid() {
			f = reflect.ValueOf(sc).Elem().FieldByName(name)
		}
		f.Set(t.Field(i))
	}
	mc.LogOutput = nil
	mc.Logger = newLibraryLogger(c, true)
	return sc
}
