package client

import (
	"bytes"
	"context"
	"log"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/coredns-coord/coredns-coord/agent/cluster/clustertest"
)

// syncWriter is a log destination tests can read while the client writes.
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

// A client with no server says so, naming retry_join and server, until a
// server joins its gossip pool; then it stops.
func TestClientWithoutServerSaysSo(t *testing.T) {
	logs := &syncWriter{}
	log.SetOutput(logs)
	t.Cleanup(func() { log.SetOutput(os.Stderr) })
	old := noServerWarnInterval
	noServerWarnInterval = 100 * time.Millisecond
	t.Cleanup(func() { noServerWarnInterval = old })

	ctx, cancel := context.WithCancel(context.Background())
	c := New(ctx, Config{SourceIP: net.ParseIP("127.0.0.1")})
	t.Cleanup(func() {
		cancel()
		c.Shutdown()
	})
	pool := clustertest.Pool(t, "lonely", clustertest.ClientTags(uuid.NewString()), "", c.MemberChanged)
	c.Start(pool)
	warned := func() bool {
		s := logs.take()
		return strings.Contains(s, "no server for") && strings.Contains(s, "retry_join") && strings.Contains(s, "`server`")
	}
	clustertest.WaitUntil(t, 5*time.Second, "the client's warning", warned)

	// A server member (its port need not answer: the warning is about
	// knowing one).
	clustertest.Pool(t, "srv", clustertest.ServerTags(uuid.NewString(), 1), pool.LocalMember().Address(), nil)
	clustertest.WaitUntil(t, 5*time.Second, "the server in the client's list", func() bool { return c.target() != "" })
	logs.take()
	time.Sleep(5 * noServerWarnInterval)
	if s := logs.take(); strings.Contains(s, "no server for") {
		t.Fatalf("warned with a server known:\n%s", s)
	}
}
