package raftstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/coredns-coord/coredns-coord/state"
	"github.com/coredns-coord/coredns-coord/structs"
)

// encode frames a command or fails the test.
func encode(t testing.TB, ct CommandType, req any) []byte {
	t.Helper()
	buf, err := EncodeCommand(ct, structs.NewRequestID(), req)
	if err != nil {
		t.Fatal(err)
	}
	return buf
}

func kvSet(t testing.TB, key, value string) []byte {
	return encode(t, KVCommand, &structs.KVRequest{Op: structs.KVSet, DirEnt: structs.DirEntry{Key: key, Value: []byte(value)}})
}

// applyAt applies data as the command at idx, as Raft would.
func applyAt(f *FSM, idx uint64, data []byte) any {
	return f.Apply(&raft.Log{Index: idx, Term: 1, Type: raft.LogCommand, Data: data})
}

// newServerFSM is a server's FSM (its feed keeps commands) with the
// commands 1..n applied, each a KV set of k<i>.
func newServerFSM(t testing.TB, n int) *FSM {
	t.Helper()
	f := NewFSM(state.NewStore(), true)
	for i := 1; i <= n; i++ {
		if res := applyAt(f, uint64(i), kvSet(t, fmt.Sprintf("k%d", i), "v")); res != true {
			t.Fatalf("apply %d: %v", i, res)
		}
	}
	return f
}

// feedLimits lowers the feed's bounds for one test.
func feedLimits(t testing.TB, entries, bytes int) {
	oldEntries, oldBytes := feedMaxEntries, feedMaxBytes
	feedMaxEntries, feedMaxBytes = entries, bytes
	t.Cleanup(func() { feedMaxEntries, feedMaxBytes = oldEntries, oldBytes })
}

func indexes(es []Entry) []uint64 {
	out := []uint64{}
	for _, e := range es {
		out = append(out, e.Index)
	}
	return out
}

