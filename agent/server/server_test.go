package server

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/coredns-coord/coredns-coord/agent/cluster"
	"github.com/coredns-coord/coredns-coord/agent/cluster/clustertest"
	"github.com/coredns-coord/coredns-coord/gossip"
	"github.com/coredns-coord/coredns-coord/internal/testutil"
	"github.com/coredns-coord/coredns-coord/raftstore"
	"github.com/coredns-coord/coredns-coord/rpc"
	"github.com/coredns-coord/coredns-coord/structs"
)

// startServer opens a server that bootstraps itself (Raft in a temporary
// data directory, the server port on loopback), starts it with its own
// gossip pool and waits until it leads and has caught up. It is shut down
// when the test ends.
func startServer(t *testing.T, name string) (*Server, *gossip.Pool) {
	t.Helper()
	port := testutil.FreePort(t)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	id := uuid.NewString()
	ctx, cancel := context.WithCancel(context.Background())
	s, err := Open(ctx, Config{
		NodeName: name, NodeID: id, Datacenter: "dc1",
		DataDir: filepath.Join(t.TempDir(), "data"), BindAddr: addr, Addr: addr,
		SourceIP: net.ParseIP("127.0.0.1"), BootstrapExpect: 1,
	})
	if err != nil {
		cancel()
		t.Fatalf("open server %s: %v", name, err)
	}
	t.Cleanup(func() {
		cancel()
		if err := s.Shutdown(); err != nil {
			t.Errorf("shut down %s: %v", name, err)
		}
	})
	pool := clustertest.Pool(t, name, clustertest.ServerTags(id, port), "", s.MemberChanged)
	s.Start(pool)
	clustertest.WaitUntil(t, 20*time.Second, name+" to lead", s.IsLeader)
	select {
	case <-s.CaughtUp():
	case <-time.After(20 * time.Second):
		t.Fatalf("%s has not caught up", name)
	}
	return s, pool
}

func kvSet(key string) []byte {
	buf, err := raftstore.EncodeCommand(raftstore.KVCommand, structs.NewRequestID(),
		&structs.KVRequest{Op: structs.KVSet, DirEnt: structs.DirEntry{Key: key, Value: []byte("v")}})
	if err != nil {
		panic(err)
	}
	return buf
}

// A lone server answers everything only a leader answers itself: writes,
// read indexes, session renewals and operator commands.
func TestLeaderAnswersItself(t *testing.T) {
	s, _ := startServer(t, "s1")
	if s.Leader() != s.cfg.Addr || s.LastContact() != 0 {
		t.Errorf("leader %q, last contact %s; want %s and 0", s.Leader(), s.LastContact(), s.cfg.Addr)
	}
	res, idx, err := s.Apply(context.Background(), kvSet("k"))
	if err != nil || res != true || idx == 0 {
		t.Fatalf("apply: %v, %d, %v", res, idx, err)
	}
	if _, e, _ := s.State().KVGet(nil, "k"); e == nil || e.ModifyIndex != idx {
		t.Fatalf("k = %+v after the write at %d", e, idx)
	}
	if ri, err := s.ReadIndex(); err != nil || ri < idx {
		t.Errorf("read index %d, %v; want at least %d", ri, err, idx)
	}
	if sess, err := s.RenewSession(uuid.NewString(), ""); sess != nil || err != nil {
		t.Errorf("renew of an unknown session: %+v, %v; want nil, nil", sess, err)
	}

	resp, err := s.Operator(&rpc.OperatorRequest{Op: cluster.OpConfiguration})
	if err != nil || len(resp.Servers) != 1 {
		t.Fatalf("configuration: %+v, %v", resp, err)
	}
	if got := resp.Servers[0]; got.Node != "s1" || !got.Leader || !got.Voter || got.Address != s.cfg.Addr {
		t.Errorf("configuration lists %+v", got)
	}
	if _, err := s.Operator(&rpc.OperatorRequest{Op: cluster.OpRemovePeer, ID: s.cfg.NodeID}); err == nil {
		t.Error("the leader removed itself")
	}
	if _, err := s.Operator(&rpc.OperatorRequest{Op: "no-such-command"}); err == nil {
		t.Error("an unknown operator command was accepted")
	}
	health, err := s.Operator(&rpc.OperatorRequest{Op: cluster.OpAutopilotHealth})
	if err != nil || len(health.Servers) != 1 || !health.Servers[0].Healthy {
		t.Errorf("autopilot health: %+v, %v", health, err)
	}

	st := s.Stats()
	if st.Raft == nil || st.Raft.State != "Leader" || st.Raft.AppliedIndex < idx || st.Replica != nil {
		t.Errorf("stats %+v", st)
	}
}

