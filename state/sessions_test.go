package state

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/coredns-coord/coredns-coord/structs"
)

// sessionFixture: node n1 with a passing serfHealth and a service check.
func sessionFixture(t *testing.T) *Store {
	s := NewStore()
	register(t, s, 1, &structs.RegisterRequest{Node: "n1", Address: "10.0.0.1",
		Service: &structs.NodeService{Service: "web"},
		Checks: structs.HealthChecks{
			{CheckID: structs.SerfCheckID, Status: structs.HealthPassing},
			{CheckID: "web-alive", ServiceID: "web", Status: structs.HealthPassing},
		}})
	return s
}

func createSession(t *testing.T, s *Store, idx uint64, id string, behavior string, delay time.Duration, checks ...string) {
	t.Helper()
	sess := &structs.Session{ID: id, Node: "n1", NodeChecks: []string{structs.SerfCheckID}, Behavior: behavior, LockDelay: delay}
	for _, c := range checks {
		sess.ServiceChecks = append(sess.ServiceChecks, structs.ServiceCheck{ID: c})
	}
	if err := s.SessionCreate(idx, sess); err != nil {
		t.Fatalf("create session %s: %v", id, err)
	}
}

func lock(s *Store, idx uint64, op structs.KVOp, key, session string) (bool, error) {
	return s.KVApply(idx, &structs.KVRequest{Op: op, DirEnt: structs.DirEntry{Key: key, Value: []byte(session), Session: session}})
}

func TestSessionCreateValidation(t *testing.T) {
	s := sessionFixture(t)
	register(t, s, 2, &structs.RegisterRequest{Node: "n1", Address: "10.0.0.1",
		Check: &structs.HealthCheck{CheckID: "sick", Status: structs.HealthCritical}})
	for name, sess := range map[string]*structs.Session{
		"unknown node":   {ID: "a", Node: "ghost"},
		"unknown check":  {ID: "b", Node: "n1", NodeChecks: []string{"nope"}},
		"critical check": {ID: "c", Node: "n1", NodeChecks: []string{"sick"}},
		"no id":          {Node: "n1"},
	} {
		if err := s.SessionCreate(3, sess); !errors.Is(err, ErrInvalidSession) {
			t.Errorf("%s: %v, want ErrInvalidSession", name, err)
		}
	}
	if _, list, _ := s.SessionList(nil); len(list) != 0 {
		t.Fatalf("refused sessions were stored: %d", len(list))
	}
}

func TestLockSemantics(t *testing.T) {
	s := sessionFixture(t)
	createSession(t, s, 2, "s1", structs.SessionRelease, 0)
	createSession(t, s, 3, "s2", structs.SessionRelease, 0)

	if ok, err := lock(s, 4, structs.KVLock, "leader", "s1"); !ok || err != nil {
		t.Fatalf("s1 acquire: %v %v", ok, err)
	}
	if ok, err := lock(s, 5, structs.KVLock, "leader", "s2"); ok || !errors.Is(err, ErrLockRefused) {
		t.Fatalf("s2 acquired a key s1 holds: %v %v", ok, err)
	}
	if ok, err := lock(s, 6, structs.KVLock, "leader", "nosuch"); ok || !errors.Is(err, ErrLockRefused) {
		t.Fatalf("unknown session acquired: %v %v", ok, err)
	}
	// Re-acquiring by the holder updates the value but is the same tenure.
	lock(s, 7, structs.KVLock, "leader", "s1")
	_, e, _ := s.KVGet(nil, "leader")
	if e.LockIndex != 1 || e.Session != "s1" {
		t.Fatalf("after re-acquire: LockIndex %d session %q", e.LockIndex, e.Session)
	}
	if ok, _ := lock(s, 8, structs.KVUnlock, "leader", "s2"); ok {
		t.Fatal("a non-holder released the key")
	}
	if ok, err := lock(s, 9, structs.KVUnlock, "leader", "s1"); !ok || err != nil {
		t.Fatalf("holder release: %v %v", ok, err)
	}
	if ok, _ := lock(s, 10, structs.KVLock, "leader", "s2"); !ok {
		t.Fatal("s2 could not acquire a released key")
	}
	_, e, _ = s.KVGet(nil, "leader")
	if e.LockIndex != 2 || e.Session != "s2" || e.ModifyIndex != 10 {
		t.Fatalf("second tenure: %+v", e)
	}
}

