package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/hashicorp/consul/api"

	"github.com/coredns-coord/coredns-coord/raftstore"
)

const snapshotUsage = `
Usage: coredns-coord snapshot <subcommand> [options] FILE

  Saves the cluster's whole state (key/value store, catalog, sessions) to a
  file, and restores it from one.

Subcommands:

  save      Save a snapshot of the state to FILE
  restore   Replace the state with the snapshot in FILE

Run 'coredns-coord snapshot <subcommand> -h' for a subcommand's options.
`

var runSnapshot = group("snapshot", snapshotUsage, map[string]command{
	"save":    snapshotSave,
	"restore": snapshotRestore,
})

// snapshotFileArg returns the single FILE argument, or the usage error's
// exit code.
func snapshotFileArg(s *streams, fs *flag.FlagSet) (string, int, bool) {
	switch {
	case fs.NArg() > 1:
		return "", usageError(s, fs, "Too many arguments (expected 1, got %d)", fs.NArg()), false
	case fs.Arg(0) == "":
		return "", usageError(s, fs, "Missing FILE argument"), false
	}
	return fs.Arg(0), exitOK, true
}

const snapshotSaveUsage = `
Usage: coredns-coord snapshot save [options] FILE

  Saves an atomic, point-in-time snapshot of the cluster's state to FILE:
  a gzip'd tar archive with checksums. The archive is written to a
  temporary file next to FILE, verified (checksums), and only then renamed
  to FILE, so FILE is never left half-written. The snapshot is taken by
  the leader after a consistent read; -stale lets any server take it.

      $ coredns-coord snapshot save backup.snap
      $ coredns-coord snapshot save -stale backup.snap
`

func snapshotSave(ctx context.Context, s *streams, args []string) int {
	var hf httpFlags
	fs := newFlagSet(s, "snapshot save", snapshotSaveUsage)
	hf.register(fs, true)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	file, code, ok := snapshotFileArg(s, fs)
	if !ok {
		return code
	}

	client, closeIdle, err := hf.client()
	if err != nil {
		return failure(s, "%v", err)
	}
	defer closeIdle()
	snap, qm, err := client.Snapshot().Save(hf.queryOptions(ctx))
	if err != nil {
		return failure(s, "Error saving snapshot through the agent at %s: %v", hf.displayAddr(), err)
	}
	defer snap.Close()

	if err := writeVerified(file, snap); err != nil {
		return failure(s, "%v", err)
	}
	fmt.Fprintf(s.stdout, "Saved and verified snapshot to index %d\n", qm.LastIndex)
	return exitOK
}

// writeVerified writes r to a temporary file in file's directory (mode
// 0600: a snapshot holds every secret in the store), syncs it, verifies the
// archive, and renames it to file. On any error the temporary file is
// removed and file is left as it was.
func writeVerified(file string, r io.Reader) (err error) {
	dir, base := filepath.Split(file)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".*.unverified")
	if err != nil {
		return fmt.Errorf("Error creating the snapshot file: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := io.Copy(tmp, r); err != nil {
		return fmt.Errorf("Error writing the snapshot file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("Error writing the snapshot file: %w", err)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("Error reading the snapshot file back: %w", err)
	}
	if _, err := raftstore.VerifyArchive(tmp); err != nil {
		return fmt.Errorf("Error verifying the snapshot: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("Error writing the snapshot file: %w", err)
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return fmt.Errorf("Error renaming the verified snapshot to %s: %w", file, err)
	}
	// Make the rename durable; not every system can sync a directory.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

const snapshotRestoreUsage = `
Usage: coredns-coord snapshot restore [options] FILE

  Replaces the cluster's whole state with the snapshot in FILE (one that
  'snapshot save' wrote). The agent checks the archive first: a corrupt or
  altered file is refused and changes nothing. Everything written since the
  snapshot was taken is lost.

      $ coredns-coord snapshot restore backup.snap
`

func snapshotRestore(ctx context.Context, s *streams, args []string) int {
	var hf httpFlags
	fs := newFlagSet(s, "snapshot restore", snapshotRestoreUsage)
	hf.register(fs, false)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	file, code, ok := snapshotFileArg(s, fs)
	if !ok {
		return code
	}
	f, err := os.Open(file)
	if err != nil {
		return failure(s, "Error opening snapshot file: %v", err)
	}
	defer f.Close()

	client, closeIdle, err := hf.client()
	if err != nil {
		return failure(s, "%v", err)
	}
	defer closeIdle()
	if err := client.Snapshot().Restore((&api.WriteOptions{}).WithContext(ctx), f); err != nil {
		return failure(s, "Error restoring snapshot through the agent at %s: %v", hf.displayAddr(), err)
	}
	fmt.Fprintln(s.stdout, "Restored snapshot")
	return exitOK
}
