package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
)

// Three servers and two clients form a cluster by bootstrap_expect and
// retry_join; a service registered on a client is answered by DNS on every
// agent, from each agent's own copy.
func TestClusterFormsAndAnswersEverywhere(t *testing.T) {
	multiProcess(t)
	c := newCluster(t, 3, 2, "")
	leader := c.leader()

	for _, n := range c.all() {
		waitFor(t, n.Name+" sees 5 alive members", func() bool {
			ms := members(t, n)
			alive := 0
			for _, st := range ms {
				if st == 1 {
					alive++
				}
			}
			return alive == 5
		})
		peers, err := n.client(t).Status().Peers()
		if err != nil || len(peers) != 3 {
			t.Fatalf("%s: status/peers = %v, %v", n.Name, peers, err)
		}
		self, err := n.client(t).Agent().Self()
		if err != nil || self["Config"]["Server"] != !n.Client {
			t.Fatalf("%s: agent/self Server = %v, %v", n.Name, self["Config"]["Server"], err)
		}
	}
	conf, err := c.clients[0].client(t).Operator().RaftGetConfiguration(nil)
	if err != nil || len(conf.Servers) != 3 {
		t.Fatalf("raft configuration from a client: %+v, %v", conf, err)
	}
	for _, s := range conf.Servers {
		if s.Leader != (s.Address == leader.serverAddr()) || !s.Voter || !strings.HasPrefix(s.Node, "s") {
			t.Fatalf("raft server %+v (leader %s)", s, leader.serverAddr())
		}
	}
	if v := metricValue(t, leader, `coredns_coord_raft_state{node="`+leader.Name+`",state="Leader"}`); v != 1 {
		t.Fatalf("raft state metric of the leader = %v", v)
	}
	for _, n := range c.all() {
		if v := metricValue(t, n, `coredns_coord_gossip_members{pool="lan",status="alive"}`); v != 5 {
			t.Fatalf("alive members metric on %s = %v", n.Name, v)
		}
	}
	// The leader registered every node with a passing serfHealth check.
	for _, n := range c.all() {
		if st := serfStatus(t, leader, n.Name); st != api.HealthPassing {
			t.Fatalf("serfHealth of %s = %q", n.Name, st)
		}
	}

	client := c.clients[0]
	if err := client.client(t).Agent().ServiceRegister(&api.AgentServiceRegistration{Name: "web", Port: 80}); err != nil {
		t.Fatal(err)
	}
	// The registering agent answers at once (it waited for its own copy).
	if got := dnsA(t, client, "web.service.consul."); !slices.Equal(got, []string{client.Bind}) {
		t.Fatalf("web on %s right after the registration = %v", client.Name, got)
	}
	seen := waitAll(t, "web.service.consul answered", c.all(), 10*time.Second, func(n *node) bool {
		return slices.Equal(dnsA(t, n, "web.service.consul."), []string{client.Bind})
	})
	t.Logf("registration on %s visible in DNS after: %v", client.Name, seen)
	if v := metricValue(t, client, `coredns_coord_rpc_forwarded_total{op="apply"}`); v < 1 {
		t.Fatalf("forwarded writes metric on the client = %v", v)
	}
	if v := metricValue(t, client, `coredns_coord_replica_index_lag{node="`+client.Name+`"}`); v != 0 {
		t.Fatalf("replica lag on the client after its own write = %v", v)
	}

	// A write on one client, a consistent read on the other: no retry
	// needed, the read waits for the leader's index.
	kv2 := c.clients[1].client(t).KV()
	if _, err := kv2.Put(&api.KVPair{Key: "cfg/x", Value: []byte("1")}, nil); err != nil {
		t.Fatal(err)
	}
	for _, n := range c.all() {
		p, meta, err := n.client(t).KV().Get("cfg/x", &api.QueryOptions{RequireConsistent: true})
		if err != nil || p == nil || string(p.Value) != "1" || !meta.KnownLeader {
			t.Fatalf("consistent read on %s = %+v, %+v, %v", n.Name, p, meta, err)
		}
	}
	// A blocking query on a client wakes on a write made on a server.
	_, meta, err := client.client(t).KV().Get("cfg/x", nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan *api.KVPair, 1)
	go func() {
		p, _, _ := client.client(t).KV().Get("cfg/x", &api.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: 10 * time.Second})
		done <- p
	}()
	time.Sleep(100 * time.Millisecond)
	if _, err := c.servers[2].client(t).KV().Put(&api.KVPair{Key: "cfg/x", Value: []byte("2")}, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-done:
		if p == nil || string(p.Value) != "2" {
			t.Fatalf("blocking read on a client woke with %+v", p)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("blocking read on a client did not wake")
	}

	// A user event fired on a server reaches every agent.
	id, _, err := c.servers[1].client(t).Event().Fire(&api.UserEvent{Name: "deploy", Payload: []byte("v2")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitAll(t, "event delivered", c.all(), 5*time.Second, func(n *node) bool {
		evs, _, err := n.client(t).Event().List("deploy", nil)
		return err == nil && len(evs) == 1 && evs[0].ID == id && string(evs[0].Payload) == "v2"
	})
}

// kill -9 of the leader: another server takes over, writes resume, no
// acknowledged write is lost, and the old leader catches up when it
// restarts.
func TestClusterLeaderKilled(t *testing.T) {
	multiProcess(t)
	c := newCluster(t, 3, 1, "")
	leader := c.leader()
	kv := c.clients[0].client(t).KV()

	var mu sync.Mutex
	var acked []string
	var failures atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			key := fmt.Sprintf("w/%05d", i)
			if _, err := kv.Put(&api.KVPair{Key: key, Value: []byte(key)}, nil); err != nil {
				failures.Add(1)
				continue
			}
			mu.Lock()
			acked = append(acked, key)
			mu.Unlock()
		}
	}()
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	waitFor(t, "writes flowing", func() bool { return count() > 20 })

	c.kill(leader)
	killed := time.Now()
	before := count()
	newLeader := c.leader()
	if newLeader == leader {
		t.Fatal("the killed server still leads")
	}
	t.Logf("new leader %s reported by every surviving server %v after the kill", newLeader.Name, time.Since(killed))
	waitFor(t, "writes resumed", func() bool { return count() > before+20 })
	close(stop)
	wg.Wait()
	t.Logf("%d writes acknowledged, %d failed during the failover", count(), failures.Load())

	check := func(n *node, opts *api.QueryOptions) bool {
		keys, _, err := n.client(t).KV().Keys("w/", "", opts)
		if err != nil {
			return false
		}
		mu.Lock()
		defer mu.Unlock()
		for _, k := range acked {
			if _, found := slices.BinarySearch(keys, k); !found {
				return false
			}
		}
		return true
	}
	if !check(newLeader, &api.QueryOptions{RequireConsistent: true}) {
		t.Fatal("an acknowledged write is missing on the new leader")
	}
	c.restart(leader)
	waitFor(t, "the old leader caught up", func() bool { return check(leader, &api.QueryOptions{AllowStale: true}) })
}

