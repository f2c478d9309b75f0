package raftstore

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	wal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/metadb"
)

func testLog(i uint64) *raft.Log {
	return &raft.Log{Index: i, Term: 1, Type: raft.LogCommand, Data: []byte(fmt.Sprintf("needle-%04d", i)), AppendedAt: time.Unix(1700000000, 0)}
}

// walForTest opens a log in dir through openLog, as a server does, with
// its log output in out.
func walForTest(t *testing.T, dir string, out *bytes.Buffer) (checkedLogs, error) {
	t.Helper()
	meta := &metadb.BoltMetaDB{}
	w, err := openLog(dir, meta, newTestLogger(out))
	if err != nil {
		meta.Close()
		return checkedLogs{}, err
	}
	t.Cleanup(func() { w.Close(); meta.Close() })
	return checkedLogs{w}, nil
}

func newTestLogger(out *bytes.Buffer) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Output: out, Level: hclog.Warn})
}

// writeBatches appends entries 1..n in batches of size batch and closes
// the log (raft-wal's Close leaves the meta store to its owner).
func writeBatches(t *testing.T, dir string, n, batch uint64) {
	t.Helper()
	meta := &metadb.BoltMetaDB{}
	w, err := wal.Open(dir, wal.WithMetaStore(meta))
	if err != nil {
		t.Fatal(err)
	}
	logs := checkedLogs{w}
	for i := uint64(1); i <= n; i += batch {
		var entries []*raft.Log
		for j := i; j < i+batch && j <= n; j++ {
			entries = append(entries, testLog(j))
		}
		if err := logs.StoreLogs(entries); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	meta.Close()
}

// tailSegment is the path of the log's only segment file.
func tailSegment(t *testing.T, dir string) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, "*.wal"))
	if len(m) != 1 {
		t.Fatalf("segments: %v", m)
	}
	return m[0]
}

// patch rewrites part of a file in place.
func patch(t *testing.T, path string, fn func(b []byte) []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, fn(b), 0o600); err != nil {
		t.Fatal(err)
	}
}

func flipByteOf(t *testing.T, b []byte, needle string) {
	t.Helper()
	i := bytes.Index(b, []byte(needle))
	if i < 0 {
		t.Fatalf("%q not in the segment", needle)
	}
	b[i+len(needle)-1] ^= 0x01
}

func TestChecksumDetectsEveryDamagedByte(t *testing.T) {
	mem := raft.NewInmemStore()
	logs := checkedLogs{mem}
	in := testLog(7)
	in.Extensions = []byte("ext")
	if err := logs.StoreLog(in); err != nil {
		t.Fatal(err)
	}
	if string(in.Extensions) != "ext" {
		t.Fatalf("the caller's entry was changed: %q", in.Extensions)
	}
	var out raft.Log
	if err := logs.GetLog(7, &out); err != nil || out.Index != 7 || string(out.Data) != string(in.Data) ||
		string(out.Extensions) != "ext" || !out.AppendedAt.Equal(in.AppendedAt) {
		t.Fatalf("round trip: %+v, %v", out, err)
	}
	var raw raft.Log
	mem.GetLog(7, &raw)
	damage := func(what string, fn func(l *raft.Log)) {
		t.Helper()
		l := raw
		l.Data, l.Extensions = bytes.Clone(raw.Data), bytes.Clone(raw.Extensions)
		fn(&l)
		mem.StoreLog(&l)
		if err := logs.GetLog(7, &out); !errors.Is(err, ErrCorruptLog) {
			t.Fatalf("%s: %v", what, err)
		}
	}
	for i := range raw.Data {
		damage(fmt.Sprint("data byte ", i), func(l *raft.Log) { l.Data[i] ^= 0x10 })
	}
	for i := range raw.Extensions {
		damage(fmt.Sprint("extensions byte ", i), func(l *raft.Log) { l.Extensions[i] ^= 0x10 })
	}
	damage("term", func(l *raft.Log) { l.Term++ })
	damage("type", func(l *raft.Log) { l.Type = raft.LogNoop })
	damage("time", func(l *raft.Log) { l.AppendedAt = l.AppendedAt.Add(time.Nanosecond) })
	damage("no checksum", func(l *raft.Log) { l.Extensions = nil })
}

func TestVerifyLogRefusesADamagedEntry(t *testing.T) {
	dir := t.TempDir()
	writeBatches(t, dir, 100, 10)
	patch(t, tailSegment(t, dir), func(b []byte) []byte { flipByteOf(t, b, "needle-0050"); return b })

	// The damaged entry is in a committed batch: raft-wal itself does not
	// look at it, the checksum does.
	var out bytes.Buffer
	w, err := walForTest(t, dir, &out)
	if err != nil {
		t.Fatal(err)
	}
	err = verifyLog(w, 0, func(string, ...any) { t.Fatal("reported instead of refused") })
	if !errors.Is(err, ErrCorruptLog) || !strings.Contains(err.Error(), "entry 50 ") {
		t.Fatalf("verify: %v", err)
	}

	// With a snapshot that covers it, the log up to it is dropped instead.
	var reported []any
	if err := verifyLog(w, 60, func(_ string, args ...any) { reported = args }); err != nil {
		t.Fatal(err)
	}
	if first, _ := w.FirstIndex(); first != 51 || fmt.Sprint(reported[:2]) != "[index 50]" {
		t.Fatalf("after repair: first index %d, reported %v", first, reported)
	}
	if err := verifyLog(w, 60, func(string, ...any) { t.Fatal("damage left behind") }); err != nil {
		t.Fatal(err)
	}
}

