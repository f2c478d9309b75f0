package agent

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/coredns-coord/coredns-coord/raftstore"
)

// SnapshotSave writes a snapshot archive of the whole state (KV, catalog,
// sessions) to w and returns its index. Unless stale, it is taken after a
// consistent read, so it holds every write acknowledged before the call.
func (a *Agent) SnapshotSave(ctx context.Context, w io.Writer, stale bool) (uint64, error) {
	if !stale {
		if err := a.ConsistentRead(ctx); err != nil {
			return 0, err
		}
	}
	snap, idx := a.feed().Snapshot()
	defer snap.Release()
	var buf bytes.Buffer
	if err := snap.Persist(&buf); err != nil {
		return 0, fmt.Errorf("agent: snapshot: %w", err)
	}
	meta := raftstore.ArchiveMeta{Index: idx, Datacenter: a.cfg.Datacenter, Created: time.Now().UTC()}
	if err := raftstore.WriteArchive(w, meta, buf.Bytes()); err != nil {
		return 0, err
	}
	return idx, nil
}

// SnapshotRestore verifies a snapshot archive and replaces the whole state
// with it through the log, on every server and client. A bad archive
// wraps raftstore.ErrBadArchive and changes nothing.
func (w Writer) SnapshotRestore(r io.Reader) error {
	_, stateStream, err := raftstore.ReadArchive(r)
	if err != nil {
		return err
	}
	_, err = apply(w, raftstore.Restore, stateStream)
	return err
}