// kill -9 of a client: gossip declares it failed, the leader turns its
// serfHealth critical and its instances leave DNS answers everywhere.
func TestClusterClientKilledLeavesDNS(t *testing.T) {
	multiProcess(t)
	c := newCluster(t, 3, 2, "")
	victim, other := c.clients[1], c.clients[0]
	if err := victim.client(t).Agent().ServiceRegister(&api.AgentServiceRegistration{Name: "api", Port: 9000}); err != nil {
		t.Fatal(err)
	}
	rest := []*node{c.servers[0], c.servers[1], c.servers[2], other}
	waitAll(t, "api answered", rest, 10*time.Second, func(n *node) bool {
		return slices.Equal(dnsA(t, n, "api.service.consul."), []string{victim.Bind})
	})
	c.kill(victim)
	gone := waitAll(t, "api gone from DNS", rest, 20*time.Second, func(n *node) bool {
		return len(dnsA(t, n, "api.service.consul.")) == 0
	})
	t.Logf("instances of the killed client left DNS after: %v", gone)
	if st := serfStatus(t, c.servers[0], victim.Name); st != api.HealthCritical {
		t.Fatalf("serfHealth of the killed client = %q", st)
	}
	// It stays a member (failed, not left) until reconnect_timeout; the
	// news may reach the other client's gossip after the leader's.
	waitFor(t, "the killed client failed in the other client's members", func() bool {
		return members(t, other)[victim.Name] == 4
	})
}

