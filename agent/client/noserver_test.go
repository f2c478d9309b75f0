package client

import (
	"context"
	"log"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/coredns-coord/coredns-coord/agent/cluster/clustertest"
	"github.com/coredns-coord/coredns-coord/internal/testutil"
)

// A client with no server says so, naming retry_join and server, until a
// server joins its gossip pool; then it stops.
func TestClientWithoutServerSaysSo(t *testing.T) {
	logs := &testutil.SyncBuffer{}
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
		s := logs.Take()
		return strings.Contains(s, "no server for") && strings.Contains(s, "retry_join") && strings.Contains(s, "`server`")
	}
	clustertest.WaitUntil(t, 5*time.Second, "the client's warning", warned)

	// A server member (its port need not answer: the warning is about
	// knowing one).
	clustertest.Pool(t, "srv", clustertest.ServerTags(uuid.NewString(), 1), pool.LocalMember().Address(), nil)
	clustertest.WaitUntil(t, 5*time.Second, "the server in the client's list", func() bool { return c.target() != "" })
	logs.Take()
	time.Sleep(5 * noServerWarnInterval)
	if s := logs.Take(); strings.Contains(s, "no server for") {
		t.Fatalf("warned with a server known:\n%s", s)
	}
}
