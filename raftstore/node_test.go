package raftstore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/coredns-coord/coredns-coord/internal/testutil"
	"github.com/coredns-coord/coredns-coord/structs"
)

func openLeader(t testing.TB, cfg Config) *Node {
	t.Helper()
	n, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.WaitForLeader(ctx); err != nil {
		n.Shutdown()
		t.Fatal(err)
	}
	return n
}

func put(t testing.TB, n *Node, key, value string) {
	t.Helper()
	if _, err := n.Apply(KVCommand, &structs.KVRequest{Op: structs.KVSet, DirEnt: structs.DirEntry{Key: key, Value: []byte(value)}}); err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

func TestDurableAcrossRestart(t *testing.T) {
	cfg := Config{ID: "11111111-1111-1111-1111-111111111111", DataDir: t.TempDir(), Addr: testutil.FreeAddr(t), Bootstrap: true}
	n := openLeader(t, cfg)
	put(t, n, "before-snapshot", "1")
	if _, err := n.Apply(RegisterCommand, &structs.RegisterRequest{Node: "n1", Address: "10.0.0.1",
		Service: &structs.NodeService{Service: "web", Port: 80}}); err != nil {
		t.Fatal(err)
	}
	if err := n.Snapshot(); err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	put(t, n, "after-snapshot", "2")
	res, err := n.Apply(KVCommand, &structs.KVRequest{Op: structs.KVCAS, DirEnt: structs.DirEntry{Key: "before-snapshot", Value: []byte("x")}})
	if err != nil || res != false {
		t.Fatalf("cas=0 on an existing key: %v, %v (want false)", res, err)
	}
	if err := n.Shutdown(); err != nil {
		t.Fatal(err)
	}

	// Bootstrap is asked for again; existing state must win over it.
	n = openLeader(t, cfg)
	defer n.Shutdown()
	// A restarted server may lead before it has re-applied the log that
	// follows its snapshot: wait for that before reading.
	if err := n.Barrier(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{"before-snapshot": "1", "after-snapshot": "2"} {
		_, e, _ := n.State().KVGet(nil, key)
		if e == nil || string(e.Value) != want {
			t.Errorf("%s after restart: %+v, want %q", key, e, want)
		}
	}
	if _, nodes, _ := n.State().Nodes(nil); len(nodes) != 1 {
		t.Errorf("catalog after restart: %d nodes, want 1", len(nodes))
	}
	put(t, n, "after-restart", "3")
}

func TestUnknownCommandIsAnError(t *testing.T) {
	n := openLeader(t, Config{ID: "dev", Addr: "127.0.0.1:1", Bootstrap: true})
	defer n.Shutdown()
	if _, err := n.Apply(CommandType(200), struct{}{}); err == nil {
		t.Fatal("an unknown command type was applied silently")
	}
}

func BenchmarkApplyKV(b *testing.B) {
	for _, mode := range []string{"memory", "wal"} {
		b.Run(mode, func(b *testing.B) {
			cfg := Config{ID: "bench", Addr: testutil.FreeAddr(b), Bootstrap: true}
			if mode == "wal" {
				cfg.DataDir = b.TempDir()
			}
			n := openLeader(b, cfg)
			defer n.Shutdown()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					i++
					put(b, n, fmt.Sprintf("k%d", i%1024), "value")
				}
			})
		})
	}
}