// Losing two of three servers stops writes with a clear error; stale reads
// and DNS keep answering; peers.json on the survivor recovers the cluster.
func TestClusterQuorumLostAndPeersJSONRecovery(t *testing.T) {
	multiProcess(t)
	c := newCluster(t, 3, 1, "")
	survivor := c.servers[0]
	sc := survivor.client(t)
	if _, err := sc.KV().Put(&api.KVPair{Key: "before", Value: []byte("kept")}, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.clients[0].client(t).Agent().ServiceRegister(&api.AgentServiceRegistration{Name: "db", Port: 5432}); err != nil {
		t.Fatal(err)
	}
	waitAll(t, "db answered", []*node{survivor}, 5*time.Second, func(n *node) bool { return len(dnsA(t, n, "db.service.consul.")) == 1 })
	c.kill(c.servers[1])
	c.kill(c.servers[2])
	// Until the survivor steps down a write may reach its log and then
	// lose the leadership: that one's outcome is unknown (and it says so).
	// Once no leader is known, a write is definitely not applied.
	waitFor(t, "the survivor steps down", func() bool {
		l, err := sc.Status().Leader()
		return err == nil && l == ""
	})

	_, err := sc.KV().Put(&api.KVPair{Key: "after", Value: []byte("x")}, nil)
	if err == nil || !strings.Contains(err.Error(), "500") || !strings.Contains(err.Error(), "No cluster leader") {
		t.Fatalf("write without quorum: %v", err)
	}
	_, err = c.clients[0].client(t).KV().Put(&api.KVPair{Key: "after", Value: []byte("x")}, nil)
	if err == nil || !strings.Contains(err.Error(), "No cluster leader") {
		t.Fatalf("write on a client without quorum: %v", err)
	}
	for _, n := range []*node{survivor, c.clients[0]} {
		p, meta, err := n.client(t).KV().Get("before", &api.QueryOptions{AllowStale: true})
		if err != nil || p == nil || string(p.Value) != "kept" {
			t.Fatalf("stale read on %s: %+v, %v", n.Name, p, err)
		}
		// It says how stale it may be: no leader heard from for the
		// seven seconds the writes above waited, at least.
		if meta.KnownLeader || meta.LastContact < 5*time.Second {
			t.Fatalf("stale read on %s: KnownLeader %v, LastContact %v", n.Name, meta.KnownLeader, meta.LastContact)
		}
		if got := dnsA(t, n, "db.service.consul."); !slices.Equal(got, []string{c.clients[0].Bind}) {
			t.Fatalf("DNS on %s without quorum: %v", n.Name, got)
		}
	}
	if v := metricValue(t, c.clients[0], `coredns_coord_replica_last_contact_seconds{node="c1"}`); v < 5 {
		t.Fatalf("replica last contact metric on the client = %v", v)
	}

	// Recovery: the survivor alone, from peers.json.
	c.kill(survivor)
	peers := fmt.Sprintf(`[{"id": %q, "address": %q, "non_voter": false}]`, nodeID(t, survivor), survivor.serverAddr())
	if err := os.WriteFile(filepath.Join(survivor.DataDir, "raft", "peers.json"), []byte(peers), 0o600); err != nil {
		t.Fatal(err)
	}
	c.restart(survivor)
	if l := c.leader(); l != survivor {
		t.Fatalf("leader after recovery = %s", l.Name)
	}
	if _, err := sc.KV().Put(&api.KVPair{Key: "after", Value: []byte("x")}, nil); err != nil {
		t.Fatalf("write after recovery: %v", err)
	}
	p, _, err := sc.KV().Get("before", nil)
	if err != nil || p == nil || string(p.Value) != "kept" {
		t.Fatalf("data after recovery: %+v, %v", p, err)
	}
	if _, err := os.Stat(filepath.Join(survivor.DataDir, "raft", "peers.json")); !os.IsNotExist(err) {
		t.Fatalf("peers.json was not consumed: %v", err)
	}
	conf, err := sc.Operator().RaftGetConfiguration(nil)
	if err != nil || len(conf.Servers) != 1 {
		t.Fatalf("configuration after recovery: %+v, %v", conf, err)
	}
}

// Autopilot removes a dead server of five once it has been failed for the
// stabilization time; the quorum is never at risk.
func TestClusterAutopilotRemovesDeadServer(t *testing.T) {
	multiProcess(t)
	c := newCluster(t, 5, 0, "")
	leader := c.leader()
	victim := c.followers(leader)[0]
	op := c.followers(leader)[1].client(t).Operator()
	waitFor(t, "five healthy servers", func() bool {
		h, err := op.AutopilotServerHealth(nil)
		return err == nil && h.Healthy && h.FailureTolerance == 2 && len(h.Servers) == 5
	})
	c.kill(victim)
	waitFor(t, "the killed server unhealthy", func() bool {
		h, err := op.AutopilotServerHealth(nil)
		if err != nil || h.Healthy || h.FailureTolerance != 1 {
			return false
		}
		for _, s := range h.Servers {
			if s.Address == victim.serverAddr() {
				return !s.Healthy && s.SerfStatus == "failed"
			}
		}
		return false
	})
	killed := time.Now()
	waitFor20 := func() bool {
		conf, err := leader.client(t).Operator().RaftGetConfiguration(nil)
		if err != nil {
			return false
		}
		for _, s := range conf.Servers {
			if s.Address == victim.serverAddr() {
				return false
			}
		}
		return len(conf.Servers) == 4
	}
	deadline := time.Now().Add(40 * time.Second)
	for !waitFor20() {
		if time.Now().After(deadline) {
			t.Fatal("autopilot did not remove the dead server in 40s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("dead server removed from Raft %v after the kill", time.Since(killed))
	waitFor(t, "four healthy servers", func() bool {
		h, err := op.AutopilotServerHealth(nil)
		return err == nil && h.Healthy && h.FailureTolerance == 1 && len(h.Servers) == 4
	})
	if _, err := leader.client(t).KV().Put(&api.KVPair{Key: "k", Value: []byte("v")}, nil); err != nil {
		t.Fatal(err)
	}
	// operator raft remove-peer by address, through the API of a follower.
	other := c.followers(leader)[0]
	req, _ := http.NewRequest("DELETE", fmt.Sprintf("http://127.0.0.1:%d/v1/operator/raft/peer?address=%s", other.HTTP, "127.0.0.99:1"), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("removing an unknown peer: %d, want 400", resp.StatusCode)
	}
}

// A failed client's sessions are invalidated (its locks released) and the
// node is reaped after reconnect_timeout; a client that leaves gracefully
// is deregistered at once.
func TestClusterSessionsLeaveAndReap(t *testing.T) {
	multiProcess(t)
	c := newCluster(t, 1, 2, "reconnect_timeout 4s")
	server := c.servers[0].client(t)
	holder, leaver := c.clients[0], c.clients[1]
	hc := holder.client(t)
	sid, _, err := hc.Session().Create(&api.SessionEntry{Name: "lock", LockDelay: time.Nanosecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _, err := hc.KV().Acquire(&api.KVPair{Key: "lead", Value: []byte(holder.Name), Session: sid}, nil); err != nil || !ok {
		t.Fatalf("acquire: %v, %v", ok, err)
	}

	if err := leaver.client(t).Agent().Leave(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the node that left deregistered", func() bool {
		n, _, err := server.Catalog().Node(leaver.Name, nil)
		return err == nil && n == nil
	})

	c.kill(holder)
	waitFor(t, "the failed holder's lock released", func() bool {
		p, _, err := server.KV().Get("lead", nil)
		return err == nil && p != nil && p.Session == ""
	})
	if s, _, _ := server.Session().Info(sid, nil); s != nil {
		t.Fatalf("the failed node's session survived: %+v", s)
	}
	waitFor(t, "the failed node reaped after reconnect_timeout", func() bool {
		n, _, err := server.Catalog().Node(holder.Name, nil)
		return err == nil && n == nil
	})
}
