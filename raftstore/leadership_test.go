package raftstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"github.com/coredns-coord/coredns-coord/internal/testutil"
	"github.com/coredns-coord/coredns-coord/structs"
)

// cuttableLayer is Raft's TCP stream layer on loopback with a switch that
// cuts the server off: its open connections close and new ones fail both
// ways, as a network partition would.
type cuttableLayer struct {
	net.Listener
	mu    sync.Mutex
	cut   bool
	conns []net.Conn
}

func newCuttableLayer(t *testing.T) *cuttableLayer {
	t.Helper()
	ln, err := net.Listen("tcp", testutil.FreeAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	l := &cuttableLayer{Listener: ln}
	t.Cleanup(func() { ln.Close() })
	return l
}

func (l *cuttableLayer) track(c net.Conn) (net.Conn, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cut {
		c.Close()
		return nil, errors.New("partitioned")
	}
	l.conns = append(l.conns, c)
	return c, nil
}

func (l *cuttableLayer) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if c, err := l.track(c); err == nil {
			return c, nil
		}
	}
}

func (l *cuttableLayer) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", string(addr), timeout)
	if err != nil {
		return nil, err
	}
	return l.track(c)
}

// setCut partitions the server (true) or heals it.
func (l *cuttableLayer) setCut(cut bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cut = cut
	if cut {
		for _, c := range l.conns {
			c.Close()
		}
		l.conns = nil
	}
}

// startRaftCluster starts size Raft servers with their data on disk, over
// cuttable layers, and waits for a leader.
func startRaftCluster(t *testing.T, size int) ([]*Node, []*cuttableLayer) {
	t.Helper()
	nodes := make([]*Node, size)
	layers := make([]*cuttableLayer, size)
	var servers []raft.Server
	logs := &testutil.SyncBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("raft logs:\n%s", logs.String())
		}
	})
	for i := range size {
		layers[i] = newCuttableLayer(t)
		addr := layers[i].Addr().String()
		n, err := Open(Config{
			ID:      fmt.Sprintf("s%d", i),
			DataDir: t.TempDir(),
			Addr:    addr,
			Layer:   layers[i],
			Logger:  hclog.New(&hclog.LoggerOptions{Name: fmt.Sprintf("raft-%d", i), Level: hclog.Error, Output: logs}),
		})
		if err != nil {
			t.Fatal(err)
		}
		nodes[i] = n
		stop := make(chan struct{})
		go func() {
			for {
				select {
				case <-n.Leadership():
				case <-stop:
					return
				}
			}
		}()
		t.Cleanup(func() { close(stop); n.Shutdown() })
		servers = append(servers, raft.Server{ID: raft.ServerID(n.ID()), Address: raft.ServerAddress(addr)})
	}
	for _, n := range nodes {
		if err := n.BootstrapCluster(servers); err != nil {
			t.Fatal(err)
		}
	}
	waitLeader(t, nodes)
	return nodes, layers
}

// waitLeader returns the leader among nodes, waiting up to 10 s for one.
func waitLeader(t *testing.T, nodes []*Node) *Node {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, n := range nodes {
			if n.IsLeader() {
				return n
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("no leader elected in 10s")
	return nil
}

// A leader that appended a write and was cut off before committing it
// loses its leadership: the write's outcome is unknown (raft
// ErrLeadershipLost), not "not leader", which would tell the agent it was
// not applied. Re-sent with its ID to the next leader, it is applied once
// on every server.
func TestLeadershipLostWhileCommittingIsUnknown(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-server, long: starts a three-server Raft cluster; runs in make test")
	}
	nodes, layers := startRaftCluster(t, 3)
	old := waitLeader(t, nodes)
	var rest []*Node
	for i, n := range nodes {
		if n == old {
			layers[i].setCut(true)
			defer layers[i].setCut(false)
		} else {
			rest = append(rest, n)
		}
	}

	buf, err := EncodeCommand(KVCommand, structs.NewRequestID(), &structs.KVRequest{Op: structs.KVSet, DirEnt: structs.DirEntry{Key: "k", Value: []byte("once")}})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = old.ApplyEncoded(context.Background(), buf)
	if !errors.Is(err, ErrOutcomeUnknown) {
		t.Fatalf("BUG: a leader cut off while committing answers %v; want ErrOutcomeUnknown (it appended the entry)", err)
	}

	next := waitLeader(t, rest)
	res, idx, err := next.ApplyEncoded(context.Background(), buf)
	if err != nil || res != true {
		t.Fatalf("re-send to the new leader: %v, %v", res, err)
	}
	// The re-send again, as a hop that lost the answer would: the first
	// result, nothing applied.
	res2, idx2, err := next.ApplyEncoded(context.Background(), buf)
	if err != nil || res2 != true || idx2 <= idx {
		t.Fatalf("second re-send: %v at %d, %v", res2, idx2, err)
	}

	for i, l := range layers {
		if nodes[i] == old {
			l.setCut(false)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i, n := range nodes {
		if err := n.Feed().WaitFor(ctx, idx2); err != nil {
			t.Fatalf("server %d never applied index %d: %v", i, idx2, err)
		}
		_, e, err := n.State().KVGet(nil, "k")
		if err != nil || e == nil || string(e.Value) != "once" || e.ModifyIndex != idx || e.CreateIndex != idx {
			t.Errorf("BUG: server %d has k = %+v (%v); want it written once, at index %d", i, e, err, idx)
		}
	}
}

// What a failed apply means for its outcome: only a lost leadership or a
// shutdown leaves it unknown; a leader's own log write failing (a full
// disk) means not applied, so the write may go to the next leader.
func TestClassifyApplyError(t *testing.T) {
	diskFull := fmt.Errorf("%w: write wal: no space left on device", ErrLogWrite)
	for _, tc := range []struct {
		err  error
		want error
	}{
		{raft.ErrNotLeader, ErrNotLeader},
		{raft.ErrLeadershipTransferInProgress, ErrNotLeader},
		{raft.ErrEnqueueTimeout, ErrNotApplied},
		{diskFull, ErrNotApplied},
		{raft.ErrLeadershipLost, ErrOutcomeUnknown},
		{raft.ErrRaftShutdown, ErrOutcomeUnknown},
	} {
		if got := classifyApplyError(tc.err); !errors.Is(got, tc.want) {
			t.Errorf("%v: classified %v, want %v", tc.err, got, tc.want)
		}
	}
	// The cause stays visible to the HTTP API, which reports a full disk.
	if got := classifyApplyError(diskFull); !errors.Is(got, ErrLogWrite) {
		t.Errorf("a log write failure lost its cause: %v", got)
	}
	other := errors.New("invalid session")
	if got := classifyApplyError(other); got != other {
		t.Errorf("an FSM refusal was reclassified: %v", got)
	}
}
