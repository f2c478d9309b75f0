// Package testagent starts real dev-mode agents for tests.
package testagent

import (
	"testing"
	"time"

	"github.com/coredns-coord/coredns-coord/agent"
	"github.com/coredns-coord/coredns-coord/internal/testutil"
)

// DevConfig is a single in-memory server named node on loopback ports;
// httpAddr "" runs it without the HTTP API.
func DevConfig(t testing.TB, node, httpAddr string) agent.Config {
	return agent.Config{
		Dev:             true,
		Server:          true,
		NodeName:        node,
		Datacenter:      "dc1",
		BindAddr:        "127.0.0.1",
		ServerPort:      testutil.FreePort(t),
		HTTPAddr:        httpAddr,
		BootstrapExpect: 1,
	}
}

// Start starts an agent, waits until it is ready (leader known, own
// node registered) and stops it when the test ends.
func Start(t testing.TB, cfg agent.Config, api agent.HandlerFunc) *agent.Agent {
	t.Helper()
	a, err := agent.Start(cfg, api)
	if err != nil {
		t.Fatalf("start agent: %v", err)
	}
	t.Cleanup(func() {
		if err := a.Stop(); err != nil {
			t.Errorf("stop agent: %v", err)
		}
	})
	a.StartSync()
	deadline := time.Now().Add(20 * time.Second)
	for !a.Ready() {
		if time.Now().After(deadline) {
			t.Fatal("agent not ready after 20s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return a
}
