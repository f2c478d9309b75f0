package cli

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/coredns-coord/coredns-coord/raftstore"
)

// dirNames lists a directory's entries.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestSnapshotSaveRestore(t *testing.T) {
	t.Parallel()
	ta := startAgent(t)
	kv := ta.client.KV()
	put := func(k, v string) {
		t.Helper()
		if _, err := kv.Put(&api.KVPair{Key: k, Value: []byte(v)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	get := func(k string) string {
		t.Helper()
		p, _, err := kv.Get(k, nil)
		if err != nil {
			t.Fatal(err)
		}
		if p == nil {
			return "<none>"
		}
		return string(p.Value)
	}
	put("snap/a", "1")
	pair, _, err := kv.Get("snap/a", nil)
	if err != nil || pair == nil {
		t.Fatalf("get: %v %v", pair, err)
	}

	dir := t.TempDir()
	file := filepath.Join(dir, "backup.snap")
	r := ta.runArgs(t, 2, "snapshot", "save", file)
	expectCode(t, r, exitOK)
	m := regexp.MustCompile(`^Saved and verified snapshot to index (\d+)\n$`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("save: stdout %q", r.stdout)
	}
	if idx, _ := strconv.ParseUint(m[1], 10, 64); idx < pair.ModifyIndex {
		t.Errorf("snapshot index %d is before the write at %d", idx, pair.ModifyIndex)
	}
	if names := dirNames(t, dir); len(names) != 1 || names[0] != "backup.snap" {
		t.Errorf("directory holds %q, want just backup.snap", names)
	}
	st, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm() != 0o600 {
		t.Errorf("snapshot file mode %v, want 0600", st.Mode().Perm())
	}
	good, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raftstore.VerifyArchive(bytes.NewReader(good)); err != nil {
		t.Fatalf("saved archive does not verify: %v", err)
	}

	// -stale works too, and replaces the file.
	r = ta.runArgs(t, 2, "snapshot", "save", "-stale", file)
	expectCode(t, r, exitOK)

	// Change the state, then restore: back to the snapshot.
	put("snap/a", "2")
	put("snap/b", "x")
	r = ta.runArgs(t, 2, "snapshot", "restore", file)
	expectCode(t, r, exitOK)
	if r.stdout != "Restored snapshot\n" {
		t.Errorf("restore: stdout %q", r.stdout)
	}
	waitFor(t, 5*time.Second, "the restored state", func() bool {
		return get("snap/a") == "1" && get("snap/b") == "<none>"
	})

	// A corrupt or foreign file: the agent refuses it (400), the state
	// stays as it is.
	put("snap/a", "3")
	corrupt := bytes.Clone(good)
	corrupt[len(corrupt)/2] ^= 0xff
	for name, data := range map[string][]byte{
		"corrupt.snap":   corrupt,
		"truncated.snap": good[:len(good)/2],
		"text.snap":      []byte("not a snapshot\n"),
	} {
		bad := filepath.Join(dir, name)
		if err := os.WriteFile(bad, data, 0o600); err != nil {
			t.Fatal(err)
		}
		r = ta.runArgs(t, 2, "snapshot", "restore", bad)
		expectCode(t, r, exitFail)
		if r.stdout != "" || !strings.Contains(r.stderr, "400") {
			t.Errorf("restore %s: stdout %q stderr %q", name, r.stdout, r.stderr)
		}
	}
	if v := get("snap/a"); v != "3" {
		t.Errorf("after refused restores snap/a = %q, want 3", v)
	}

	r = ta.runArgs(t, 2, "snapshot", "restore", filepath.Join(dir, "missing.snap"))
	expectCode(t, r, exitFail)
	if !strings.Contains(r.stderr, "Error opening snapshot file") {
		t.Errorf("restore missing file: stderr %q", r.stderr)
	}

	// Saving into a directory that does not exist fails and creates nothing.
	r = ta.runArgs(t, 2, "snapshot", "save", filepath.Join(dir, "nope", "backup.snap"))
	expectCode(t, r, exitFail)
	if _, err := os.Stat(filepath.Join(dir, "nope")); !os.IsNotExist(err) {
		t.Errorf("save into a missing directory created it: %v", err)
	}

	for _, args := range [][]string{
		{"snapshot", "save"},
		{"snapshot", "save", "a", "b"},
		{"snapshot", "restore"},
		{"snapshot", "restore", ""},
		{"snapshot", "restore", "a", "b"},
		{"snapshot", "restore", "-stale", file},
	} {
		r := ta.runArgs(t, 2, args...)
		expectCode(t, r, exitUsage)
		if r.stdout != "" || r.stderr == "" {
			t.Errorf("%v: stdout %q stderr %q", args, r.stdout, r.stderr)
		}
	}
	var none *testAgent
	for _, args := range [][]string{{"snapshot"}, {"snapshot", "bogus"}} {
		r := none.runArgs(t, 0, args...)
		expectCode(t, r, exitUsage)
	}
}

// TestSnapshotSaveKeepsOldFileOnFailure: an agent that cannot be reached, or
// that sends something that is not a valid archive, leaves an existing FILE
// as it was and no temporary file behind.
func TestSnapshotSaveKeepsOldFileOnFailure(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "backup.snap")
	if err := os.WriteFile(file, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	check := func(what string, r result) {
		t.Helper()
		expectCode(t, r, exitFail)
		if r.stdout != "" {
			t.Errorf("%s: stdout %q", what, r.stdout)
		}
		if b, err := os.ReadFile(file); err != nil || string(b) != "old" {
			t.Errorf("%s: file now %q (%v), want it untouched", what, b, err)
		}
		if names := dirNames(t, dir); len(names) != 1 {
			t.Errorf("%s: directory holds %q, want just backup.snap", what, names)
		}
	}

	unreachable := &testAgent{addr: "127.0.0.1:1"}
	check("unreachable agent", unreachable.runArgs(t, 2, "snapshot", "save", file))

	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/v1/snapshot" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("X-Consul-Index", "42")
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	fake := &testAgent{addr: srv.Listener.Addr().String()}

	valid := buildArchive(t, map[string]string{"meta.json": "{}", "state.bin": "state"}, true, nil)
	for name, b := range map[string][]byte{
		"not gzip":     []byte("hello"),
		"truncated":    valid[:len(valid)-10],
		"bad checksum": buildArchive(t, map[string]string{"meta.json": "{}", "state.bin": "state"}, true, map[string]string{"state.bin": "tampered"}),
	} {
		body = b
		r := fake.runArgs(t, 2, "snapshot", "save", file)
		check(name, r)
		if !strings.Contains(r.stderr, "verifying") {
			t.Errorf("%s: stderr %q, want a verification error", name, r.stderr)
		}
	}

	body = valid
	r := fake.runArgs(t, 2, "snapshot", "save", file)
	expectCode(t, r, exitOK)
	if r.stdout != "Saved and verified snapshot to index 42\n" {
		t.Errorf("save from fake agent: stdout %q", r.stdout)
	}
	if b, _ := os.ReadFile(file); !bytes.Equal(b, valid) {
		t.Errorf("saved file differs from what the agent sent")
	}
}

// buildArchive writes a gzip'd tar with the given files and, if sums, a
// SHA256SUMS over them; override replaces a file's content after its sum
// was computed.
func buildArchive(t *testing.T, files map[string]string, sums bool, override map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	add := func(name, body string) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	var list strings.Builder
	for _, name := range sortedKeys(files) {
		sum := sha256.Sum256([]byte(files[name]))
		fmt.Fprintf(&list, "%s  %s\n", hex.EncodeToString(sum[:]), name)
		body := files[name]
		if o, ok := override[name]; ok {
			body = o
		}
		add(name, body)
	}
	if sums {
		add("SHA256SUMS", list.String())
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestVerifyArchive(t *testing.T) {
	files := map[string]string{"meta.json": `{"Version":1}`, "state.bin": "some state"}
	good := buildArchive(t, files, true, nil)
	if _, err := raftstore.VerifyArchive(bytes.NewReader(good)); err != nil {
		t.Fatalf("good archive: %v", err)
	}

	// An archive with a member SHA256SUMS does not list.
	var extra bytes.Buffer
	{
		gz := gzip.NewWriter(&extra)
		tw := tar.NewWriter(gz)
		sum := sha256.Sum256([]byte("{}"))
		for _, f := range []struct{ name, body string }{
			{"meta.json", "{}"},
			{"SHA256SUMS", hex.EncodeToString(sum[:]) + "  meta.json\n"},
			{"stowaway", "x"},
		} {
			tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o600, Size: int64(len(f.body)), Typeflag: tar.TypeReg})
			tw.Write([]byte(f.body))
		}
		tw.Close()
		gz.Close()
	}

	corruptGzip := bytes.Clone(good)
	corruptGzip[len(corruptGzip)-6] ^= 0xff // inside the CRC-32 trailer

	for name, tc := range map[string]struct {
		data []byte
		want string
	}{
		"not gzip":       {[]byte("plain text"), "not a gzip archive"},
		"empty":          {nil, "not a gzip archive"},
		"truncated":      {good[:len(good)/2], ""},
		"gzip checksum":  {corruptGzip, "gzip"},
		"no SHA256SUMS":  {buildArchive(t, files, false, nil), "missing SHA256SUMS"},
		"no meta.json":   {buildArchive(t, map[string]string{"state.bin": "s"}, true, nil), "missing meta.json"},
		"tampered":       {buildArchive(t, files, true, map[string]string{"state.bin": "other state"}), "state.bin does not match its checksum"},
		"unlisted entry": {extra.Bytes(), "stowaway has no checksum"},
	} {
		_, err := raftstore.VerifyArchive(bytes.NewReader(tc.data))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", name, err, tc.want)
		}
	}
}
