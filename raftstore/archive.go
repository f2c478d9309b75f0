package raftstore

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/coredns-coord/coredns-coord/state"
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

// maxSumsSize bounds the SHA256SUMS member read into memory.
const maxSumsSize = 1 << 20

// VerifyArchive reads a snapshot archive to its end, so that gzip's own
// checksum is checked too, and checks it as Consul's CLI does before it
// keeps one: regular tar members, each named once, meta.json and
// SHA256SUMS present, every other member listed there with a matching
// SHA-256. Members named in keep are returned; the others are only hashed,
// so a large archive is verified without holding it. Errors wrap
// ErrBadArchive.
func VerifyArchive(r io.Reader, keep ...string) (map[string][]byte, error) {
	bad := func(format string, args ...any) (map[string][]byte, error) {
		return nil, fmt.Errorf("%w: %s", ErrBadArchive, fmt.Sprintf(format, args...))
	}
	gz, err := gzip.NewReader(bufio.NewReader(r))
	if err != nil {
		return bad("not a gzip archive: %v", err)
	}
	defer gz.Close()
	kept := map[string][]byte{}
	got := map[string]string{}
	var sums []byte
	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return bad("not a tar archive: %v", err)
		}
		if hdr.Typeflag != tar.TypeReg {
			return bad("unexpected %s entry of type %q", hdr.Name, hdr.Typeflag)
		}
		if _, dup := got[hdr.Name]; dup {
			return bad("%s appears twice", hdr.Name)
		}
		if hdr.Name == archiveSums {
			if sums, err = io.ReadAll(io.LimitReader(tr, maxSumsSize+1)); err != nil {
				return bad("reading %s: %v", hdr.Name, err)
			}
			if len(sums) > maxSumsSize {
				return bad("%s is larger than %d bytes", hdr.Name, maxSumsSize)
			}
			got[hdr.Name] = ""
			continue
		}
		h := sha256.New()
		var body io.Writer = h
		var buf *bytes.Buffer
		if slices.Contains(keep, hdr.Name) {
			buf = &bytes.Buffer{}
			body = io.MultiWriter(h, buf)
		}
		if _, err := io.Copy(body, tr); err != nil {
			return bad("reading %s: %v", hdr.Name, err)
		}
		if buf != nil {
			kept[hdr.Name] = buf.Bytes()
		}
		got[hdr.Name] = hex.EncodeToString(h.Sum(nil))
	}
	// What follows the tar's end, up to gzip's trailer and its checksum.
	if _, err := io.Copy(io.Discard, gz); err != nil {
		return bad("gzip stream: %v", err)
	}
	for _, name := range append([]string{archiveSums, archiveMeta}, keep...) {
		if _, ok := got[name]; !ok {
			return bad("missing %s", name)
		}
	}
	listed := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(sums)), "\n") {
		sum, name, ok := strings.Cut(line, "  ")
		if !ok || name == "" {
			return bad("malformed %s line %q", archiveSums, line)
		}
		have, ok := got[name]
		if !ok || name == archiveSums {
			return bad("%s lists %s, which the archive does not hold", archiveSums, name)
		}
		if !strings.EqualFold(sum, have) {
			return bad("%s does not match its checksum (corrupt or altered)", name)
		}
		listed[name] = true
	}
	for name := range got {
		if name != archiveSums && !listed[name] {
			return bad("%s has no checksum in %s", name, archiveSums)
		}
	}
	return kept, nil
}

// ReadArchive verifies a snapshot archive, checks its version and that its
// state decodes completely, and returns its meta and state stream.
func ReadArchive(r io.Reader) (ArchiveMeta, []byte, error) {
	var meta ArchiveMeta
	files, err := VerifyArchive(r, archiveMeta, archiveState)
	if err != nil {
		return meta, nil, err
	}
	bad := func(format string, args ...any) (ArchiveMeta, []byte, error) {
		return meta, nil, fmt.Errorf("%w: %s", ErrBadArchive, fmt.Sprintf(format, args...))
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
