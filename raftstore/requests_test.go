package raftstore

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/coredns-coord/coredns-coord/state"
	"github.com/coredns-coord/coredns-coord/structs"
)

// applyLog applies data as Raft would: at idx, appended by the leader at
// appended.
func applyLog(f *FSM, idx uint64, appended time.Time, data []byte) any {
	return f.Apply(&raft.Log{Index: idx, Term: 1, Type: raft.LogCommand, Data: data, AppendedAt: appended})
}

// raftSnapshot is what Raft would persist of f now.
func raftSnapshot(t testing.TB, f *FSM) string {
	t.Helper()
	fs, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Release()
	var sink memSink
	if err := fs.Persist(&sink); err != nil {
		t.Fatal(err)
	}
	return sink.String()
}

func kvGet(t testing.TB, s *state.Store, key string) *structs.DirEntry {
	t.Helper()
	_, e, err := s.KVGet(nil, key)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// A re-send of a write that committed (its answer was lost: a cut
// connection, a timeout, leadership lost while committing) is answered
// with the first result and changes nothing: a CAS stays true instead of
// turning false, a plain set is not applied a second time after a later
// write.
func TestResendIsAnsweredFromTheFirstApplication(t *testing.T) {
	f := NewFSM(state.NewStore(), true)
	replica := NewReplica()
	t0 := time.Now()
	set := kvSet(t, "k", "A")
	if res := applyLog(f, 1, t0, set); res != true {
		t.Fatalf("set: %v", res)
	}
	cas := encode(t, KVCommand, &structs.KVRequest{Op: structs.KVCAS, DirEnt: structs.DirEntry{Key: "k", Value: []byte("B"), RaftIndex: structs.RaftIndex{ModifyIndex: 1}}})
	if res := applyLog(f, 2, t0.Add(time.Second), cas); res != true {
		t.Fatalf("CAS at index 1: %v", res)
	}
	// The leader changed; both re-sends reach the new one's log.
	if res := applyLog(f, 3, t0.Add(5*time.Second), cas); res != true {
		t.Errorf("BUG: the re-sent CAS is answered %v; its first application succeeded", res)
	}
	if res := applyLog(f, 4, t0.Add(6*time.Second), set); res != true {
		t.Errorf("re-sent set: %v", res)
	}
	e := kvGet(t, f.store, "k")
	if e == nil || string(e.Value) != "B" || e.ModifyIndex != 2 {
		t.Fatalf("BUG: after re-sends k = %+v, want B at index 2 (the set was applied again after the CAS)", e)
	}

	// The feed carries the re-sends as indexes that change nothing, so a
	// client's replica (which keeps no request IDs) stays identical and
	// still reaches the server's index.
	entries, _, _, _ := f.Feed().Since(0, 10)
	if len(entries) != 4 || len(entries[2].Data) != 0 || len(entries[3].Data) != 0 {
		t.Fatalf("feed entries: %d, re-sends carry %d and %d bytes", len(entries), len(entries[2].Data), len(entries[3].Data))
	}
	for _, e := range entries {
		if err := replica.Apply(e.Index, e.Data); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := dump(t, replica.State()), dump(t, f.store); got != want {
		t.Errorf("replica differs from the server:\n%s\nserver:\n%s", got, want)
	}
	if replica.Index() != 4 {
		t.Errorf("replica index %d, want 4", replica.Index())
	}
}

// A command the FSM refused changed nothing, so it is not remembered: its
// re-send is its first application.
func TestRefusedCommandIsNotRemembered(t *testing.T) {
	f := NewFSM(state.NewStore(), true)
	t0 := time.Now()
	// A lock acquire with a session that does not exist yet is refused.
	id := structs.NewRequestID()
	session := "5c8e4a0e-0000-4000-8000-000000000001"
	acquire, err := EncodeCommand(KVCommand, id, &structs.KVRequest{Op: structs.KVLock, DirEnt: structs.DirEntry{Key: "lock", Value: []byte("x"), Session: session}})
	if err != nil {
		t.Fatal(err)
	}
	if res := applyLog(f, 1, t0, acquire); res == true {
		t.Fatalf("acquire without a session: %v", res)
	}
	if _, ok := f.store.RequestResult(id); ok {
		t.Fatal("a refused command was remembered")
	}
	create := encode(t, SessionCommand, &structs.SessionRequest{Op: structs.SessionCreate, Session: structs.Session{ID: session, Node: "n1", Behavior: structs.SessionRelease}})
	register := encode(t, RegisterCommand, &structs.RegisterRequest{Node: "n1", Address: "127.0.0.1"})
	if res := applyLog(f, 2, t0, register); res != nil {
		t.Fatalf("register: %v", res)
	}
	if res := applyLog(f, 3, t0, create); res != nil {
		t.Fatalf("session: %v", res)
	}
	if res := applyLog(f, 4, t0.Add(time.Second), acquire); res != true {
		t.Fatalf("re-sent acquire once the session exists: %v", res)
	}
}

// Every replica forgets the same IDs at the same index: the eviction clock
// is the leaders' append time carried in the log, not the local clock.
// After the retention a re-send is applied again (it can no longer
// arrive: every hop stops re-sending after the write's deadline).
func TestRequestEvictionIsDeterministic(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var log []*raft.Log
	var cas []byte
	for i := 1; i <= 200; i++ {
		data := kvSet(t, fmt.Sprintf("k%d", i%7), "v")
		if i == 1 {
			cas = encode(t, KVCommand, &structs.KVRequest{Op: structs.KVCAS, DirEnt: structs.DirEntry{Key: "cas", Value: []byte("x")}})
			data = cas
		}
		log = append(log, &raft.Log{Index: uint64(i), Term: 1, Type: raft.LogCommand, Data: data,
			AppendedAt: t0.Add(time.Duration(i) * time.Second)})
	}
	// Entry 100 carries no ID and a leader clock 100 s ahead: it moves the
	// eviction clock (and back at 101) without a record of its own.
	body, _ := json.Marshal(&structs.KVRequest{Op: structs.KVSet, DirEnt: structs.DirEntry{Key: "legacy", Value: []byte("v")}})
	log[99].Data, log[99].AppendedAt = append([]byte{byte(KVCommand)}, body...), t0.Add(200*time.Second)

	a, b := NewFSM(state.NewStore(), true), NewFSM(state.NewStore(), true)
	var c *FSM
	for _, l := range log {
		a.Apply(l)
		b.Apply(l)
		if c != nil {
			c.Apply(l)
			if na, nc := len(a.store.Requests()), len(c.store.Requests()); na != nc {
				t.Fatalf("after index %d: %d requests remembered, %d on the server restored from a snapshot", l.Index, na, nc)
			}
		}
		if l.Index == 100 {
			// A third server joins from a snapshot taken here.
			c = NewFSM(state.NewStore(), true)
			if err := c.Restore(io.NopCloser(strings.NewReader(raftSnapshot(t, a)))); err != nil {
				t.Fatal(err)
			}
		}
	}
	ra, rb, rc := a.store.Requests(), b.store.Requests(), c.store.Requests()
	ida, _ := json.Marshal(ra)
	idb, _ := json.Marshal(rb)
	idc, _ := json.Marshal(rc)
	if len(ra) == 0 || string(ida) != string(idb) || string(ida) != string(idc) {
		t.Fatalf("servers remember different requests: %d, %d and %d (restored from a snapshot)", len(ra), len(rb), len(rc))
	}
	// 200 entries a second apart: the last 61 s are kept.
	if oldest := ra[0].Index; oldest != 200-uint64(state.RequestRetention/time.Second) {
		t.Errorf("oldest remembered index %d", oldest)
	}
	// The CAS at index 1 is forgotten: a re-send now would be applied
	// (and fail, the key exists).
	if res := applyLog(a, 201, t0.Add(201*time.Second), cas); res != false {
		t.Errorf("a CAS re-sent after the retention: %v", res)
	}
}

// The request records live in Raft snapshots: a server restored from one
// (a restart, or a follower sent the leader's snapshot) answers a re-send
// as the server that took it would. A snapshot restored through the log
// (snapshot restore) leaves them as they are.
func TestRequestsSurviveSnapshots(t *testing.T) {
	f := NewFSM(state.NewStore(), true)
	t0 := time.Now()
	cas := encode(t, KVCommand, &structs.KVRequest{Op: structs.KVCAS, DirEnt: structs.DirEntry{Key: "k", Value: []byte("x")}})
	txn := encode(t, TxnCommand, &structs.TxnRequest{Ops: structs.TxnOps{{KV: &structs.TxnKVOp{Verb: structs.KVSet, DirEnt: structs.DirEntry{Key: "t", Value: []byte("y")}}}}})
	if res := applyLog(f, 1, t0, cas); res != true {
		t.Fatal(res)
	}
	txnRes := applyLog(f, 2, t0, txn)
	snap := raftSnapshot(t, f)
	if !strings.HasPrefix(snap, `{"Version":2,`) {
		t.Errorf("snapshot header: %.40s", snap)
	}
	restored := NewFSM(state.NewStore(), true)
	if err := restored.Restore(io.NopCloser(strings.NewReader(snap))); err != nil {
		t.Fatal(err)
	}
	if res := applyLog(restored, 3, t0.Add(time.Second), cas); res != true {
		t.Errorf("BUG: a server restored from a snapshot answers the re-sent CAS %v", res)
	}
	got, _ := json.Marshal(applyLog(restored, 4, t0.Add(time.Second), txn))
	want, _ := json.Marshal(txnRes)
	if string(got) != string(want) {
		t.Errorf("re-sent txn after restore: %s, want %s", got, want)
	}

	// A client's replica takes the same stream without the records.
	replica := NewReplica()
	if err := replica.Restore(strings.NewReader(snap), 2); err != nil {
		t.Fatal(err)
	}
	if n := len(replica.State().Requests()); n != 0 {
		t.Errorf("replica keeps %d request records", n)
	}

	// snapshot restore through the log: the records describe the log,
	// which goes on, so they stay.
	plain, _ := f.Feed().Snapshot()
	var archive strings.Builder
	if err := plain.Persist(&archive); err != nil {
		t.Fatal(err)
	}
	plain.Release()
	if !strings.HasPrefix(archive.String(), `{"Version":1,`) {
		t.Errorf("an archive's state stream must stay version 1 (older binaries read it): %.40s", archive.String())
	}
	restore := encode(t, RestoreCommand, []byte(archive.String()))
	if res := applyLog(restored, 5, t0.Add(2*time.Second), restore); res != nil {
		t.Fatal(res)
	}
	if res := applyLog(restored, 6, t0.Add(2*time.Second), cas); res != true {
		t.Errorf("re-sent CAS after a snapshot restore through the log: %v", res)
	}
}

// Entries written before request IDs (an older binary's data directory)
// still decode and apply, once each as before; so do version-1 snapshots.
func TestUnframedEntriesAndVersion1SnapshotsLoad(t *testing.T) {
	body, _ := json.Marshal(&structs.KVRequest{Op: structs.KVSet, DirEnt: structs.DirEntry{Key: "old", Value: []byte("v")}})
	legacy := append([]byte{byte(KVCommand)}, body...)
	f := NewFSM(state.NewStore(), true)
	if res := applyLog(f, 1, time.Time{}, legacy); res != true {
		t.Fatalf("legacy entry: %v", res)
	}
	if res := applyLog(f, 2, time.Time{}, legacy); res != true {
		t.Fatalf("legacy entry again: %v", res)
	}
	if e := kvGet(t, f.store, "old"); e == nil || e.ModifyIndex != 2 {
		t.Errorf("legacy entries apply each time (they carry no ID): %+v", e)
	}
	if n := len(f.store.Requests()); n != 0 {
		t.Errorf("%d requests remembered for entries without IDs", n)
	}
	// A snapshot as the previous binary wrote it.
	v1 := `{"Version":1,"Index":7}
{"KV":{"LockIndex":0,"Key":"from-v1","Flags":0,"Value":"eA==","CreateIndex":7,"ModifyIndex":7}}
{"Index":{"Key":"kvs","Value":7}}
`
	restored := NewFSM(state.NewStore(), true)
	if err := restored.Restore(io.NopCloser(strings.NewReader(v1))); err != nil {
		t.Fatalf("version-1 snapshot: %v", err)
	}
	if e := kvGet(t, restored.store, "from-v1"); e == nil || string(e.Value) != "x" {
		t.Errorf("from-v1 = %+v", e)
	}
}

// BenchmarkRequestTable reports the request records' memory: a full table
// holds RequestRetention of writes (60 s; at 10,000 writes/s, 600,000).
func BenchmarkRequestTable(b *testing.B) {
	const n = 100_000
	data := kvSet(b, "bench/key", "v")
	for b.Loop() {
		f := NewFSM(state.NewStore(), false)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		t0 := time.Now()
		for i := uint64(1); i <= n; i++ {
			binary.BigEndian.PutUint64(data[1:], i)
			applyLog(f, i, t0, data)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		withTable := float64(after.HeapAlloc - before.HeapAlloc)
		if len(f.store.Requests()) != n {
			b.Fatalf("%d remembered", len(f.store.Requests()))
		}
		b.ReportMetric(withTable/n*1000/1024, "KiB/1000-entries")
		runtime.KeepAlive(f)
	}
}

// FuzzDecodeCommand: any log entry either decodes or is ErrUndecodable,
// never a panic; what decodes encodes back to the same type, request ID
// and request.
func FuzzDecodeCommand(f *testing.F) {
	f.Add(kvSet(f, "k", "v"))
	f.Add(append([]byte{byte(KVCommand)}, `{"Op":"set","DirEnt":{"Key":"k"}}`...))
	f.Add(encode(f, SessionCommand, &structs.SessionRequest{Op: structs.SessionCreate}))
	f.Add(encode(f, RestoreCommand, []byte(`{"Version":1}`)))
	f.Add([]byte{byte(TxnCommand) | framedFlag, 1, 2})
	f.Fuzz(func(t *testing.T, data []byte) {
		typ, id, req, err := decodeCommand(data)
		if err != nil {
			if !errors.Is(err, ErrUndecodable) {
				t.Fatalf("error %v does not wrap ErrUndecodable", err)
			}
			return
		}
		buf, err := EncodeCommand(typ, id, req)
		if err != nil {
			t.Fatalf("re-encode %s: %v", typ, err)
		}
		typ2, id2, req2, err := decodeCommand(buf)
		if err != nil || typ2 != typ || id2 != id || CommandTypeOf(buf) != typ {
			t.Fatalf("round trip: %s %s -> %s %s, %v", typ, id, typ2, id2, err)
		}
		a, _ := json.Marshal(req)
		b, _ := json.Marshal(req2)
		if typ != RestoreCommand && string(a) != string(b) {
			t.Fatalf("round trip changed the request: %s -> %s", a, b)
		}
	})
}
