package agent

import (
	"testing"
	"time"

	"github.com/coredns-coord/coredns-coord/agent/cluster"
	"github.com/coredns-coord/coredns-coord/internal/testutil"
)

// startTestServer starts a dev-mode single server named node on loopback
// (no HTTP API), waits until it is ready and stops it when the test ends.
func startTestServer(t *testing.T, node string) *Agent {
	t.Helper()
	a, err := Start(Config{
		Dev: true, Server: true, BootstrapExpect: 1, NodeName: node, Datacenter: "dc1",
		BindAddr: "127.0.0.1", ServerPort: testutil.FreePort(t),
	}, nil)
	if err != nil {
		t.Fatalf("start %s: %v", node, err)
	}
	t.Cleanup(func() { a.Stop() })
	a.StartSync()
	waitUntil(t, 20*time.Second, node+" to be ready", a.Ready)
	return a
}

// forwarder is the role's way to the leader, where tests inject faults.
func forwarder(a *Agent) *cluster.Forwarder {
	return a.role.(interface{ Forwarder() *cluster.Forwarder }).Forwarder()
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
