// Package gossip runs the gossip pools every agent joins: a thin layer over
// hashicorp/serf (itself over memberlist), as Consul's. Serf gives member
// status alive / leaving / left / failed (a graceful leave, announced by a
// Lamport-ordered leave intent, is not a failure), tags, reaping of failed
// members after ReconnectTimeout and of left ones after TombstoneTimeout,
// reconnection to failed members, force-leave, user events, the keyring
// queries, Vivaldi network coordinates and the snapshot a restarted member
// rejoins from. This package adds:
//
//   - the refusals, as serf's merge delegate: members of another datacenter
//     (in a LAN pool; a WAN pool takes every datacenter but wants member
//     names <node>.<dc>), and a second agent using an existing member's name;
//   - event channels that never block serf (see Events below);
//   - a unique ID in each user event, and the 512-byte limit;
//   - the keyring file loaded at start (serf saves it after each change,
//     in place: a good copy beside it, written atomically, covers a crash
//     in the middle of that write);
//   - the LAN tuning below, logs in CoreDNS's format, and metrics.
//
// # Failure detection and the LAN tuning
//
// Memberlist (SWIM with Lifeguard) declares a member dead when some member's
// probe of it fails (each member probes one other every ProbeInterval, with
// ProbeTimeout for the ack, then IndirectChecks members and TCP) and the
// suspicion times out: min = SuspicionMult * max(1, log10(n)) *
// ProbeInterval, from SuspicionMaxTimeoutMult * min down to min as other
// members confirm it. The news spreads every GossipInterval to GossipNodes
// members. So time-to-failed ≈ 2 * ProbeInterval + min + a few gossip rounds:
// with memberlist's LAN defaults (1 s, 500 ms, 4, 200 ms) about 6 s for 10
// members and 10 s for 100 (Consul: 5-15 s); with DefaultLANTuning (250 ms,
// 125 ms, SuspicionMult 3, SuspicionMaxTimeoutMult 3, 100 ms to 3 members)
// about 1.4 s for 10 and 2.3 s for 100, as BenchmarkFailureDetection
// measures. The cost: a member that cannot answer for about a second (GC
// pause, saturated CPU or link) flaps more easily (EventFailed then
// EventJoin), and each member sends four pings a second (under 1 KB/s).
// Lifeguard limits false alarms: a member whose own probes go unanswered
// slows down (up to AwarenessMaxMultiplier), and an unconfirmed suspicion
// lasts SuspicionMaxTimeoutMult * min. On lossy or overloaded networks use
// memberlist's LAN values.
//
// # Events
//
// Events and UserEvents are buffered channels (Config.EventBuffer). Gossip
// never waits for a reader: when a channel is full the event is dropped and
// counted (Pool.DroppedEvents, coredns_coord_gossip_events_dropped_total).
// Members() is always the authoritative view; consumers that may fall behind
// should reconcile against it. Events about the local member are delivered
// too (its own join at Create, its updates, its leave).
//
// Serf delivers a user event once per member (it remembers the events of
// the last 512 Lamport times) and hands recent events on at push/pull. The
// payload on the wire carries a random ID first, since serf tells events
// apart by time, name and payload only. Like Consul, Join ignores the
// events the members joined had already seen, and with a snapshot a
// restarted member does not deliver again those it had.
//
// # Encryption
//
// With a keyring, memberlist encrypts every packet and stream with the
// primary key (AES-GCM) and accepts any installed key; unencrypted traffic is
// refused. Key operations are serf's key manager queries, answered by every
// alive member within the query timeout. A rotation is KeyInstall (new),
// KeyUse (new), KeyRemove (old), each checked with KeyList.
package gossip