func equalIndexes(a []uint64, b ...uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestFeedSince(t *testing.T) {
	f := newServerFSM(t, 10)
	feed := f.Feed()
	if feed.Last() != 10 {
		t.Fatalf("Last %d, want 10", feed.Last())
	}
	for _, tc := range []struct {
		from uint64
		max  int
		want []uint64
	}{
		{0, 100, []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
		{5, 100, []uint64{6, 7, 8, 9, 10}},
		{5, 2, []uint64{6, 7}},
		{0, 1, []uint64{1}},
		{9, 100, []uint64{10}},
		{10, 100, []uint64{}},
		// A subscriber ahead of this server (it followed another one)
		// waits for it to catch up.
		{50, 100, []uint64{}},
		{3, 0, []uint64{}},
	} {
		entries, last, changed, need := feed.Since(tc.from, tc.max)
		if need || last != 10 || !equalIndexes(indexes(entries), tc.want...) {
			t.Errorf("Since(%d, %d) = %v, last %d, needSnapshot %v; want %v", tc.from, tc.max, indexes(entries), last, need, tc.want)
		}
		if isClosed(changed) {
			t.Errorf("Since(%d, %d): changed is closed before any new command", tc.from, tc.max)
		}
	}
	// The entries carry the commands as applied (the request IDs differ).
	entries, _, _, _ := feed.Since(6, 1)
	if !bytes.Equal(entries[0].Data[framedHeader:], kvSet(t, "k7", "v")[framedHeader:]) {
		t.Errorf("entry 7 holds %q", entries[0].Data)
	}

	// Batching: a subscriber walks the whole feed max entries at a time.
	var got []uint64
	for from := uint64(0); ; {
		entries, _, _, _ := feed.Since(from, 3)
		if len(entries) == 0 {
			break
		}
		if len(entries) > 3 {
			t.Fatalf("batch of %d, max 3", len(entries))
		}
		got = append(got, indexes(entries)...)
		from = entries[len(entries)-1].Index
	}
	if !equalIndexes(got, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10) {
		t.Errorf("batched walk: %v", got)
	}

	// The next command closes the channel handed out before it.
	_, _, changed, _ := feed.Since(10, 100)
	applyAt(f, 11, kvSet(t, "k11", "v"))
	if !isClosed(changed) {
		t.Error("changed not closed by the next command")
	}
	if entries, last, _, _ := feed.Since(10, 100); last != 11 || !equalIndexes(indexes(entries), 11) {
		t.Errorf("after command 11: %v, last %d", indexes(entries), last)
	}
}

// Entries returned by Since are the subscriber's: a later command does
// not change a batch already handed out.
func TestFeedSinceReturnsACopy(t *testing.T) {
	f := newServerFSM(t, 3)
	entries, _, _, _ := f.Feed().Since(0, 10)
	entries[0] = Entry{Index: 99}
	applyAt(f, 4, kvSet(t, "k4", "v"))
	again, _, _, _ := f.Feed().Since(0, 10)
	if !equalIndexes(indexes(again), 1, 2, 3, 4) {
		t.Errorf("feed changed through a returned slice: %v", indexes(again))
	}
}

// Raft entries that are not commands (no-ops, configuration changes) do
// not appear in the feed and do not move its index.
func TestFeedSkipsNonCommands(t *testing.T) {
	f := newServerFSM(t, 2)
	f.Apply(&raft.Log{Index: 3, Type: raft.LogNoop})
	f.Apply(&raft.Log{Index: 4, Type: raft.LogConfiguration, Data: []byte("conf")})
	if f.Feed().Last() != 2 {
		t.Errorf("Last %d after non-commands, want 2", f.Feed().Last())
	}
	applyAt(f, 5, kvSet(t, "k5", "v"))
	entries, last, _, need := f.Feed().Since(2, 10)
	if need || last != 5 || !equalIndexes(indexes(entries), 5) {
		t.Errorf("Since(2) = %v, last %d, needSnapshot %v", indexes(entries), last, need)
	}
}

// Commands the FSM refuses or cannot decode are still recorded: the
// subscriber's copy must see them to stay at the servers' index.
func TestFeedRecordsRefusedCommands(t *testing.T) {
	f := newServerFSM(t, 1)
	cas := encode(t, KVCommand, &structs.KVRequest{Op: structs.KVCAS, DirEnt: structs.DirEntry{Key: "k1", Value: []byte("x")}})
	if res := applyAt(f, 2, cas); res != false {
		t.Fatalf("CAS on an existing key: %v", res)
	}
	if err, _ := applyAt(f, 3, []byte{200, '{', '}'}).(error); !errors.Is(err, ErrUndecodable) {
		t.Fatalf("unknown command: %v", err)
	}
	if entries, last, _, _ := f.Feed().Since(1, 10); last != 3 || !equalIndexes(indexes(entries), 2, 3) {
		t.Errorf("Since(1) = %v, last %d", indexes(entries), last)
	}
}

func TestFeedTrimsByEntries(t *testing.T) {
	feedLimits(t, 4, 1<<20)
	f := newServerFSM(t, 10)
	feed := f.Feed()
	// Commands 7..10 are kept; a subscriber at 6 or later is served.
	for from := uint64(6); from <= 10; from++ {
		entries, last, _, need := feed.Since(from, 100)
		var want []uint64
		for i := from + 1; i <= 10; i++ {
			want = append(want, i)
		}
		if need || last != 10 || !equalIndexes(indexes(entries), want...) {
			t.Errorf("Since(%d) = %v, last %d, needSnapshot %v; want %v", from, indexes(entries), last, need, want)
		}
	}
	// Anyone further behind must start over from a snapshot.
	for _, from := range []uint64{0, 1, 5} {
		entries, last, _, need := feed.Since(from, 100)
		if !need || entries != nil || last != 10 {
			t.Errorf("Since(%d) = %v, last %d, needSnapshot %v; want a snapshot", from, indexes(entries), last, need)
		}
	}
}

func TestFeedTrimsByBytes(t *testing.T) {
	// Each command is about 60 bytes: 200 bytes keep three of them.
	size := len(kvSet(t, "k10", "v"))
	feedLimits(t, 1000, 3*size+size/2)
	f := newServerFSM(t, 12)
	if entries, _, _, need := f.Feed().Since(9, 100); need || !equalIndexes(indexes(entries), 10, 11, 12) {
		t.Errorf("Since(9) = %v, needSnapshot %v", indexes(entries), need)
	}
	if _, _, _, need := f.Feed().Since(8, 100); !need {
		t.Error("Since(8): commands beyond the byte budget are still served")
	}
	// A single command larger than the whole budget leaves nothing to
	// serve but the snapshot; the feed still moves on.
	big := kvSet(t, "big", string(make([]byte, 4*size)))
	applyAt(f, 13, big)
	if entries, last, _, need := f.Feed().Since(12, 100); !need || last != 13 || len(entries) != 0 {
		t.Errorf("after an oversized command: %v, last %d, needSnapshot %v", indexes(entries), last, need)
	}
	applyAt(f, 14, kvSet(t, "k14", "v"))
	if entries, _, _, need := f.Feed().Since(13, 100); need || !equalIndexes(indexes(entries), 14) {
		t.Errorf("Since(13) = %v, needSnapshot %v", indexes(entries), need)
	}
}

// A replica (its feed keeps nothing) only tracks its index.
func TestReplicaFeedKeepsNothing(t *testing.T) {
	r := NewReplica()
	for i := uint64(1); i <= 3; i++ {
		if err := r.Apply(i, kvSet(t, fmt.Sprintf("k%d", i), "v")); err != nil {
			t.Fatal(err)
		}
	}
	if entries, last, _, _ := r.Feed().Since(0, 10); len(entries) != 0 || last != 3 {
		t.Errorf("replica feed: %v, last %d", indexes(entries), last)
	}
}

// dump is everything a reader can see in a store, indexes included.
func dump(t testing.TB, s *state.Store) string {
	t.Helper()
	var out struct {
		NodesIdx, ServicesIdx, KVIdx, SessionsIdx uint64
		Nodes                                     []*structs.Node
		Services                                  []*structs.ServiceNode
		KV                                        []*structs.DirEntry
		Sessions                                  []*structs.Session
		Checks                                    structs.HealthChecks
		CatalogIndex, LastIndex                   uint64
	}
	var err error
	if out.NodesIdx, out.Nodes, err = s.Nodes(nil); err != nil {
		t.Fatal(err)
	}
	if out.ServicesIdx, out.Services, err = s.AllServiceNodes(nil); err != nil {
		t.Fatal(err)
	}
	if out.KVIdx, out.KV, err = s.KVList(nil, ""); err != nil {
		t.Fatal(err)
	}
	if out.SessionsIdx, out.Sessions, err = s.SessionList(nil); err != nil {
		t.Fatal(err)
	}
	for _, n := range out.Nodes {
		_, checks, err := s.NodeChecks(nil, n.Node)
		if err != nil {
			t.Fatal(err)
		}
		out.Checks = append(out.Checks, checks...)
	}
	// Not s.CatalogIndex(): a write commit counts session changes in it,
	// a restore only the catalog tables, so it is not a function of the
	// state alone.
	out.CatalogIndex, out.LastIndex = s.MaxIndex(state.TableNodes, state.TableServices, state.TableChecks), s.LastIndex()
	buf, err := json.MarshalIndent(out, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(buf)
}

// workload is a mix of every command kind, refusals included, for writer
// w's i-th step.
func workload(w, i int) (CommandType, any) {
	node := fmt.Sprintf("node-%d", w)
	sess := fmt.Sprintf("00000000-0000-0000-0000-%04d%08d", w, i)
	switch i % 7 {
	case 0:
		return RegisterCommand, &structs.RegisterRequest{Node: node, Address: fmt.Sprintf("10.0.%d.%d", w, i%250+1),
			Service: &structs.NodeService{ID: fmt.Sprintf("web-%d", i%3), Service: "web", Port: 8000 + i},
			Check:   &structs.HealthCheck{Node: node, CheckID: "serfHealth", Name: "Serf", Status: structs.HealthPassing}}
	case 1:
		return KVCommand, &structs.KVRequest{Op: structs.KVSet, DirEnt: structs.DirEntry{Key: fmt.Sprintf("w%d/k%d", w, i%5), Value: []byte(fmt.Sprint(i))}}
	case 2:
		// Refused: the key exists (or is missing and CAS index is set).
		return KVCommand, &structs.KVRequest{Op: structs.KVCAS, DirEnt: structs.DirEntry{Key: fmt.Sprintf("w%d/k%d", w, (i-1)%5), Value: []byte("cas"), RaftIndex: structs.RaftIndex{ModifyIndex: 1}}}
	case 3:
		return SessionCommand, &structs.SessionRequest{Op: structs.SessionCreate, Session: structs.Session{ID: sess, Node: node, Behavior: "release"}}
	case 4:
		return KVCommand, &structs.KVRequest{Op: structs.KVLock, DirEnt: structs.DirEntry{Key: fmt.Sprintf("w%d/lock", w), Value: []byte("held"),
			Session: fmt.Sprintf("00000000-0000-0000-0000-%04d%08d", w, i-1)}}
	case 5:
		return KVCommand, &structs.KVRequest{Op: structs.KVDelete, DirEnt: structs.DirEntry{Key: fmt.Sprintf("w%d/k%d", w, (i+2)%5)}}
	default:
		return SessionCommand, &structs.SessionRequest{Op: structs.SessionDestroy, Session: structs.Session{ID: fmt.Sprintf("00000000-0000-0000-0000-%04d%08d", w, i-3)}}
	}
}

// catchUp feeds r every command after from, batch at a time, as a
// subscription does.
func catchUp(t testing.TB, r *Replica, feed *Feed, from uint64, batch int) {
	t.Helper()
	for {
		entries, _, _, need := feed.Since(from, batch)
		if need {
			t.Fatalf("Since(%d) wants a snapshot", from)
		}
		if len(entries) == 0 {
			return
		}
		for _, e := range entries {
			if err := r.Apply(e.Index, e.Data); err != nil {
				t.Fatal(err)
			}
		}
		from = entries[len(entries)-1].Index
	}
}

// A snapshot taken while writes run is exactly the state at the index it
// reports: a replica restored from it and fed the commands after that index
// ends up equal to the server, whatever moment the snapshot caught.
func TestFeedSnapshotThenCommandsEqualsServer(t *testing.T) {
	n := openLeader(t, Config{ID: "feed", Addr: "127.0.0.1:1", Bootstrap: true})
	defer n.Shutdown()
	feed := n.Feed()

	const writers, steps = 4, 60
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range steps {
				ct, req := workload(w, i)
				// Refusals are results; only Raft failing is an error here.
				if _, err := n.Apply(ct, req); err != nil && !errors.Is(err, state.ErrInvalidSession) && !errors.Is(err, state.ErrLockRefused) {
					errs <- fmt.Errorf("writer %d step %d: %w", w, i, err)
					return
				}
			}
		}()
	}

	// Snapshots taken while the writers run, each restored into a replica.
	type taken struct {
		r   *Replica
		idx uint64
	}
	var snaps []taken
	for len(snaps) < 5 {
		snap, idx := feed.Snapshot()
		var buf bytes.Buffer
		err := snap.Persist(&buf)
		snap.Release()
		if err != nil {
			t.Fatal(err)
		}
		r := NewReplica()
		if err := r.Restore(&buf, idx); err != nil {
			t.Fatal(err)
		}
		if r.Index() != idx {
			t.Fatalf("replica restored at %d reports %d", idx, r.Index())
		}
		snaps = append(snaps, taken{r, idx})
		time.Sleep(2 * time.Millisecond)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if snaps[0].idx == snaps[len(snaps)-1].idx {
		t.Log("every snapshot caught the same index; the writers were faster")
	}

	want := dump(t, n.State())
	for _, s := range snaps {
		catchUp(t, s.r, feed, s.idx, 7)
		if s.r.Index() != feed.Last() {
			t.Errorf("replica from snapshot at %d: index %d, server %d", s.idx, s.r.Index(), feed.Last())
		}
		if got := dump(t, s.r.State()); got != want {
			t.Errorf("replica from snapshot at %d differs from the server:\n%s\nserver:\n%s", s.idx, got, want)
		}
	}

	// A replica that follows from index 0 gets there too.
	r := NewReplica()
	catchUp(t, r, feed, 0, 512)
	if got := dump(t, r.State()); got != want {
		t.Errorf("replica from 0 differs from the server:\n%s\nserver:\n%s", got, want)
	}
}

// When the feed no longer holds the commands a subscriber needs, the
// snapshot plus what follows it brings the subscriber level.
func TestFeedSnapshotAfterTrim(t *testing.T) {
	feedLimits(t, 8, 1<<20)
	n := openLeader(t, Config{ID: "trim", Addr: "127.0.0.1:1", Bootstrap: true})
	defer n.Shutdown()
	for i := range 40 {
		ct, req := workload(0, i)
		n.Apply(ct, req)
	}
	feed := n.Feed()
	if _, _, _, need := feed.Since(0, 10); !need {
		t.Fatal("Since(0) served after 40 commands with room for 8")
	}
	snap, idx := feed.Snapshot()
	if idx != feed.Last() {
		t.Fatalf("snapshot at %d, feed at %d", idx, feed.Last())
	}
	var buf bytes.Buffer
	if err := snap.Persist(&buf); err != nil {
		t.Fatal(err)
	}
	snap.Release()
	// Fewer than the feed holds, so that the subscriber is served from it.
	for i := 40; i < 46; i++ {
		ct, req := workload(0, i)
		n.Apply(ct, req)
	}
	r := NewReplica()
	if err := r.Restore(&buf, idx); err != nil {
		t.Fatal(err)
	}
	catchUp(t, r, feed, idx, 3)
	if got, want := dump(t, r.State()), dump(t, n.State()); got != want {
		t.Errorf("replica differs from the server:\n%s\nserver:\n%s", got, want)
	}
}

// persist writes the state behind a feed snapshot.
func persist(t testing.TB, feed *Feed) ([]byte, uint64) {
	t.Helper()
	snap, idx := feed.Snapshot()
	defer snap.Release()
	var buf bytes.Buffer
	if err := snap.Persist(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), idx
}

// A Raft snapshot restore replaces the state and forgets every recorded
// command: the floor is the restored index, so subscribers behind it get a
// snapshot and those at it get what follows.
func TestFeedRestoreResetsFloor(t *testing.T) {
	feedLimits(t, 4, 1<<20)
	src := newServerFSM(t, 5)
	snapshot, at := persist(t, src.Feed())

	f := newServerFSM(t, 20)
	if _, _, _, need := f.Feed().Since(16, 10); need {
		t.Fatal("Since(16) not served before the restore")
	}
	_, _, changed, _ := f.Feed().Since(20, 10)
	if err := f.Restore(io.NopCloser(bytes.NewReader(snapshot))); err != nil {
		t.Fatal(err)
	}
	feed := f.Feed()
	if !isClosed(changed) {
		t.Error("restore did not wake the waiters")
	}
	if feed.Last() != at {
		t.Fatalf("Last %d after restoring a snapshot at %d", feed.Last(), at)
	}
	if entries, last, _, need := feed.Since(at, 10); need || len(entries) != 0 || last != at {
		t.Errorf("Since(%d) = %v, last %d, needSnapshot %v", at, indexes(entries), last, need)
	}
	// Everything before, including what was served before the restore.
	for _, from := range []uint64{0, at - 1} {
		if _, _, _, need := feed.Since(from, 10); !need {
			t.Errorf("Since(%d) served after a restore at %d", from, at)
		}
	}
	if got, want := dump(t, f.store), dump(t, src.store); got != want {
		t.Errorf("restored state:\n%s\nwant:\n%s", got, want)
	}
	applyAt(f, 21, kvSet(t, "after", "v"))
	if entries, last, _, need := feed.Since(at, 10); need || last != 21 || !equalIndexes(indexes(entries), 21) {
		t.Errorf("after the restore: Since(%d) = %v, last %d, needSnapshot %v", at, indexes(entries), last, need)
	}
}

// Two servers at the same point of the log must agree on the feed's
// index: it is what ReadIndex hands out and what WaitFor waits for. A
// server restored from a Raft snapshot takes its index from the store's
// highest change index, which is lower than the last command's index when
// that command changed nothing (a failed check-and-set, a refused lock).
func TestFeedRestoreKeepsCommandIndex(t *testing.T) {
	src := newServerFSM(t, 3)
	cas := encode(t, KVCommand, &structs.KVRequest{Op: structs.KVCAS, DirEnt: structs.DirEntry{Key: "k1", Value: []byte("x")}})
	if res := applyAt(src, 4, cas); res != false {
		t.Fatalf("CAS: %v", res)
	}
	if src.Feed().Last() != 4 {
		t.Fatalf("Last %d, want 4", src.Feed().Last())
	}
	// What Raft does: snapshot the FSM, restore it elsewhere.
	fs, err := src.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	sink := &memSink{}
	if err := fs.Persist(sink); err != nil {
		t.Fatal(err)
	}
	fs.Release()
	restored := NewFSM(state.NewStore(), true)
	if err := restored.Restore(io.NopCloser(&sink.Buffer)); err != nil {
		t.Fatal(err)
	}
	if got := restored.Feed().Last(); got != 4 {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		t.Errorf("BUG: a server restored from a snapshot at the same log position reports Last %d, the other 4; "+
			"WaitFor(4) on it (a consistent read after the leader's ReadIndex) waits for the next write: %v",
			got, restored.Feed().WaitFor(ctx, 4))
	}
}

// memSink is a raft.SnapshotSink in memory.
type memSink struct {
	bytes.Buffer
	cancelled bool
}

func (s *memSink) ID() string    { return "mem" }
func (s *memSink) Close() error  { return nil }
func (s *memSink) Cancel() error { s.cancelled = true; return nil }

func TestFeedWaitFor(t *testing.T) {
	f := newServerFSM(t, 3)
	feed := f.Feed()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	// Already applied: returns at once.
	for _, idx := range []uint64{0, 1, 3} {
		if err := feed.WaitFor(ctx, idx); err != nil {
			t.Fatalf("WaitFor(%d) with Last 3: %v", idx, err)
		}
	}

	done := make(chan error, 1)
	go func() { done <- feed.WaitFor(ctx, 6) }()
	// Commands before 6 do not release it (a non-command does not either).
	for i := uint64(4); i <= 5; i++ {
		applyAt(f, i, kvSet(t, "k", "v"))
		select {
		case err := <-done:
			t.Fatalf("WaitFor(6) returned after command %d: %v", i, err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	f.Apply(&raft.Log{Index: 6, Type: raft.LogNoop})
	select {
	case err := <-done:
		t.Fatalf("WaitFor(6) returned after a no-op at 6: %v", err)
	case <-time.After(10 * time.Millisecond):
	}
	// A later index releases it as well as 6 itself would.
	applyAt(f, 7, kvSet(t, "k", "v"))
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("WaitFor(6): %v", err)
		}
	case <-ctx.Done():
		t.Fatal("WaitFor(6) still blocked after command 7")
	}

	// Cancelled: returns the context's error.
	wctx, wcancel := context.WithCancel(ctx)
	go func() { done <- feed.WaitFor(wctx, 100) }()
	time.Sleep(5 * time.Millisecond)
	wcancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("WaitFor after cancel: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("WaitFor still blocked after its context was cancelled")
	}
	// A deadline that passes.
	dctx, dcancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer dcancel()
	if err := feed.WaitFor(dctx, 100); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitFor past its deadline: %v", err)
	}

	// A restore releases waiters up to the restored index.
	go func() { done <- feed.WaitFor(ctx, 10) }()
	src := newServerFSM(t, 12)
	snapshot, _ := persist(t, src.Feed())
	if err := f.Restore(io.NopCloser(bytes.NewReader(snapshot))); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-ctx.Done():
		t.Fatal("WaitFor(10) still blocked after a restore at 12")
	}
}

// WaitFor on a replica is released by the streamed commands.
func TestReplicaWaitFor(t *testing.T) {
	r := NewReplica()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- r.Feed().WaitFor(ctx, 2) }()
	for i := uint64(1); i <= 2; i++ {
		if err := r.Apply(i, kvSet(t, "k", "v")); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-ctx.Done():
		t.Fatal("WaitFor(2) still blocked")
	}
}