func TestSessionDestroyBehaviors(t *testing.T) {
	s := sessionFixture(t)
	createSession(t, s, 2, "rel", structs.SessionRelease, 5*time.Second)
	createSession(t, s, 3, "del", structs.SessionDelete, 0)
	lock(s, 4, structs.KVLock, "a", "rel")
	lock(s, 5, structs.KVLock, "b", "del")

	if err := s.SessionDestroy(6, "rel"); err != nil {
		t.Fatal(err)
	}
	if err := s.SessionDestroy(7, "del"); err != nil {
		t.Fatal(err)
	}
	if _, e, _ := s.KVGet(nil, "a"); e == nil || e.Session != "" || e.LockIndex != 1 || e.ModifyIndex != 6 {
		t.Fatalf("release behaviour: %+v", e)
	}
	if _, e, _ := s.KVGet(nil, "b"); e != nil {
		t.Fatalf("delete behaviour kept the key: %+v", e)
	}
	if until := s.KVLockDelay("a"); time.Until(until) < 4*time.Second {
		t.Fatalf("lock-delay of a released key: until %v", until)
	}
	if !s.KVLockDelay("b").IsZero() {
		t.Fatal("a session without lock-delay left one")
	}
	if err := s.SessionDestroy(8, "rel"); err != nil {
		t.Fatalf("destroying a destroyed session: %v", err)
	}
}

func TestCriticalCheckInvalidatesSession(t *testing.T) {
	s := sessionFixture(t)
	createSession(t, s, 2, "bound", structs.SessionRelease, 0, "web-alive")
	createSession(t, s, 3, "other", structs.SessionRelease, 0)
	lock(s, 4, structs.KVLock, "k", "bound")

	register(t, s, 5, &structs.RegisterRequest{Node: "n1", Address: "10.0.0.1",
		Check: &structs.HealthCheck{CheckID: "web-alive", ServiceID: "web", Status: structs.HealthCritical}})
	if _, sess, _ := s.SessionGet(nil, "bound"); sess != nil {
		t.Fatal("a session bound to a critical check survived")
	}
	if _, sess, _ := s.SessionGet(nil, "other"); sess == nil {
		t.Fatal("a session not bound to the check was invalidated")
	}
	if _, e, _ := s.KVGet(nil, "k"); e.Session != "" {
		t.Fatal("the invalidated session's lock was not released")
	}
	if check, _ := s.SessionInvalidations(); check != 1 {
		t.Fatalf("check invalidations %d, want 1", check)
	}
	// Deregistering the node takes its remaining sessions.
	if err := s.Deregister(6, &structs.DeregisterRequest{Node: "n1"}); err != nil {
		t.Fatal(err)
	}
	if _, list, _ := s.SessionList(nil); len(list) != 0 {
		t.Fatalf("%d sessions outlived their node", len(list))
	}
}

