// Package clustertest gives the role tests what the agent gives a role:
// a real gossip pool on loopback, tagged as a server or a client, whose
// membership changes are passed on as the agent's gossip loop does.
package clustertest

import (
	"io"
	"log"
	"strconv"
	"testing"
	"time"

	"github.com/coredns-coord/coredns-coord/agent/cluster"
	"github.com/coredns-coord/coredns-coord/gossip"
)

// ServerTags are the tags of a server with Raft ID id on port.
func ServerTags(id string, port int) map[string]string {
	return map[string]string{cluster.TagRole: cluster.RoleServer, cluster.TagID: id, cluster.TagPort: strconv.Itoa(port), cluster.TagExpect: "1"}
}

// ClientTags are the tags of a client with node ID id.
func ClientTags(id string) map[string]string {
	return map[string]string{cluster.TagRole: cluster.RoleClient, cluster.TagID: id}
}

// Pool is a LAN gossip pool on 127.0.0.1, joined to join (a pool's
// address) unless it is "", shut down when the test ends. Every membership
// change is passed to changed, from one goroutine, as the agent does.
func Pool(t testing.TB, name string, tags map[string]string, join string, changed func(gossip.Member)) *gossip.Pool {
	t.Helper()
	p, err := gossip.Create(gossip.Config{
		NodeName: name, Datacenter: "dc1", BindAddr: "127.0.0.1", BindPort: 0,
		AdvertiseAddr: "127.0.0.1", Tags: tags, Tuning: gossip.DefaultLANTuning(),
		Logger: log.New(io.Discard, "", 0),
	})
	if err != nil {
		t.Fatalf("gossip pool %s: %v", name, err)
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case <-done:
				return
			case ev, ok := <-p.Events():
				if !ok {
					return
				}
				if changed != nil {
					changed(ev.Member)
				}
			}
		}
	}()
	t.Cleanup(func() {
		close(done)
		<-stopped
		p.Shutdown()
	})
	if join != "" {
		if _, err := p.Join([]string{join}); err != nil {
			t.Fatalf("%s joins %s: %v", name, join, err)
		}
	}
	return p
}

// WaitUntil fails the test unless cond holds within limit.
func WaitUntil(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s after %s", what, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