func TestReplicaApply(t *testing.T) {
	r := NewReplica()
	get := func(key string) string {
		_, e, err := r.State().KVGet(nil, key)
		if err != nil {
			t.Fatal(err)
		}
		if e == nil {
			return "<nil>"
		}
		return string(e.Value)
	}
	if err := r.Apply(3, kvSet(t, "a", "first")); err != nil {
		t.Fatal(err)
	}
	if r.Index() != 3 {
		t.Fatalf("Index %d, want 3", r.Index())
	}
	// Indexes at or below the replica's are skipped: a resubscription
	// repeats them, and an old one must not overwrite newer state.
	for _, idx := range []uint64{3, 2, 1} {
		if err := r.Apply(idx, kvSet(t, "a", fmt.Sprintf("repeat-%d", idx))); err != nil {
			t.Fatalf("repeated %d: %v", idx, err)
		}
	}
	if got := get("a"); got != "first" || r.Index() != 3 {
		t.Errorf("after repeats: a=%q, Index %d", got, r.Index())
	}
	// Even an undecodable repeat is skipped, not reported.
	if err := r.Apply(3, []byte{250}); err != nil {
		t.Errorf("undecodable repeat: %v", err)
	}

	// The FSM's refusals are results identical on every server: not errors,
	// and the index moves past them.
	refusals := []struct {
		name string
		data []byte
	}{
		{"failed CAS", encode(t, KVCommand, &structs.KVRequest{Op: structs.KVCAS, DirEnt: structs.DirEntry{Key: "a", Value: []byte("x")}})},
		{"missing key", encode(t, KVCommand, &structs.KVRequest{Op: structs.KVSet})},
		{"lock without a session", encode(t, KVCommand, &structs.KVRequest{Op: structs.KVLock, DirEnt: structs.DirEntry{Key: "l", Session: "nope"}})},
		{"session on an unknown node", encode(t, SessionCommand, &structs.SessionRequest{Op: structs.SessionCreate, Session: structs.Session{ID: "s", Node: "ghost"}})},
		{"unknown session operation", encode(t, SessionCommand, &structs.SessionRequest{Op: "renew"})},
		{"deregister an unknown node", encode(t, DeregisterCommand, &structs.DeregisterRequest{Node: "ghost"})},
		{"register without an address", encode(t, RegisterCommand, &structs.RegisterRequest{Node: "n"})},
	}
	idx := uint64(3)
	for _, tc := range refusals {
		idx++
		if err := r.Apply(idx, tc.data); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
		if r.Index() != idx {
			t.Errorf("%s: Index %d, want %d", tc.name, r.Index(), idx)
		}
	}
	if got := get("a"); got != "first" {
		t.Errorf("a=%q after refusals", got)
	}

	// Undecodable commands are errors that say so.
	undecodable := []struct {
		name string
		data []byte
	}{
		{"unknown type", []byte{100, '{', '}'}},
		{"unknown framed type", append([]byte{100 | framedFlag}, make([]byte, 17)...)},
		{"framed, shorter than its request ID", []byte{byte(KVCommand) | framedFlag, 1, 2, 3}},
		{"bad JSON", []byte{byte(KVCommand), '{'}},
		{"wrong shape", []byte{byte(KVCommand), '[', '1', ']'}},
	}
	for _, tc := range undecodable {
		idx++
		err := r.Apply(idx, tc.data)
		if !errors.Is(err, ErrUndecodable) {
			t.Errorf("%s: %v, want ErrUndecodable", tc.name, err)
		}
	}

	// And decodable commands after them still apply.
	idx++
	if err := r.Apply(idx, kvSet(t, "a", "second")); err != nil {
		t.Fatal(err)
	}
	if got := get("a"); got != "second" || r.Index() != idx {
		t.Errorf("a=%q, Index %d after command %d", got, r.Index(), idx)
	}
}

