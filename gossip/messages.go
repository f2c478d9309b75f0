package gossip

import (
	"bytes"
	"fmt"
	"sync/atomic"

	"github.com/hashicorp/go-msgpack/v2/codec"
	"github.com/hashicorp/memberlist"
)

// Our messages ride in memberlist user messages (gossip broadcasts,
// push/pull state, reliable sends): one type byte, then msgpack.
type msgType uint8

const (
	msgJoinIntent msgType = iota + 1
	msgLeaveIntent
	msgUserEvent
	msgQuery
	msgQueryResponse
	msgPushPull
)

// joinIntent says that Node was alive at LTime; it cancels older leave
// intents.
type joinIntent struct {
	LTime uint64
	Node  string
}

// leaveIntent says that Node leaves (graceful leave, or force-leave when
// sent by another member) at LTime. Prune asks members to forget it at once.
type leaveIntent struct {
	LTime uint64
	Node  string
	Prune bool
}

type userEventMsg struct {
	LTime   uint64
	ID      string
	Name    string
	Payload []byte
}

// Key operations.
const (
	opListKeys uint8 = iota + 1
	opInstallKey
	opUseKey
	opRemoveKey
)

// queryMsg asks every member to run Op and answer to From (Addr:Port) with
// a queryResponse over a reliable (TCP, encrypted) stream.
type queryMsg struct {
	ID   string
	From string
	Addr []byte
	Port uint16
	Op   uint8
	Key  []byte
}

type queryResponse struct {
	ID      string
	From    string
	Err     string
	Keys    []string // base64, for every op
	Primary string
}

// pushPull is our part of memberlist's periodic full state exchange.
type pushPull struct {
	LTime        uint64
	EventLTime   uint64
	StatusLTimes map[string]uint64
	Left         []string
	// Events are the most recent user events, as serf sends them: a
	// member that missed one by gossip gets it at the next exchange.
	Events []userEventMsg
}

var msgpackHandle = &codec.MsgpackHandle{}

func encodeMsg(t msgType, v any) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte(byte(t))
	if err := codec.NewEncoder(&buf, msgpackHandle).Encode(v); err != nil {
		return nil, fmt.Errorf("gossip: encoding message %d: %w", t, err)
	}
	return buf.Bytes(), nil
}

func decodeMsg(b []byte, v any) error {
	return codec.NewDecoderBytes(b, msgpackHandle).Decode(v)
}

// lamport is a Lamport clock.
type lamport struct{ v atomic.Uint64 }

// Time is the current time.
func (c *lamport) Time() uint64 { return c.v.Load() }

// Next returns the current time and advances the clock.
func (c *lamport) Next() uint64 { return c.v.Add(1) - 1 }

// Witness moves the clock past t.
func (c *lamport) Witness(t uint64) {
	for {
		cur := c.v.Load()
		if t < cur || c.v.CompareAndSwap(cur, t+1) {
			return
		}
	}
}

// recentIDs remembers the last max IDs seen (dedupe of user events and
// queries). Not safe for concurrent use.
type recentIDs struct {
	max  int
	ring []string
	pos  int
	set  map[string]struct{}
}

func newRecentIDs(max int) *recentIDs {
	return &recentIDs{max: max, ring: make([]string, max), set: make(map[string]struct{}, max)}
}

// add records id and reports whether it is new.
func (r *recentIDs) add(id string) bool {
	if _, ok := r.set[id]; ok {
		return false
	}
	if old := r.ring[r.pos]; old != "" {
		delete(r.set, old)
	}
	r.ring[r.pos] = id
	r.pos = (r.pos + 1) % r.max
	r.set[id] = struct{}{}
	return true
}

// broadcast is a message in one of our TransmitLimitedQueues. A non-empty
// key makes a broadcast replace queued ones with the same key and an older
// or equal Lamport time (intents about the same member); an older intent
// queued later does not replace a newer one.
type broadcast struct {
	key    string
	ltime  uint64
	msg    []byte
	notify chan struct{}
}

var _ memberlist.Broadcast = (*broadcast)(nil)

func (b *broadcast) Invalidates(other memberlist.Broadcast) bool {
	o, ok := other.(*broadcast)
	return ok && b.key != "" && b.key == o.key && b.ltime >= o.ltime
}

func (b *broadcast) Message() []byte { return b.msg }

func (b *broadcast) Finished() {
	if b.notify != nil {
		close(b.notify)
	}
}
