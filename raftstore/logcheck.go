package raftstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"

	"github.com/hashicorp/raft"
	"github.com/hashicorp/raft-wal/segment"
	"github.com/hashicorp/raft-wal/types"
)

// raft-wal's on-disk layout (v0.4.0, documented in its README): a 32-byte
// file header, then 8-byte-aligned frames, each with an 8-byte header of
// type (1 byte), 3 reserved bytes and a little-endian length (entries,
// index) or CRC-32C (commit). A commit frame closes one write batch; its
// CRC covers everything since the previous commit frame (the first one
// also covers the file header).
const (
	walFileHeaderLen  = 32
	walFrameHeaderLen = 8
	walFrameEntry     = 1
	walFrameIndex     = 2
	walFrameCommit    = 3
)

// discardedTail is what raft-wal drops from the tail segment when it opens:
// a write batch a crash interrupted. raft-wal discards it without a word;
// we look first so that the operator is told.
type discardedTail struct {
	Entries   int    // entries raft-wal will drop
	AfterIdx  uint64 // the last index it keeps
	Reason    string // "no commit frame" or "commit checksum mismatch"
	Segment   string
	Committed int // entries it keeps in that segment
}

// inspectTail reads the unsealed tail segment the way raft-wal's recovery
// does and reports the batch it will discard, or nil when the tail is
// whole. It never changes the file.
func inspectTail(walDir string, info types.SegmentInfo) (*discardedTail, error) {
	name := segment.FileName(info)
	f, err := os.Open(filepath.Join(walDir, name))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil // raft-wal creates it afresh
	}
	if err != nil {
		return nil, fmt.Errorf("raftstore: inspect log tail: %w", err)
	}
	defer f.Close()
	d, err := scanTail(f)
	if err != nil || d == nil {
		return nil, err
	}
	d.Segment = name
	if d.AfterIdx = info.BaseIndex + uint64(d.Committed); d.AfterIdx > 0 {
		d.AfterIdx--
	}
	return d, nil
}

// scanTail walks a tail segment's frames up to the first zero or malformed
// header (where the written data ends) and compares it with its last
// commit frame.
func scanTail(r io.ReaderAt) (*discardedTail, error) {
	type commit struct {
		offset  int64
		crc     uint32
		entries int
	}
	var (
		prev, last *commit
		entries    int
		hdr        [walFrameHeaderLen]byte
	)
	for off := int64(walFileHeaderLen); ; {
		if n, err := r.ReadAt(hdr[:], off); n < len(hdr) {
			if err != nil && err != io.EOF {
				return nil, fmt.Errorf("raftstore: inspect log tail at %d: %w", off, err)
			}
			break
		}
		v := binary.LittleEndian.Uint32(hdr[4:])
		switch hdr[0] {
		case walFrameEntry, walFrameIndex:
			if hdr[0] == walFrameEntry {
				entries++
			}
			off += walFrameHeaderLen + (int64(v)+7)&^7
			continue
		case walFrameCommit:
			prev, last = last, &commit{offset: off, crc: v, entries: entries}
			off += walFrameHeaderLen
			continue
		}
		break // zeros (the end) or an unknown type (torn)
	}
	switch {
	case last == nil && entries == 0:
		return nil, nil
	case last == nil:
		return &discardedTail{Entries: entries, Reason: "no commit frame"}, nil
	case entries > last.entries:
		return &discardedTail{Entries: entries - last.entries, Committed: last.entries, Reason: "no commit frame"}, nil
	}
	start, kept := int64(0), 0
	if prev != nil {
		start, kept = prev.offset+walFrameHeaderLen, prev.entries
	}
	batch := make([]byte, last.offset-start)
	if _, err := r.ReadAt(batch, start); err != nil {
		return nil, fmt.Errorf("raftstore: inspect log tail batch at %d: %w", start, err)
	}
	if crc32.Checksum(batch, castagnoli) == last.crc || last.entries == kept {
		return nil, nil
	}
	return &discardedTail{Entries: last.entries - kept, Committed: kept, Reason: "commit checksum mismatch"}, nil
}

// verifyLog reads every entry of the log once, so that an entry damaged on
// disk stops the server at start rather than being applied or sent to a
// peer. Entries a snapshot already covers are only needed to catch up slow
// followers: damage there drops them (such a follower gets the snapshot
// instead) and is reported.
func verifyLog(logs checkedLogs, snapshotIdx uint64, report func(msg string, args ...any)) error {
	first, err := logs.FirstIndex()
	if err != nil {
		return fmt.Errorf("raftstore: read log: %w", err)
	}
	last, err := logs.LastIndex()
	if err != nil {
		return fmt.Errorf("raftstore: read log: %w", err)
	}
	if last == 0 {
		return nil
	}
	var (
		l       raft.Log
		damaged uint64 // the highest damaged index a snapshot covers
	)
	for i := first; i <= last; i++ {
		err := logs.GetLog(i, &l) // checkedLogs: checksum and index
		if err == nil {
			continue
		}
		if i > snapshotIdx {
			return fmt.Errorf("raftstore: raft log entry %d (of %d-%d, not covered by a snapshot) is damaged: %w; "+
				"this server's log cannot be trusted: on a server of a cluster, move data_dir/raft aside and start it again "+
				"(it receives the state from the leader); on a lone server, start from an empty data_dir and restore the latest saved snapshot",
				i, first, last, err)
		}
		report("raft log entry is damaged; a snapshot covers it, so the log before it is dropped", "index", i, "snapshot", snapshotIdx, "error", err)
		damaged = i
	}
	if damaged > 0 {
		if err := logs.DeleteRange(first, damaged); err != nil {
			return fmt.Errorf("raftstore: drop damaged log entries %d-%d: %w", first, damaged, err)
		}
	}
	return nil
}

// snapshotCovered is the log index every snapshot on disk covers (0 for
// none): the oldest one's, since raft falls back to it when a newer one
// turns out damaged.
func snapshotCovered(snaps raft.SnapshotStore) uint64 {
	metas, err := snaps.List()
	if err != nil || len(metas) == 0 {
		return 0
	}
	return metas[len(metas)-1].Index
}