// A replica that cannot decode a command (it runs an older binary than the
// servers) reports it; its index must not move past the command, or the
// resubscription that follows the error (from Index()) skips it for good
// and the copy silently diverges from the servers.
func TestReplicaUndecodableIsNotSkippedOnRetry(t *testing.T) {
	r := NewReplica()
	if err := r.Apply(1, kvSet(t, "a", "v")); err != nil {
		t.Fatal(err)
	}
	future := []byte{byte(TxnCommand) + 50, '{', '}'}
	if err := r.Apply(2, future); !errors.Is(err, ErrUndecodable) {
		t.Fatalf("first attempt: %v", err)
	}
	if r.Index() != 1 {
		t.Errorf("BUG: Index %d after failing to apply command 2, want 1: a resubscription from Index() skips it", r.Index())
	}
	if err := r.Apply(2, future); !errors.Is(err, ErrUndecodable) {
		t.Errorf("BUG: the retried undecodable command 2 was skipped silently (err %v)", err)
	}
}

// Restore replaces whatever the replica had.
func TestReplicaRestoreReplaces(t *testing.T) {
	src := newServerFSM(t, 4)
	snapshot, at := persist(t, src.Feed())
	r := NewReplica()
	for i := uint64(1); i <= 9; i++ {
		r.Apply(i, kvSet(t, fmt.Sprintf("other%d", i), "v"))
	}
	if err := r.Restore(bytes.NewReader(snapshot), at); err != nil {
		t.Fatal(err)
	}
	if r.Index() != at {
		t.Errorf("Index %d, want %d", r.Index(), at)
	}
	if got, want := dump(t, r.State()), dump(t, src.store); got != want {
		t.Errorf("restored replica:\n%s\nwant:\n%s", got, want)
	}
	// A stream that does not decode changes nothing and says so.
	if err := r.Restore(bytes.NewReader(snapshot[:len(snapshot)/2]), 99); err == nil {
		t.Error("a truncated snapshot was restored")
	}
	if r.Index() != at {
		t.Errorf("Index %d after a failed restore, want %d", r.Index(), at)
	}
}