func TestOpenLogReportsTornTail(t *testing.T) {
	cases := []struct {
		name      string
		damage    func(t *testing.T, b []byte) []byte
		reason    string
		dropped   int
		keptIndex uint64
	}{
		{"whole", func(t *testing.T, b []byte) []byte { return b }, "", 0, 100},
		{"entry without commit", func(t *testing.T, b []byte) []byte {
			// A crash after the first sectors of a new batch reached disk:
			// an entry frame header and part of its data.
			end := dataEnd(b)
			copy(b[end:], []byte{1, 0, 0, 0, 40, 0, 0, 0, 'p', 'a', 'r', 't'})
			return b
		}, "no commit frame", 1, 100},
		{"last batch torn", func(t *testing.T, b []byte) []byte {
			flipByteOf(t, b, "needle-0095") // the last batch is 91-100
			return b
		}, "commit checksum mismatch", 10, 90},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeBatches(t, dir, 100, 10)
			patch(t, tailSegment(t, dir), func(b []byte) []byte { return tc.damage(t, b) })
			var out bytes.Buffer
			w, err := walForTest(t, dir, &out)
			if err != nil {
				t.Fatal(err)
			}
			log := out.String()
			if tc.reason == "" {
				if log != "" {
					t.Fatalf("a whole tail reported: %s", log)
				}
			} else if !strings.Contains(log, "discarding an unfinished write") || !strings.Contains(log, tc.reason) ||
				!strings.Contains(log, fmt.Sprintf("entries=%d ", tc.dropped)) || !strings.Contains(log, fmt.Sprintf("kept_through_index=%d ", tc.keptIndex)) {
				t.Fatalf("report: %s", log)
			}
			// What we reported is what raft-wal kept.
			if last, _ := w.LastIndex(); last != tc.keptIndex {
				t.Fatalf("raft-wal kept through %d, we reported %d", last, tc.keptIndex)
			}
			if err := verifyLog(w, 0, nil); err != nil {
				t.Fatal(err)
			}
			// The log goes on from there.
			if err := w.StoreLogs([]*raft.Log{testLog(tc.keptIndex + 1)}); err != nil {
				t.Fatal(err)
			}
			var l raft.Log
			if err := w.GetLog(tc.keptIndex+1, &l); err != nil || l.Index != tc.keptIndex+1 {
				t.Fatalf("append after recovery: %+v, %v", l, err)
			}
		})
	}
}

// dataEnd is where a segment's written frames end: after the last
// non-zero byte, rounded up to raft-wal's 8-byte frames.
func dataEnd(b []byte) int {
	i := len(b) - 1
	for i >= 0 && b[i] == 0 {
		i--
	}
	return (i + 1 + 7) &^ 7
}

func FuzzScanTail(f *testing.F) {
	dir := f.TempDir()
	meta := &metadb.BoltMetaDB{}
	w, err := wal.Open(dir, wal.WithMetaStore(meta))
	if err != nil {
		f.Fatal(err)
	}
	checkedLogs{w}.StoreLogs([]*raft.Log{testLog(1), testLog(2)})
	checkedLogs{w}.StoreLogs([]*raft.Log{testLog(3)})
	w.Close()
	meta.Close()
	m, _ := filepath.Glob(filepath.Join(dir, "*.wal"))
	seg, err := os.ReadFile(m[0])
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seg[:dataEnd(seg)])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := scanTail(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err) // a bytes.Reader never fails but for EOF
		}
		if d != nil && (d.Entries <= 0 || d.Committed < 0) {
			t.Fatalf("nonsense report %+v", d)
		}
	})
}

// FuzzChecksumTrailer feeds arbitrary Extensions (the checksum's carrier)
// to a checked read: it never panics, and what it accepts reads back the
// same after a fresh write.
func FuzzChecksumTrailer(f *testing.F) {
	mem := raft.NewInmemStore()
	checkedLogs{mem}.StoreLog(testLog(1))
	var raw raft.Log
	mem.GetLog(1, &raw)
	f.Add(raw.Data, raw.Extensions)
	f.Add([]byte{}, []byte(checksumTag))
	f.Fuzz(func(t *testing.T, data, ext []byte) {
		mem := raft.NewInmemStore()
		mem.StoreLog(&raft.Log{Index: 1, Term: 1, Data: data, Extensions: ext})
		var l raft.Log
		if (checkedLogs{mem}).GetLog(1, &l) != nil {
			return
		}
		if err := (checkedLogs{mem}).StoreLog(&l); err != nil {
			t.Fatal(err)
		}
		var again raft.Log
		if err := (checkedLogs{mem}).GetLog(1, &again); err != nil || !bytes.Equal(again.Data, l.Data) || !bytes.Equal(again.Extensions, l.Extensions) {
			t.Fatalf("accepted %+v, rewritten reads %+v, %v", l, again, err)
		}
	})
}

// BenchmarkVerifyLog is the start-up cost of reading every entry once.
func BenchmarkVerifyLog(b *testing.B) {
	dir := b.TempDir()
	meta := &metadb.BoltMetaDB{}
	w, err := wal.Open(dir, wal.WithMetaStore(meta))
	if err != nil {
		b.Fatal(err)
	}
	defer meta.Close()
	defer w.Close()
	logs := checkedLogs{w}
	const entries = 10000
	data := make([]byte, 256)
	for i := uint64(1); i <= entries; i += 100 {
		batch := make([]*raft.Log, 100)
		for j := range batch {
			batch[j] = &raft.Log{Index: i + uint64(j), Term: 1, Type: raft.LogCommand, Data: data}
		}
		if err := logs.StoreLogs(batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for range b.N {
		if err := verifyLog(logs, 0, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*entries), "ns/entry")
}
