package agent

import (
	"maps"
	"testing"
	"time"

	"github.com/coredns-coord/coredns-coord/internal/testutil"
)

// The agent's own node carries the configured meta plus the keys a Consul
// agent sets, and the four tagged addresses; the configuration is not
// changed by it.
func TestSelfRegistrationMeta(t *testing.T) {
	t.Parallel()
	cfgMeta := map[string]string{"rack": "r1"}
	a, err := Start(Config{
		Dev: true, Server: true, BootstrapExpect: 1, NodeName: "self", Datacenter: "dc1",
		BindAddr: "127.0.0.1", ServerPort: testutil.FreePort(t), NodeMeta: cfgMeta,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Stop() })
	a.StartSync()
	waitUntil(t, 20*time.Second, "the agent to be ready", a.Ready)

	_, n, err := a.State().GetNode(nil, "self")
	if err != nil || n == nil {
		t.Fatalf("own node = %+v, %v", n, err)
	}
	want := map[string]string{"rack": "r1", MetaSegmentKey: "", MetaConsulVersionKey: ConsulVersion}
	if !maps.Equal(n.Meta, want) {
		t.Fatalf("meta = %v, want %v", n.Meta, want)
	}
	wantAddrs := map[string]string{"lan": "127.0.0.1", "lan_ipv4": "127.0.0.1", "wan": "127.0.0.1", "wan_ipv4": "127.0.0.1"}
	if !maps.Equal(n.TaggedAddresses, wantAddrs) {
		t.Fatalf("tagged addresses = %v, want %v", n.TaggedAddresses, wantAddrs)
	}
	if len(cfgMeta) != 1 || len(a.Config().NodeMeta) != 1 {
		t.Fatalf("the configured meta was changed: %v", a.Config().NodeMeta)
	}
}