// TestFeedSteadyStateAllocation bounds the heap a server's feed allocates per applied command
// once it is full (the steady state of a long-running server).
func TestFeedSteadyStateAllocation(t *testing.T) {
	if testing.Short() {
		t.Skip("long: fills a full-size feed; runs in make test")
	}
	f := NewFSM(state.NewStore(), true)
	data := make([]byte, 64)
	noop := func() (any, bool) { return nil, false }
	idx := uint64(0)
	for range feedMaxEntries + 1 {
		idx++
		f.feed.apply(idx, data, noop)
	}
	const n = 200
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range n {
		idx++
		f.feed.apply(idx, data, noop)
	}
	runtime.ReadMemStats(&after)
	perApply := (after.TotalAlloc - before.TotalAlloc) / n
	// The command's copy and amortised slice growth: a few hundred bytes
	// (the bound leaves room for whatever else the process allocates).
	if perApply > 16<<10 {
		t.Errorf("BUG: a full feed allocates %d bytes per command (its whole ring, %d entries, is copied on every trim)",
			perApply, feedMaxEntries)
	}
}

// BenchmarkFeedApply compares a store write alone (the FSM's command,
// decoded and applied) with the same write through Apply, which also
// records it in a full feed, as on a long-running server.
func BenchmarkFeedApply(b *testing.B) {
	cmds := make([][]byte, 1024)
	for i := range cmds {
		cmds[i] = kvSet(b, fmt.Sprintf("bench/key-%04d", i), "some value")
	}
	run := func(b *testing.B, apply func(f *FSM, l *raft.Log) any, fill bool) {
		f := NewFSM(state.NewStore(), true)
		idx := uint64(0)
		if fill {
			noop := func() (any, bool) { return nil, false }
			for range feedMaxEntries {
				idx++
				f.feed.apply(idx, cmds[idx%1024], noop)
			}
		}
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			idx++
			// Each apply is a new request (the commands are reused).
			data := cmds[idx%1024]
			binary.BigEndian.PutUint64(data[1:], idx)
			l := &raft.Log{Index: idx, Type: raft.LogCommand, Data: data, AppendedAt: time.Now()}
			if res := apply(f, l); res != true {
				b.Fatal(res)
			}
		}
	}
	b.Run("store", func(b *testing.B) {
		run(b, func(f *FSM, l *raft.Log) any {
			t, _, req, err := decodeCommand(l.Data)
			if err != nil {
				return err
			}
			return f.applyDecoded(l.Index, t, req)
		}, false)
	})
	b.Run("store+feed", func(b *testing.B) {
		run(b, (*FSM).Apply, true)
	})
	b.Run("store+feed-empty", func(b *testing.B) {
		feedLimits(b, 1<<30, 1<<40)
		run(b, (*FSM).Apply, false)
	})
}
