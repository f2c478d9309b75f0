package agent

import (
	"bytes"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coredns-coord/coredns-coord/internal/testutil"
)

// syncWriter is a log destination tests can read while agents write.
type syncWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *syncWriter) take() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.buf.String()
	w.buf.Reset()
	return s
}

// A client agent with no server says so, naming retry_join and server,
// until a server joins it; then it stops.
func TestClientWithoutServerSaysSo(t *testing.T) {
	logs := &syncWriter{}
	log.SetOutput(logs)
	t.Cleanup(func() { log.SetOutput(os.Stderr) })
	old := noServerWarnInterval
	noServerWarnInterval = 100 * time.Millisecond
	t.Cleanup(func() { noServerWarnInterval = old })

	client, err := Start(Config{
		NodeName: "lonely", Datacenter: "dc1", DataDir: filepath.Join(t.TempDir(), "data"), BindAddr: "127.0.0.1",
		ServerPort: testutil.FreePort(t), SerfLANPort: testutil.FreePort(t),
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Stop() })
	warned := func() bool {
		s := logs.take()
		return strings.Contains(s, "no server for") && strings.Contains(s, "retry_join") && strings.Contains(s, "`server`")
	}
	waitUntil(t, 5*time.Second, "the client's warning", warned)

	srvCfg := Config{
		NodeName: "srv", Datacenter: "dc1", DataDir: filepath.Join(t.TempDir(), "data"), BindAddr: "127.0.0.1",
		ServerPort: testutil.FreePort(t), SerfLANPort: testutil.FreePort(t), Server: true, BootstrapExpect: 1,
	}
	srvCfg.RetryJoin = []string{fmt.Sprintf("127.0.0.1:%d", client.cfg.SerfLANPort)}
	srv, err := Start(srvCfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })
	waitUntil(t, 20*time.Second, "the client to be ready", client.Ready)
	logs.take()
	time.Sleep(5 * noServerWarnInterval)
	if s := logs.take(); strings.Contains(s, "no server for") {
		t.Fatalf("warned with a server known:\n%s", s)
	}
}

func waitUntil(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s after %s", what, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
