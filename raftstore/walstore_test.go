package raftstore

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/hashicorp/raft-wal/metadb"
)

// After a failed write the log is reopened from disk, and whatever of the
// failed batch reached the disk is dropped: raft was told it is not stored
// and will write those indexes again.
func TestWALStoreReopensAfterAFailedWrite(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	meta := &metadb.BoltMetaDB{}
	defer meta.Close()
	s, err := openLog(dir, meta, newTestLogger(&out))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := uint64(1); i <= 5; i++ {
		if err := s.StoreLog(testLog(i)); err != nil {
			t.Fatal(err)
		}
	}
	// Entry 6 reached the disk, but the write reported a failure.
	if err := s.w.StoreLogs([]*raft.Log{testLog(6)}); err != nil {
		t.Fatal(err)
	}
	s.failed = errors.New("injected: no space left on device")
	s.lastReopen = time.Now()

	retry := testLog(6)
	retry.Data = []byte("retried")
	if err := s.StoreLog(retry); err == nil || s.WriteFailure() == nil {
		t.Fatal("a write within a second of a failure reopened the log")
	}
	s.lastReopen = time.Time{}
	if err := s.StoreLog(retry); err != nil {
		t.Fatalf("write after the reopen: %v", err)
	}
	if s.WriteFailure() != nil {
		t.Fatalf("failure still reported after a good write: %v", s.WriteFailure())
	}
	var l raft.Log
	if err := s.GetLog(6, &l); err != nil || string(l.Data) != "retried" {
		t.Fatalf("entry 6 = %q, %v", l.Data, err)
	}
	if last, _ := s.LastIndex(); last != 6 {
		t.Fatalf("last index %d", last)
	}
}
