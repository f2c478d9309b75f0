package raftstore

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/coredns-coord/coredns-coord/raftstore/state"
)

// A snapshot archive (snapshot save / restore) is a gzip'd tar, as
// Consul's, holding meta.json, state.json (the state stream) and
// SHA256SUMS over both, so that a torn or altered file is refused before
// anything is restored. `tar -xzf` opens it.
const (
	archiveMeta  = "meta.json"
	archiveState = "state.json"
	archiveSums  = "SHA256SUMS"
	// archiveVersion is written into meta.json; restore refuses others.
	archiveVersion = 1
)

// ErrBadArchive marks a snapshot archive that cannot be restored.
var ErrBadArchive = errors.New("invalid snapshot archive")

// ArchiveMeta describes a saved snapshot.
type ArchiveMeta struct {
	Version    int
	Index      uint64
	Datacenter string
	Created    time.Time
}

// WriteArchive writes meta and the state stream as a snapshot archive.
func WriteArchive(w io.Writer, meta ArchiveMeta, stateStream []byte) error {
	meta.Version = archiveVersion
	metaJSON, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return fmt.Errorf("raftstore: archive meta: %w", err)
	}
	var sums strings.Builder
	files := []struct {
		name string
		body []byte
	}{{archiveMeta, metaJSON}, {archiveState, stateStream}}
	for _, f := range files {
		sum := sha256.Sum256(f.body)
		fmt.Fprintf(&sums, "%s  %s\n", hex.EncodeToString(sum[:]), f.name)
	}
	files = append(files, struct {
		name string
		body []byte
	}{archiveSums, []byte(sums.String())})

	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	for _, f := range files {
		hdr := &tar.Header{Name: f.name, Mode: 0o600, Size: int64(len(f.body)), ModTime: meta.Created}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("raftstore: archive %s: %w", f.name, err)
		}
		if _, err := tw.Write(f.body); err != nil {
			return fmt.Errorf("raftstore: archive %s: %w", f.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("raftstore: archive: %w", err)
	}
	if err := gz.Close(); err != nil {
		return fmt.Errorf("raftstore: archive: %w", err)
	}
	return nil
}

// ReadArchive reads a snapshot archive, verifies its checksums and that its
// state decodes completely, and returns its meta and state stream.
func ReadArchive(r io.Reader) (ArchiveMeta, []byte, error) {
	var meta ArchiveMeta
	bad := func(format string, args ...any) (ArchiveMeta, []byte, error) {
		return meta, nil, fmt.Errorf("%w: %s", ErrBadArchive, fmt.Sprintf(format, args...))
	}
	gz, err := gzip.NewReader(r)
	if err != nil {
		return bad("not gzip: %v", err)
	}
	files := map[string][]byte{}
	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return bad("tar: %v", err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			return bad("read %s: %v", hdr.Name, err)
		}
		files[hdr.Name] = body
	}
	for _, name := range []string{archiveMeta, archiveState, archiveSums} {
		if _, ok := files[name]; !ok {
			return bad("missing %s", name)
		}
	}
	want := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(files[archiveSums])), "\n") {
		sum, name, ok := strings.Cut(line, "  ")
		if !ok {
			return bad("malformed %s line %q", archiveSums, line)
		}
		want[name] = sum
	}
	for _, name := range []string{archiveMeta, archiveState} {
		sum := sha256.Sum256(files[name])
		if want[name] != hex.EncodeToString(sum[:]) {
			return bad("%s does not match its checksum (corrupt or altered)", name)
		}
	}
	if err := json.Unmarshal(files[archiveMeta], &meta); err != nil {
		return bad("%s: %v", archiveMeta, err)
	}
	if meta.Version != archiveVersion {
		return bad("version %d, this build reads %d", meta.Version, archiveVersion)
	}
	if err := state.NewStore().Restore(bytes.NewReader(files[archiveState])); err != nil {
		return bad("state: %v", err)
	}
	return meta, files[archiveState], nil
}
