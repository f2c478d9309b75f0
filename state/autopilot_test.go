package state

import (
	"bytes"
	"testing"
	"time"

	"github.com/coredns-coord/coredns-coord/structs"
)

func autopilotApply(t *testing.T, s *Store, idx uint64, req structs.AutopilotRequest) bool {
	t.Helper()
	ok, err := s.AutopilotApply(idx, &req)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// The first configuration is written only by a plain set or a CAS at 0; a
// CAS wins only at the stored index; the indexes follow the writes; a
// snapshot carries the configuration.
func TestAutopilotConfig(t *testing.T) {
	s := NewStore()
	if c, err := s.AutopilotConfig(); c != nil || err != nil {
		t.Fatalf("empty store: %+v, %v", c, err)
	}
	conf := structs.DefaultAutopilotConfig(true)
	if autopilotApply(t, s, 3, structs.AutopilotRequest{Config: conf, CAS: true, CASIndex: 2}) {
		t.Fatal("a CAS at a non-zero index created the configuration")
	}
	if !autopilotApply(t, s, 4, structs.AutopilotRequest{Config: conf, CAS: true}) {
		t.Fatal("a CAS at 0 did not create the configuration")
	}
	if autopilotApply(t, s, 5, structs.AutopilotRequest{Config: conf, CAS: true}) {
		t.Fatal("a second CAS at 0 replaced the configuration")
	}
	conf.MinQuorum = 3
	if autopilotApply(t, s, 6, structs.AutopilotRequest{Config: conf, CAS: true, CASIndex: 3}) {
		t.Fatal("a CAS at a stale index won")
	}
	if !autopilotApply(t, s, 7, structs.AutopilotRequest{Config: conf, CAS: true, CASIndex: 4}) {
		t.Fatal("a CAS at the stored index lost")
	}
	conf.ServerStabilizationTime = structs.Duration(time.Minute)
	if !autopilotApply(t, s, 8, structs.AutopilotRequest{Config: conf}) {
		t.Fatal("a plain set lost")
	}
	got, _ := s.AutopilotConfig()
	if got.MinQuorum != 3 || got.ServerStabilizationTime != structs.Duration(time.Minute) || got.CreateIndex != 4 || got.ModifyIndex != 8 {
		t.Fatalf("stored: %+v", got)
	}

	// A Raft snapshot carries it.
	snap := s.Snapshot()
	snap.IncludeRequests()
	var buf bytes.Buffer
	if err := snap.Persist(&buf); err != nil {
		t.Fatal(err)
	}
	snap.Release()
	r := NewStore()
	if _, err := r.RestoreIndexed(bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	if restored, _ := r.AutopilotConfig(); restored == nil || *restored != *got {
		t.Fatalf("restored: %+v, want %+v", restored, got)
	}

	// An archive or a client stream does not (an older binary reads them),
	// and restoring one keeps the configuration the store has.
	snap = s.Snapshot()
	buf.Reset()
	if err := snap.Persist(&buf); err != nil {
		t.Fatal(err)
	}
	snap.Release()
	if bytes.Contains(buf.Bytes(), []byte("Autopilot")) {
		t.Fatalf("an archive carries the autopilot configuration:\n%s", buf.Bytes())
	}
	if !autopilotApply(t, r, 9, structs.AutopilotRequest{Config: structs.DefaultAutopilotConfig(false)}) {
		t.Fatal("set on the restored store lost")
	}
	if err := r.RestoreAt(10, bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	if kept, _ := r.AutopilotConfig(); kept == nil || kept.ModifyIndex != 9 || kept.CleanupDeadServers {
		t.Fatalf("after an archive restore: %+v", kept)
	}
}
