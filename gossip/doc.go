// Package gossip runs the LAN membership pool every agent joins: a
// hashicorp/memberlist pool plus the small part of serf that Consul relies
// on, written here on top of memberlist:
//
//   - member status alive / leaving / left / failed, telling a graceful leave
//     from a failure (see "Leave or failure" below);
//   - tags (role, dc, id, port, ...) carried in memberlist's node meta and
//     propagated by SetTags;
//   - refusal of members of another datacenter and of a second agent that
//     uses an existing member's name;
//   - reaping: failed members are forgotten after ReconnectTimeout, left
//     members after TombstoneTimeout (EventReap), and ForceLeave;
//   - user events, delivered once to every member;
//   - a gossip encryption keyring with cluster-wide install / use / remove /
//     list operations and an optional keyring file that survives restarts.
//
// # Failure detection and the LAN tuning
//
// Memberlist (SWIM with the Lifeguard extensions) detects a dead member in
// three steps:
//
//  1. Every ProbeInterval each member probes one other member (round robin
//     over a shuffled list). With n members, some member probes the dead one
//     after about one ProbeInterval on average.
//  2. The probe fails: no ack within ProbeTimeout, then indirect probes through
//     IndirectChecks other members and a TCP fallback, all bounded by the end
//     of the probe interval. The prober marks the member suspect about one
//     ProbeInterval after it started.
//  3. The suspicion times out and the member is declared dead, unless it
//     refutes in time. The timeout is
//     min = SuspicionMult * max(1, log10(n)) * ProbeInterval, and starts at
//     max = SuspicionMaxTimeoutMult * min; each independent confirmation (an
//     other member that also suspects it) brings it down towards min, which
//     it reaches after SuspicionMult-2 confirmations (Lifeguard). The dead
//     message then spreads by gossip every GossipInterval to GossipNodes
//     members, in O(log n) rounds.
//
// So time-to-failed ≈ 2 * ProbeInterval + min + a few GossipIntervals.
// Memberlist's LAN defaults (1 s probe interval, 500 ms probe timeout,
// suspicion multiplier 4, 200 ms gossip interval) give about 6 s for 10
// members and 10 s for 100 (measured as below; Consul: 5-15 s). DefaultLANTuning
// uses ProbeInterval 250 ms, ProbeTimeout 125 ms, SuspicionMult 3,
// SuspicionMaxTimeoutMult 3, GossipInterval 100 ms, GossipNodes 3,
// IndirectChecks 3:
//
//	n ≤ 10:  2*0.25 s + 3*1*0.25 s = 1.25 s, plus gossip ≈ 1.4 s
//	n = 100: 2*0.25 s + 3*2*0.25 s = 2.0 s, plus gossip ≈ 2.3 s
//
// Measured on loopback with BenchmarkFailureDetection (all members in one
// process on 2 shared cores; time until every other member has declared the
// stopped one failed): 10 members 1.3-1.4 s on average, 2.0 s at worst over
// 20 runs; 100 members 2.2-2.4 s on average, 2.7 s at worst over 10 runs; no
// false failures.
//
// The trade-off: a member that cannot answer for about a second (a long GC
// pause, a saturated CPU, a congested link) is more likely to be declared
// failed and then come back (a flap: EventFailed then EventJoin), and each
// member sends four pings a second instead of one (about 100 bytes each,
// with their acks under 1 KB/s per member; broadcasts are unchanged).
// Lifeguard keeps false alarms in check: a member that sees its own probes
// go unanswered (a sign that it, not its peer, is slow) scales its probe
// interval and timeout up to AwarenessMaxMultiplier times, and with more
// than SuspicionMult-1 members the suspicion timer only drops to its minimum
// once another member independently confirms the suspicion; without a
// confirmation (a single prober, a partial partition) it waits up to
// SuspicionMaxTimeoutMult * min (2.25 s for 10 members, 4.5 s for 100). On
// lossy or overloaded networks use memberlist's LAN values (Tuning fields:
// 1 s, 500 ms, 4, 6, 200 ms).
//
// # Leave or failure
//
// Memberlist reports both a graceful leave and a death through
// EventDelegate.NotifyLeave. Its internal state knows the difference (a
// "dead" message sent by the node about itself means "left"), but v0.7.0
// does not expose it: the Node passed to NotifyLeave carries the zero
// State (the internal nodeState.State field shadows Node.State). So, as
// serf does, Leave first broadcasts a leave intent (with a Lamport time) and
// waits for it to go out, then calls memberlist's Leave, then stays up for
// LeavePropagateDelay to answer probes. A member that receives the intent
// marks the leaver "leaving"; when memberlist then reports it gone it
// becomes "left" (EventLeave). A member that goes away without an intent
// becomes "failed" (EventFailed). An intent that arrives after the failure
// (rare; gossip reordering) turns failed into left with an EventLeave.
// Intents about members not yet known are kept for a while and applied when
// the member shows up; a member that left and came back refutes stale leave
// intents about itself with a newer join intent; push/pull exchanges the
// status times and the list of left members so that late members converge.
// ForceLeave broadcasts a leave intent on behalf of a failed member.
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
// User events are sent with a random ID and a Lamport time, spread by
// gossip (each member re-gossips an event the first time it sees it), and
// delivered once per member: IDs of recent events are remembered in a
// bounded buffer (the last 4096 IDs). Like Consul, an agent that joins
// ignores events older than the event clock of the member it joined
// through (an event fired concurrently with the join by a member whose
// clock lags may be ignored by the joiner too; serf behaves the same).
//
// # Encryption
//
// With a keyring, memberlist encrypts every packet and stream with the
// primary key (AES-GCM) and accepts any installed key; unencrypted traffic is
// refused. Key operations are queries: the originating member applies the
// operation, gossips it (encrypted with the current primary key) and waits
// for every alive member to answer over an encrypted TCP stream, up to the
// query timeout. A rotation is InstallKey(new), UseKey(new),
// RemoveKey(old), each checked with ListKeys.
package gossip
