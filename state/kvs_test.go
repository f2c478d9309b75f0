package state

import (
	"bytes"
	"testing"

	"github.com/coredns-coord/coredns-coord/structs"
)

func kv(t *testing.T, s *Store, idx uint64, op structs.KVOp, key, value string, cas uint64) bool {
	t.Helper()
	ok, err := s.KVApply(idx, &structs.KVRequest{Op: op, DirEnt: structs.DirEntry{Key: key, Value: []byte(value), RaftIndex: structs.RaftIndex{ModifyIndex: cas}}})
	if err != nil {
		t.Fatalf("%s %s at %d: %v", op, key, idx, err)
	}
	return ok
}

func TestKVIndexesAndCAS(t *testing.T) {
	s := NewStore()
	if !kv(t, s, 10, structs.KVCAS, "app/a", "1", 0) {
		t.Fatal("cas=0 on a missing key must create it")
	}
	if kv(t, s, 11, structs.KVCAS, "app/a", "2", 0) {
		t.Fatal("cas=0 on an existing key must fail")
	}
	if kv(t, s, 12, structs.KVCAS, "app/a", "2", 9) {
		t.Fatal("cas with a stale index must fail")
	}
	if !kv(t, s, 13, structs.KVCAS, "app/a", "3", 10) {
		t.Fatal("cas with the current index must succeed")
	}
	_, e, _ := s.KVGet(nil, "app/a")
	if e == nil || string(e.Value) != "3" || e.CreateIndex != 10 || e.ModifyIndex != 13 {
		t.Fatalf("entry after cas: %+v", e)
	}
	if s.MaxIndex(TableKVs) != 13 {
		t.Fatalf("failed cas writes must not move the table index: %d", s.MaxIndex(TableKVs))
	}
	if kv(t, s, 14, structs.KVDeleteCAS, "app/a", "", 10) {
		t.Fatal("delete-cas with a stale index must fail")
	}
	if !kv(t, s, 15, structs.KVDeleteCAS, "app/a", "", 13) {
		t.Fatal("delete-cas with the current index must succeed")
	}
	if idx, e, _ := s.KVGet(nil, "app/a"); e != nil || idx != 15 {
		t.Fatalf("after delete: entry %+v, index %d (want the table index 15)", e, idx)
	}
}

func TestKVListAndKeys(t *testing.T) {
	s := NewStore()
	for i, k := range []string{"web/a", "web/b/c", "web/b/d", "webx", "db/a"} {
		kv(t, s, uint64(i+1), structs.KVSet, k, k, 0)
	}
	_, list, _ := s.KVList(nil, "web/")
	if len(list) != 3 {
		t.Fatalf("list web/: %d entries", len(list))
	}
	_, keys, _ := s.KVKeys(nil, "web/", "/")
	if want := []string{"web/a", "web/b/"}; !equal(keys, want) {
		t.Fatalf("keys web/ with separator: %v, want %v", keys, want)
	}
	_, keys, _ = s.KVKeys(nil, "", "/")
	if want := []string{"db/", "web/", "webx"}; !equal(keys, want) {
		t.Fatalf("top-level keys: %v, want %v", keys, want)
	}
	kv(t, s, 10, structs.KVDeleteTree, "web/", "", 0)
	if s.KVCount() != 2 {
		t.Fatalf("delete-tree web/ left %d keys, want 2 (webx and db/a)", s.KVCount())
	}
}

func equal(a, b []string) bool {
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

func TestSnapshotRoundTrip(t *testing.T) {
	s := NewStore()
	register(t, s, 1, &structs.RegisterRequest{Node: "n1", Address: "10.0.0.1",
		Service: &structs.NodeService{Service: "web", Port: 80},
		Check:   &structs.HealthCheck{CheckID: "c", Status: structs.HealthWarning}})
	kv(t, s, 2, structs.KVSet, "k", "v", 0)

	snap := s.Snapshot()
	// Writes after the snapshot must not leak into it.
	kv(t, s, 3, structs.KVSet, "later", "x", 0)
	var buf bytes.Buffer
	if err := snap.Persist(&buf); err != nil {
		t.Fatal(err)
	}
	snap.Release()

	r := NewStore()
	kv(t, r, 1, structs.KVSet, "stale", "gone after restore", 0)
	if err := r.Restore(bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	if _, e, _ := r.KVGet(nil, "k"); e == nil || string(e.Value) != "v" {
		t.Fatalf("restored k: %+v", e)
	}
	for _, key := range []string{"later", "stale"} {
		if _, e, _ := r.KVGet(nil, key); e != nil {
			t.Fatalf("%s present after restore", key)
		}
	}
	_, csn, _ := r.CheckServiceNodes(nil, "web", nil)
	if len(csn) != 1 || csn[0].Checks.AggregatedStatus() != structs.HealthWarning {
		t.Fatalf("restored service: %+v", csn)
	}
	if r.CatalogIndex() != 1 || r.MaxIndex(TableKVs) != 2 {
		t.Fatalf("restored indexes: catalog %d, kvs %d", r.CatalogIndex(), r.MaxIndex(TableKVs))
	}

	// A torn stream changes nothing.
	if err := r.Restore(bytes.NewReader(buf.Bytes()[:buf.Len()-7])); err == nil {
		t.Fatal("restore of a torn snapshot succeeded")
	}
	if _, e, _ := r.KVGet(nil, "k"); e == nil {
		t.Fatal("a failed restore changed the store")
	}
}
