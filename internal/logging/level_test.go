package logging

import (
	"bytes"
	"strings"
	"testing"

	clog "github.com/coredns/coredns/plugin/pkg/log"
)

func TestParseLevel(t *testing.T) {
	for in, want := range map[string]Level{"DEBUG": LevelDebug, "info": LevelInfo, "Warn": LevelWarn, "WARNING": LevelWarn, "error": LevelError, "ERR": LevelError} {
		if got, err := ParseLevel(in); err != nil || got != want {
			t.Errorf("ParseLevel(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "TRACE", "FATAL", "loud", "[INFO]"} {
		if _, err := ParseLevel(bad); err == nil {
			t.Errorf("ParseLevel(%q) accepted", bad)
		}
	}
}

func TestLineLevel(t *testing.T) {
	for line, want := range map[string]Level{
		"[DEBUG] httpapi: x":              LevelDebug,
		"2026/12/06 10:00:00 [WARNING] a": LevelWarn,
		"[ERR] memberlist: y":             LevelError,
		"[TRACE] raft: z":                 LevelDebug,
		"no tag at all":                   LevelInfo,
		"":                                LevelInfo,
	} {
		if got := LineLevel([]byte(line)); got != want {
			t.Errorf("LineLevel(%q) = %v, want %v", line, got, want)
		}
	}
}

// The filter keeps the lines at or above the level; debug lines pass while
// CoreDNS's debug plugin is on; Debugf produces lines for a watcher even
// when the level would drop them on the way out.
func TestFilterAndDebug(t *testing.T) {
	t.Cleanup(func() { SetLevel(LevelInfo); clog.D.Clear() })
	var out bytes.Buffer
	w := Filter(&out)
	write := func(lines ...string) {
		for _, l := range lines {
			w.Write([]byte(l + "\n"))
		}
	}
	SetLevel(LevelWarn)
	write("[DEBUG] a", "[INFO] b", "[WARNING] c", "[ERROR] d")
	if out.String() != "[WARNING] c\n[ERROR] d\n" {
		t.Fatalf("at WARN: %q", out.String())
	}
	out.Reset()
	SetLevel(LevelInfo)
	clog.D.Set()
	write("[DEBUG] a", "[INFO] b")
	if out.String() != "[DEBUG] a\n[INFO] b\n" {
		t.Fatalf("at INFO with the debug plugin: %q", out.String())
	}
	clog.D.Clear()

	buf := captureLog(t)
	l := New("pkg")
	l.Debugf("dropped %d", 1)
	release := WatchDebug()
	l.Debugf("kept %d", 2)
	release()
	release() // idempotent
	l.Debugf("dropped %d", 3)
	if got := buf.String(); got != "[DEBUG] pkg: kept 2\n" || DebugEnabled() {
		t.Fatalf("Debugf with a watcher: %q, still enabled %v", got, DebugEnabled())
	}
	SetLevel(LevelDebug)
	l.Debugf("at DEBUG")
	if !strings.Contains(buf.String(), "[DEBUG] pkg: at DEBUG") {
		t.Fatalf("Debugf at DEBUG: %q", buf.String())
	}
}

// LineLevel reads any line without panicking, and a line it tags is one
// whose tag ParseLevel or the libraries' names would give.
func FuzzLineLevel(f *testing.F) {
	for _, s := range []string{"[DEBUG] x", "a b [WARN] c", "[", "[]", "[ERR]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		l := LineLevel([]byte(line))
		if l < LevelDebug || l > LevelError {
			t.Fatalf("level %d out of range", l)
		}
		if l != LevelInfo && !strings.Contains(line, "[") {
			t.Fatalf("%q has no tag but level %v", line, l)
		}
		if p, err := ParseLevel(line); err == nil && p.String() == "" {
			t.Fatal("a parsed level without a name")
		}
	})
}
