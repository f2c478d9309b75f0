package client

import (
	"context"
	"net"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/coredns-coord/coredns-coord/agent/cluster"
	"github.com/coredns-coord/coredns-coord/agent/cluster/clustertest"
	"github.com/coredns-coord/coredns-coord/agent/server"
	"github.com/coredns-coord/coredns-coord/internal/testutil"
	"github.com/coredns-coord/coredns-coord/raftstore"
	"github.com/coredns-coord/coredns-coord/rpc"
	"github.com/coredns-coord/coredns-coord/structs"
)

// startPair starts a server that bootstraps itself and a client that
// joins its gossip pool, both on loopback in this process, and waits until
// the client's replica has caught up.
func startPair(t *testing.T) (*server.Server, *Client) {
	t.Helper()
	port := testutil.FreePort(t)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	id := uuid.NewString()
	ctx, cancel := context.WithCancel(context.Background())
	s, err := server.Open(ctx, server.Config{
		NodeName: "srv", NodeID: id, Datacenter: "dc1",
		DataDir: filepath.Join(t.TempDir(), "data"), BindAddr: addr, Addr: addr,
		SourceIP: net.ParseIP("127.0.0.1"), BootstrapExpect: 1,
	})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	c := New(ctx, Config{SourceIP: net.ParseIP("127.0.0.1")})
	t.Cleanup(func() {
		cancel()
		c.Shutdown()
		s.Shutdown()
	})
	spool := clustertest.Pool(t, "srv", clustertest.ServerTags(id, port), "", s.MemberChanged)
	s.Start(spool)
	cpool := clustertest.Pool(t, "cli", clustertest.ClientTags(uuid.NewString()), spool.LocalMember().Address(), c.MemberChanged)
	c.Start(cpool)
	select {
	case <-c.CaughtUp():
	case <-time.After(20 * time.Second):
		t.Fatal("the client's replica has not caught up")
	}
	clustertest.WaitUntil(t, 10*time.Second, "a leader known to the client", func() bool { return c.Leader() != "" })
	return s, c
}

// A client forwards what only the leader answers to a server and reads
// its own writes from its replica.
func TestClientForwardsAndReplicates(t *testing.T) {
	s, c := startPair(t)
	if c.Leader() != s.Leader() {
		t.Errorf("client knows leader %q, the server %q", c.Leader(), s.Leader())
	}
	buf, err := raftstore.EncodeCommand(raftstore.KVCommand, structs.NewRequestID(),
		&structs.KVRequest{Op: structs.KVSet, DirEnt: structs.DirEntry{Key: "k", Value: []byte("v")}})
	if err != nil {
		t.Fatal(err)
	}
	res, idx, err := c.Apply(context.Background(), buf)
	if err != nil || res != true || idx == 0 {
		t.Fatalf("forwarded write: %v, %d, %v", res, idx, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Feed().WaitFor(ctx, idx); err != nil {
		t.Fatalf("the replica has not applied index %d: %v", idx, err)
	}
	_, mine, _ := c.State().KVGet(nil, "k")
	_, theirs, _ := s.State().KVGet(nil, "k")
	if mine == nil || theirs == nil || mine.ModifyIndex != theirs.ModifyIndex || string(mine.Value) != "v" {
		t.Fatalf("client's k = %+v, server's %+v", mine, theirs)
	}

	if ri, err := c.ReadIndex(); err != nil || ri < idx {
		t.Errorf("read index through the server: %d, %v; want at least %d", ri, err, idx)
	}
	resp, err := c.Operator(&rpc.OperatorRequest{Op: cluster.OpConfiguration})
	if err != nil || len(resp.Servers) != 1 || resp.Servers[0].Node != "srv" || !resp.Servers[0].Leader {
		t.Errorf("configuration through the server: %+v, %v", resp, err)
	}
	if sess, err := c.RenewSession(uuid.NewString(), ""); sess != nil || err != nil {
		t.Errorf("renew of an unknown session: %+v, %v", sess, err)
	}

	st := c.Stats()
	if st.Raft != nil || st.Replica == nil || st.Replica.IndexLag != 0 || st.Replica.LastContact > 5*time.Second {
		t.Errorf("stats %+v (replica %+v)", st, st.Replica)
	}
}

// A client that knows no server refuses writes within the hold time and
// says no leader: nothing was sent, nothing applied.
func TestClientWithoutServerRefusesWrites(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	c := New(ctx, Config{SourceIP: net.ParseIP("127.0.0.1")})
	defer func() {
		cancel()
		c.Shutdown()
	}()
	c.Start(clustertest.Pool(t, "alone", clustertest.ClientTags(uuid.NewString()), "", c.MemberChanged))
	wctx, wcancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer wcancel()
	if _, _, err := c.Apply(wctx, []byte{1}); cluster.KindOf(err) != cluster.KindNoLeader {
		t.Errorf("write without a server: %v, want no leader", err)
	}
	if c.Leader() != "" || c.LastContact() != 0 {
		t.Errorf("leader %q, last contact %s without a server", c.Leader(), c.LastContact())
	}
}
