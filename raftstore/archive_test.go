package raftstore

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/coredns-coord/coredns-coord/state"
)

// FuzzReadArchive feeds arbitrary bytes to the snapshot restore path (PUT
// /v1/snapshot, snapshot restore): it never panics, refuses with
// ErrBadArchive, and what it accepts is a state that decodes.
func FuzzReadArchive(f *testing.F) {
	snap := state.NewStore().Snapshot()
	var stream bytes.Buffer
	if err := snap.Persist(&stream); err != nil {
		f.Fatal(err)
	}
	snap.Release()
	var archive bytes.Buffer
	if err := WriteArchive(&archive, ArchiveMeta{Index: 7, Datacenter: "dc1", Created: time.Unix(1700000000, 0)}, stream.Bytes()); err != nil {
		f.Fatal(err)
	}
	f.Add(archive.Bytes())
	f.Add([]byte("not gzip"))
	f.Fuzz(func(t *testing.T, b []byte) {
		meta, st, err := ReadArchive(bytes.NewReader(b))
		if err != nil {
			if !errors.Is(err, ErrBadArchive) {
				t.Fatalf("refused without ErrBadArchive: %v", err)
			}
			return
		}
		if meta.Version != archiveVersion {
			t.Fatalf("accepted version %d", meta.Version)
		}
		if err := state.NewStore().Restore(bytes.NewReader(st)); err != nil {
			t.Fatalf("accepted a state that does not restore: %v", err)
		}
	})
}
