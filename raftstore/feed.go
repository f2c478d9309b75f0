package raftstore

import (
	"context"
	"sort"
	"sync"

	"github.com/coredns-coord/coredns-coord/state"
)

// Entry is one applied command as the feed keeps it.
type Entry struct {
	Index uint64
	Data  []byte
}

// Feed bounds: how many recent commands a server keeps for subscribers
// that reconnect. A subscriber further behind gets a full snapshot.
// Variables so that tests can lower them.
var (
	feedMaxEntries = 16384
	feedMaxBytes   = 32 << 20
)

// Feed records every command the FSM applies, in order, so that client
// agents can replicate the state: a subscriber that has applied up to index
// i gets the commands after i, or a snapshot when they are gone. Applying
// a command and recording it happen under one lock, so a snapshot taken
// under that lock is exactly the state at Last().
type Feed struct {
	mu      sync.Mutex
	store   *state.Store
	keep    bool
	entries []Entry
	bytes   int
	// floor is the oldest index a subscriber may be at and still be served
	// from entries: every command after floor is in entries.
	floor   uint64
	last    uint64
	changed chan struct{}
}

func newFeed(store *state.Store, keep bool) *Feed {
	return &Feed{store: store, keep: keep, changed: make(chan struct{})}
}

// apply runs fn (the store write for the command at idx) and records the
// command, atomically with respect to Snapshot. When fn reports that the
// command changed nothing it must not change on a replica either (a
// re-send answered from the request records), so the feed records the
// index without the command: an entry with no data.
func (f *Feed) apply(idx uint64, data []byte, fn func() (res any, unchanged bool)) any {
	f.mu.Lock()
	defer f.mu.Unlock()
	res, unchanged := fn()
	if unchanged {
		data = nil
	}
	if f.keep {
		f.entries = append(f.entries, Entry{Index: idx, Data: append([]byte(nil), data...)})
		f.bytes += len(data)
		f.trimLocked()
	}
	f.advanceLocked(idx)
	return res
}

func (f *Feed) trimLocked() {
	drop := 0
	for len(f.entries)-drop > feedMaxEntries || (f.bytes > feedMaxBytes && drop < len(f.entries)) {
		f.bytes -= len(f.entries[drop].Data)
		drop++
	}
	if drop == 0 {
		return
	}
	f.floor = f.entries[drop-1].Index
	// Reslice (the next append that outgrows the array copies only the
	// survivors); clear so that the dropped commands can be freed.
	clear(f.entries[:drop])
	f.entries = f.entries[drop:]
}

func (f *Feed) advanceLocked(idx uint64) {
	if idx > f.last {
		f.last = idx
	}
	close(f.changed)
	f.changed = make(chan struct{})
}

// restore replaces the store's contents with fn (a snapshot restore, which
// returns the index the state is now at) and forgets the recorded
// commands.
func (f *Feed) restore(fn func() (uint64, error)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	idx, err := fn()
	if err != nil {
		return err
	}
	f.entries, f.bytes = nil, 0
	f.floor, f.last = idx, 0
	f.advanceLocked(idx)
	return nil
}

// Last is the index of the last applied command.
func (f *Feed) Last() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}

// Since returns up to max commands after from, the feed's last index, and a
// channel closed on the next command. needSnapshot says that the commands
// after from are gone: the subscriber must start over from Snapshot.
func (f *Feed) Since(from uint64, max int) (entries []Entry, last uint64, changed <-chan struct{}, needSnapshot bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if from < f.floor {
		return nil, f.last, f.changed, true
	}
	// entries are in index order: find the first after from.
	i := sort.Search(len(f.entries), func(i int) bool { return f.entries[i].Index > from })
	end := min(len(f.entries), i+max)
	return append([]Entry(nil), f.entries[i:end]...), f.last, f.changed, false
}

// Snapshot is a point-in-time view of the store and the index it is at.
func (f *Feed) Snapshot() (*state.Snapshot, uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.store.Snapshot(), f.last
}

// WaitFor blocks until the command at idx (or a later one) is applied.
func (f *Feed) WaitFor(ctx context.Context, idx uint64) error {
	for {
		f.mu.Lock()
		last, changed := f.last, f.changed
		f.mu.Unlock()
		if last >= idx {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