func TestTxnAllOrNothing(t *testing.T) {
	s := sessionFixture(t)
	kv(t, s, 2, structs.KVSet, "a", "1", 0)
	ops := structs.TxnOps{
		{KV: &structs.TxnKVOp{Verb: structs.KVCheckIndex, DirEnt: structs.DirEntry{Key: "a", RaftIndex: structs.RaftIndex{ModifyIndex: 99}}}},
		{KV: &structs.TxnKVOp{Verb: structs.KVSet, DirEnt: structs.DirEntry{Key: "a", Value: []byte("2")}}},
		{KV: &structs.TxnKVOp{Verb: structs.KVSet, DirEnt: structs.DirEntry{Key: "new", Value: []byte("x")}}},
		{Node: &structs.TxnNodeOp{Verb: structs.TxnGet, Node: structs.Node{Node: "ghost"}}},
	}
	resp, err := s.Txn(3, ops)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Errors) != 2 || resp.Errors[0].OpIndex != 0 || resp.Errors[1].OpIndex != 3 || resp.Results != nil {
		t.Fatalf("errors %+v results %+v", resp.Errors, resp.Results)
	}
	if _, e, _ := s.KVGet(nil, "a"); string(e.Value) != "1" {
		t.Fatalf("a failed txn changed a to %q", e.Value)
	}
	if _, e, _ := s.KVGet(nil, "new"); e != nil {
		t.Fatal("a failed txn created a key")
	}

	// The check now holds (a was written at 2): everything applies.
	ops[0].KV.DirEnt.ModifyIndex = 2
	ops[3] = &structs.TxnOp{Service: &structs.TxnServiceOp{Verb: structs.TxnSet, Node: "n1", Service: structs.NodeService{Service: "db", Port: 5432}}}
	resp, err = s.Txn(4, ops)
	if err != nil || len(resp.Errors) != 0 || len(resp.Results) != 4 {
		t.Fatalf("txn: %v, %+v", err, resp)
	}
	if _, e, _ := s.KVGet(nil, "a"); string(e.Value) != "2" || e.ModifyIndex != 4 {
		t.Fatalf("after txn a = %+v", e)
	}
	if resp.Results[1].KV.Value != nil {
		t.Fatal("a write's result carries the value")
	}
	if _, svcs, _ := s.ServiceNodes(nil, "db", nil); len(svcs) != 1 {
		t.Fatal("txn service set did not register db")
	}
	if err := ValidateTxn(structs.TxnOps{{KV: &structs.TxnKVOp{Verb: "explode", DirEnt: structs.DirEntry{Key: "a"}}}}); !errors.Is(err, ErrInvalidTxn) {
		t.Fatalf("unknown verb: %v", err)
	}
}

func TestSnapshotKeepsSessions(t *testing.T) {
	s := sessionFixture(t)
	createSession(t, s, 2, "s1", structs.SessionRelease, 0, "web-alive")
	lock(s, 3, structs.KVLock, "held", "s1")
	var buf bytes.Buffer
	snap := s.Snapshot()
	if err := snap.Persist(&buf); err != nil {
		t.Fatal(err)
	}
	snap.Release()
	r := NewStore()
	if err := r.Restore(&buf); err != nil {
		t.Fatal(err)
	}
	if _, sess, _ := r.SessionGet(nil, "s1"); sess == nil {
		t.Fatal("session lost in snapshot")
	}
	// The restored check binding still invalidates.
	register(t, r, 4, &structs.RegisterRequest{Node: "n1", Address: "10.0.0.1",
		Check: &structs.HealthCheck{CheckID: "web-alive", ServiceID: "web", Status: structs.HealthCritical}})
	if _, e, _ := r.KVGet(nil, "held"); e.Session != "" {
		t.Fatal("restored session binding did not release the lock")
	}
}

func TestAbortedTxnCountsNoInvalidation(t *testing.T) {
	s := sessionFixture(t)
	createSession(t, s, 2, "bound", structs.SessionRelease, 0, "web-alive")
	resp, err := s.Txn(3, structs.TxnOps{
		{Check: &structs.TxnCheckOp{Verb: structs.TxnSet, Check: structs.HealthCheck{Node: "n1", CheckID: "web-alive", ServiceID: "web", Status: structs.HealthCritical}}},
		{KV: &structs.TxnKVOp{Verb: structs.KVGet, DirEnt: structs.DirEntry{Key: "missing"}}},
	})
	if err != nil || len(resp.Errors) != 1 {
		t.Fatalf("txn: %v %+v", err, resp)
	}
	if _, sess, _ := s.SessionGet(nil, "bound"); sess == nil {
		t.Fatal("an aborted txn invalidated a session")
	}
	if check, _ := s.SessionInvalidations(); check != 0 {
		t.Fatalf("an aborted txn counted %d invalidations", check)
	}
}