// The leader writes gossip membership into the catalog: a member that
// joins gets its node with a passing serfHealth check, one that stops
// answering gets it critical, one that leaves is deregistered.
func TestLeaderReconcilesMembership(t *testing.T) {
	s, pool := startServer(t, "s1")
	join := pool.LocalMember().Address()
	leaving := clustertest.Pool(t, "leaving", clustertest.ClientTags(uuid.NewString()), join, nil)
	failing := clustertest.Pool(t, "failing", clustertest.ClientTags(uuid.NewString()), join, nil)
	serf := func(node string) string {
		if hc := s.serfCheck(node); hc != nil {
			return hc.Status
		}
		return ""
	}
	for _, node := range []string{"s1", "leaving", "failing"} {
		clustertest.WaitUntil(t, 10*time.Second, node+"'s passing serfHealth", func() bool { return serf(node) == structs.HealthPassing })
	}
	if _, svcs, _ := s.State().NodeServices(nil, "s1"); svcs == nil || svcs.Services[structs.ConsulServiceID] == nil {
		t.Errorf("the server's node lacks the consul service: %+v", svcs)
	}

	failing.Shutdown()
	clustertest.WaitUntil(t, 10*time.Second, "failing's critical serfHealth", func() bool { return serf("failing") == structs.HealthCritical })

	if err := leaving.Leave(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	clustertest.WaitUntil(t, 10*time.Second, "leaving's node to be deregistered", func() bool {
		_, n, _ := s.State().GetNode(nil, "leaving")
		return n == nil
	})
}

// A session whose TTL lapses is invalidated by the leader's timer.
func TestLeaderExpiresSessions(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the shortest session TTL (10s) and its grace; runs in make test")
	}
	s, _ := startServer(t, "s1")
	id := uuid.NewString()
	_, err := cluster.Apply(s.write, raftstore.Session, &structs.SessionRequest{Op: structs.SessionCreate,
		Session: structs.Session{ID: id, Node: "s1", TTL: structs.MinSessionTTL.String(), Behavior: structs.SessionRelease,
			NodeChecks: []string{structs.SerfCheckID}}})
	if err != nil {
		t.Fatal(err)
	}
	clustertest.WaitUntil(t, 3*structs.MinSessionTTL, "the session to expire", func() bool {
		_, sess, _ := s.State().SessionGet(nil, id)
		return sess == nil
	})
	if n := s.Stats().SessionsExpired; n != 1 {
		t.Errorf("%d sessions counted expired, want 1", n)
	}
}

// A server that cannot reach a leader says so within the hold time and
// applies nothing.
func TestFollowerWithoutLeaderRefuses(t *testing.T) {
	port := testutil.FreePort(t)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	ctx, cancel := context.WithCancel(context.Background())
	s, err := Open(ctx, Config{NodeName: "alone", NodeID: uuid.NewString(), Datacenter: "dc1",
		DataDir: t.TempDir(), BindAddr: addr, Addr: addr, SourceIP: net.ParseIP("127.0.0.1")})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	defer func() {
		cancel()
		s.Shutdown()
	}()
	s.Start(clustertest.Pool(t, "alone", clustertest.ServerTags(s.cfg.NodeID, port), "", s.MemberChanged))
	wctx, wcancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer wcancel()
	if _, _, err := s.Apply(wctx, kvSet("k")); !errors.Is(err, cluster.ErrNoLeader) {
		t.Errorf("write without a leader: %v, want ErrNoLeader", err)
	}
	// A leader duty is never forwarded: it is dropped as not the leader's
	// (a forward would end in ErrNoLeader after the hold time).
	if _, err := s.write(kvSet("duty")); !errors.Is(err, raftstore.ErrNotLeader) {
		t.Errorf("leader duty on a server that does not lead: %v, want ErrNotLeader", err)
	}
	if s.Leader() != "" || s.IsLeader() {
		t.Errorf("a server that was never bootstrapped knows leader %q", s.Leader())
	}
	select {
	case <-s.CaughtUp():
		t.Error("caught up without a leader")
	default:
	}
}
