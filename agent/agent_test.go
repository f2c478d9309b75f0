package agent

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/coredns-coord/coredns-coord/agent/local"
	"github.com/coredns-coord/coredns-coord/structs"
)

// A client agent does what a server agent does, through the server: its
// service is in both catalogs when AddService returns, its KV writes and
// sessions reach the leader and come back in its replica, operator reads
// answer from the leader; when it stops, it leaves and the leader removes
// its node.
func TestClientAgentThroughServer(t *testing.T) {
	servers, clients := startCluster(t, 1, 1)
	srv, cli := servers[0], clients[0]
	if !srv.IsServer() || cli.IsServer() {
		t.Fatalf("IsServer: server %v, client %v", srv.IsServer(), cli.IsServer())
	}
	if cli.Leader() != srv.Leader() || cli.Leader() != srv.cfg.ServerAddr() {
		t.Errorf("leader: client %q, server %q", cli.Leader(), srv.Leader())
	}

	if err := cli.AddService(&structs.ServiceDefinition{Name: "web", Port: 80}, local.SourceAPI, false); err != nil {
		t.Fatal(err)
	}
	for _, a := range []*Agent{cli, srv} {
		_, svcs, err := a.State().NodeServices(nil, cli.cfg.NodeName)
		if err != nil || svcs == nil || svcs.Services["web"] == nil {
			t.Errorf("%s's catalog: %s's services %+v, %v", a.cfg.NodeName, cli.cfg.NodeName, svcs, err)
		}
	}

	if ok, err := cli.KV(&structs.KVRequest{Op: structs.KVSet, DirEnt: structs.DirEntry{Key: "k", Value: []byte("v")}}); err != nil || !ok {
		t.Fatalf("KV through the server: %v, %v", ok, err)
	}
	if _, e, _ := cli.State().KVGet(nil, "k"); e == nil || string(e.Value) != "v" {
		t.Errorf("the client does not read its own write: %+v", e)
	}
	if err := cli.ConsistentRead(context.Background()); err != nil {
		t.Errorf("consistent read on the client: %v", err)
	}

	id, err := cli.SessionCreate(&structs.Session{Name: "s", TTL: "30s"})
	if err != nil {
		t.Fatal(err)
	}
	if s, err := cli.SessionRenew(id); err != nil || s == nil || s.ID != id {
		t.Errorf("renew through the server: %+v, %v", s, err)
	}
	if err := cli.SessionDestroy(id); err != nil {
		t.Fatal(err)
	}
	if _, s, _ := srv.State().SessionGet(nil, id); s != nil {
		t.Errorf("session %s still on the server: %+v", id, s)
	}

	peers, err := cli.Peers()
	if err != nil || len(peers) != 1 || peers[0] != srv.cfg.ServerAddr() {
		t.Errorf("peers from the client: %v, %v", peers, err)
	}
	if _, healthy, tolerance, err := cli.AutopilotHealth(); err != nil || !healthy || tolerance != 0 {
		t.Errorf("autopilot health from the client: healthy %v, tolerance %d, %v", healthy, tolerance, err)
	}

	if err := cli.Stop(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "the client's node to leave the catalog", func() bool {
		_, n, _ := srv.State().GetNode(nil, cli.cfg.NodeName)
		return n == nil
	})
}

// A lone server agent is ready once its own node, with the consul service
// and a passing serfHealth, is in its catalog; its metrics figures come
// from its role.
func TestServerAgentRegistersItself(t *testing.T) {
	a := startTestServer(t, "lone")
	_, svcs, _ := a.State().NodeServices(nil, "lone")
	if svcs == nil || svcs.Services[structs.ConsulServiceID] == nil {
		t.Fatalf("own services %+v, want the consul service", svcs)
	}
	_, checks, _ := a.State().NodeChecks(nil, "lone")
	if len(checks) != 1 || checks[0].CheckID != structs.SerfCheckID || checks[0].Status != structs.HealthPassing {
		t.Fatalf("own checks %+v, want a passing serfHealth", checks)
	}
	if st := a.role.Stats(); st.Raft == nil || st.Raft.State != "Leader" {
		t.Errorf("role stats %+v", st)
	}
	if err := a.WaitCaughtUp(context.Background()); err != nil {
		t.Error(err)
	}
}

// A server agent whose server port is taken fails to start with the
// reason, and leaves nothing running.
func TestServerPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = Start(Config{
		Dev: true, Server: true, BootstrapExpect: 1, NodeName: "taken", Datacenter: "dc1",
		BindAddr: "127.0.0.1", ServerPort: ln.Addr().(*net.TCPAddr).Port,
	}, nil)
	if err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("start on a taken server port: %v", err)
	}
}
