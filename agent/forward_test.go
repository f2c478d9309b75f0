package agent

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/coredns-coord/coredns-coord/agent/cluster"
	"github.com/coredns-coord/coredns-coord/agent/server"
	"github.com/coredns-coord/coredns-coord/internal/testutil"
	"github.com/coredns-coord/coredns-coord/raftstore"
	"github.com/coredns-coord/coredns-coord/rpc"
	"github.com/coredns-coord/coredns-coord/structs"
)

// startCluster starts servers server agents (data on disk) and clients
// client agents on loopback, all joined by gossip, and waits until every
// one is ready.
func startCluster(t *testing.T, servers, clients int) (srv, cli []*Agent) {
	t.Helper()
	return startClusterWith(t, servers, clients, nil)
}

// startClusterWith is startCluster with configure applied to every agent's
// configuration (nil: none).
func startClusterWith(t *testing.T, servers, clients int, configure func(*Config)) (srv, cli []*Agent) {
	t.Helper()
	var cfgs []Config
	var join []string
	for i := range servers + clients {
		cfg := Config{
			NodeName:    fmt.Sprintf("n%d", i),
			Datacenter:  "dc1",
			DataDir:     filepath.Join(t.TempDir(), "data"),
			BindAddr:    "127.0.0.1",
			ServerPort:  testutil.FreePort(t),
			SerfLANPort: testutil.FreePort(t),
		}
		if i < servers {
			cfg.Server, cfg.BootstrapExpect = true, servers
			join = append(join, fmt.Sprintf("127.0.0.1:%d", cfg.SerfLANPort))
		}
		cfgs = append(cfgs, cfg)
	}
	for i, cfg := range cfgs {
		cfg.RetryJoin = join
		if configure != nil {
			configure(&cfg)
		}
		a, err := Start(cfg, nil)
		if err != nil {
			t.Fatalf("start %s: %v", cfg.NodeName, err)
		}
		t.Cleanup(func() { a.Stop() })
		if i < servers {
			srv = append(srv, a)
		} else {
			cli = append(cli, a)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, a := range append(append([]*Agent{}, srv...), cli...) {
		for !a.Ready() {
			if time.Now().After(deadline) {
				t.Fatalf("%s not ready after 30s", a.cfg.NodeName)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return srv, cli
}

func leaderOf(t *testing.T, servers []*Agent) (leader *Agent, followers []*Agent) {
	t.Helper()
	for _, s := range servers {
		if s.role.(*server.Server).IsLeader() {
			leader = s
		} else {
			followers = append(followers, s)
		}
	}
	if leader == nil {
		t.Fatal("no leader")
	}
	return leader, followers
}

// faultyApply wraps the real Apply RPC: calls for which lose returns true
// reach the server and are applied, but their answer is replaced by a cut
// connection's error, as when the link to the leader breaks after it
// appended the write. to, when set, redirects a call.
type faultyApply struct {
	a     *Agent
	calls atomic.Int32
	lose  func(call int32) bool
	to    func(call int32, addr string) string
}

func (f *faultyApply) install() {
	send := cluster.ApplyFunc(func(ctx context.Context, addr string, req *rpc.ApplyRequest) (*rpc.ApplyResponse, error) {
		call := f.calls.Add(1)
		if f.to != nil {
			addr = f.to(call, addr)
		}
		resp, err := forwarder(f.a).Pool().Apply(ctx, addr, req)
		if err == nil && f.lose(call) {
			return nil, fmt.Errorf("rpc: Apply on %s: %w", addr, status.Error(codes.Unavailable, "error reading from server: connection reset by peer"))
		}
		return resp, err
	})
	forwarder(f.a).InjectApply(send)
}

func kvEntry(t *testing.T, a *Agent, key string) *structs.DirEntry {
	t.Helper()
	_, e, err := a.State().KVGet(nil, key)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// A write whose answer was lost after the leader applied it (a connection
// cut on the way back) is re-sent with its request ID and answered with
// its first result: a CAS stays true (Consul, and this project before
// request IDs, answered false or applied a plain write twice).
func TestLostAnswerIsResentAndAppliedOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-agent, long: starts a three-server cluster and a client; runs in make test")
	}
	servers, clients := startCluster(t, 3, 1)
	c := clients[0]
	fault := &faultyApply{a: c, lose: func(call int32) bool { return call == 1 }}
	fault.install()

	ok, err := c.KV(&structs.KVRequest{Op: structs.KVCAS, DirEnt: structs.DirEntry{Key: "cas", Value: []byte("x")}})
	if err != nil || !ok {
		t.Fatalf("BUG: CAS whose first answer was lost: %v, %v (it was applied: the re-send must say so)", ok, err)
	}
	if n := fault.calls.Load(); n != 2 {
		t.Fatalf("%d Apply calls, want the first and one re-send", n)
	}

	fault.calls.Store(0)
	if _, err := c.KV(&structs.KVRequest{Op: structs.KVSet, DirEnt: structs.DirEntry{Key: "set", Value: []byte("y")}}); err != nil {
		t.Fatal(err)
	}
	// A session's ID is chosen before Raft: its re-sent create used to
	// hit "session exists" and report a created session as a 400.
	fault.calls.Store(0)
	id, err := c.SessionCreate(&structs.Session{Name: "s"})
	if err != nil {
		t.Fatalf("BUG: session create whose first answer was lost: %v", err)
	}
	// A transaction's re-send gets the first transaction's results.
	fault.calls.Store(0)
	resp, err := c.Txn(structs.TxnOps{{KV: &structs.TxnKVOp{Verb: structs.KVCheckNotExists, DirEnt: structs.DirEntry{Key: "txn"}}},
		{KV: &structs.TxnKVOp{Verb: structs.KVSet, DirEnt: structs.DirEntry{Key: "txn", Value: []byte("z")}}}})
	if err != nil || len(resp.Errors) != 0 || len(resp.Results) != 1 {
		t.Fatalf("BUG: txn whose first answer was lost: %+v, %v", resp, err)
	}
	leader, _ := leaderOf(t, servers)
	if _, s, err := leader.State().SessionGet(nil, id); err != nil || s == nil {
		t.Errorf("session %s on the leader: %+v, %v", id, s, err)
	}
	for _, key := range []string{"cas", "set", "txn"} {
		e := kvEntry(t, leader, key)
		if e == nil || e.CreateIndex != e.ModifyIndex {
			t.Errorf("BUG: %s = %+v: written twice", key, e)
		}
		// The client reads its own write, at the same index.
		if ce := kvEntry(t, c, key); ce == nil || ce.ModifyIndex != e.ModifyIndex {
			t.Errorf("client's copy of %s = %+v, leader's %+v", key, ce, e)
		}
	}
}

// A middle hop (client -> follower -> leader) whose own forwards all lose
// their answers re-sends until its hold time ends and then answers
// "outcome unknown", never "no leader" (which says "not applied"); the
// first hop re-sends with the same ID and gets the first result.
func TestMiddleHopTimingOutIsUnknownAndResentOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-agent, long: starts a three-server cluster and a client, waits a hold time; runs in make test")
	}
	servers, clients := startCluster(t, 3, 1)
	leader, followers := leaderOf(t, servers)
	middle := followers[0]
	hop := &faultyApply{a: middle, lose: func(int32) bool { return true }}
	hop.install()
	first := &faultyApply{a: clients[0], lose: func(int32) bool { return false }, to: func(call int32, addr string) string {
		if call == 1 {
			return middle.cfg.ServerAddr()
		}
		return leader.cfg.ServerAddr()
	}}
	first.install()

	start := time.Now()
	ok, err := clients[0].KV(&structs.KVRequest{Op: structs.KVCAS, DirEnt: structs.DirEntry{Key: "k", Value: []byte("x")}})
	if err != nil || !ok {
		t.Fatalf("BUG: CAS through a middle hop that timed out: %v, %v", ok, err)
	}
	if n := hop.calls.Load(); n < 2 {
		t.Errorf("the middle hop sent %d times; it re-sends until its hold time ends", n)
	}
	// Twice: to the middle hop, then (outcome unknown) with the same ID
	// to the leader. A leader change under load may add attempts; a
	// blind re-send would show as the CAS failing or k written twice.
	if n := first.calls.Load(); n < 2 {
		t.Errorf("the first hop sent %d times, want it re-sent after the unknown outcome", n)
	} else if n > 2 {
		t.Logf("the first hop sent %d times (a leader change during the test adds attempts)", n)
	}
	if e := kvEntry(t, leader, "k"); e == nil || e.CreateIndex != e.ModifyIndex {
		t.Errorf("BUG: k = %+v", e)
	}
	t.Logf("answered after %s (the middle hop's hold time)", time.Since(start).Round(time.Millisecond))

	// The middle hop on its own: its answer says the outcome is unknown.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, _, err = forwarder(middle).Apply(ctx, mustEncode(t, "k2"), 0)
	if !errors.Is(err, raftstore.ErrOutcomeUnknown) {
		t.Errorf("a hop whose every forward lost its answer says %v, want outcome unknown", err)
	}
}

// The hop limit stops forwarding, never the leader: a request that went
// through cluster.MaxHops servers (a client, a follower, a deposed leader) is
// applied by the leader it reaches; a server that does not lead answers at
// once that it did not send it, so that the hop before tries again.
func TestHopLimitStopsForwardingNotTheLeader(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-agent, long: starts a three-server cluster; runs in make test")
	}
	servers, _ := startCluster(t, 3, 0)
	leader, followers := leaderOf(t, servers)
	ctx, cancel := context.WithTimeout(context.Background(), cluster.WriteTimeout)
	defer cancel()
	if res, _, err := forwarder(leader).Apply(ctx, mustEncode(t, "far"), cluster.MaxHops); err != nil || res != true {
		t.Fatalf("BUG: the leader refuses a request forwarded %d times: %v, %v", cluster.MaxHops, res, err)
	}
	start := time.Now()
	_, _, err := forwarder(followers[0]).Apply(ctx, mustEncode(t, "further"), cluster.MaxHops)
	if !errors.Is(err, ErrNoLeader) || time.Since(start) > time.Second {
		t.Fatalf("a follower at the hop limit: %v after %s, want ErrNoLeader at once", err, time.Since(start))
	}
}

func mustEncode(t *testing.T, key string) []byte {
	t.Helper()
	buf, err := raftstore.EncodeCommand(raftstore.KVCommand, structs.NewRequestID(), &structs.KVRequest{Op: structs.KVSet, DirEnt: structs.DirEntry{Key: key, Value: []byte("v")}})
	if err != nil {
		t.Fatal(err)
	}
	return buf
}
