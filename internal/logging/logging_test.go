package logging

import (
	"bytes"
	"io"
	"log"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
)

func captureLog(t *testing.T) *bytes.Buffer {
	var buf bytes.Buffer
	flags, out := log.Flags(), log.Writer()
	log.SetFlags(0)
	log.SetOutput(&buf)
	t.Cleanup(func() { log.SetFlags(flags); log.SetOutput(out) })
	return &buf
}

func TestLoggerNamesItsPackage(t *testing.T) {
	buf := captureLog(t)
	l := New("agent")
	l.Infof("joined %d", 3)
	l.Warningf("slow")
	l.Errorf("failed: %v", io.EOF)
	want := "[INFO] agent: joined 3\n[WARNING] agent: slow\n[ERROR] agent: failed: EOF\n"
	if buf.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", buf, want)
	}
}

// hclog (raft) and memberlist lines come out in CoreDNS's shape, whole
// lines only, whatever the writes' boundaries.
func TestWriterRetagsLibraryLines(t *testing.T) {
	buf := captureLog(t)
	h := hclog.New(&hclog.LoggerOptions{Name: "raft", Output: Writer(), DisableTime: true, Level: hclog.Info})
	h.Warn("heartbeat timeout reached", "last-leader-addr", "127.0.0.1:8300")
	h.Error("failed to commit logs")
	w := Writer()
	io.WriteString(w, "[WARN] memberlist: Was able to connect to b")
	if buf.Len() > 0 && strings.Contains(buf.String(), "memberlist") {
		t.Fatal("a partial line was logged")
	}
	io.WriteString(w, " over TCP\n[ERR] memberlist: Failed\n[INFO] kept\n")
	want := "[WARNING] raft: heartbeat timeout reached: last-leader-addr=127.0.0.1:8300\n" +
		"[ERROR] raft: failed to commit logs\n" +
		"[WARNING] memberlist: Was able to connect to b over TCP\n" +
		"[ERROR] memberlist: Failed\n" +
		"[INFO] kept\n"
	if buf.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", buf, want)
	}
}
