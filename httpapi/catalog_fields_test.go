package httpapi_test

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
)

// testProxy is a Connect proxy registration with nested blocks, maps and
// pointers, so that a field lost on the way shows in the comparison.
func testProxy() *api.AgentService {
	return &api.AgentService{
		Kind: api.ServiceKindConnectProxy, ID: "web-proxy1", Service: "web-proxy", Port: 8001,
		Proxy: &api.AgentServiceConnectProxyConfig{
			DestinationServiceName: "web", DestinationServiceID: "web1",
			LocalServiceAddress: "127.0.0.2", LocalServicePort: 8080,
			Mode:             api.ProxyModeTransparent,
			TransparentProxy: &api.TransparentProxyConfig{OutboundListenerPort: 808},
			Upstreams: []api.Upstream{{DestinationName: "db", LocalBindPort: 9191,
				Config: map[string]interface{}{"connect_timeout_ms": float64(1000)}}},
		},
		Connect: &api.AgentServiceConnect{Native: false},
	}
}

// A registration with SkipNodeUpdate on a node that does not exist yet
// creates the node (Consul's behaviour); on an existing node it leaves the
// node as it is.
func TestCatalogSkipNodeUpdate(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	cat := s.client.Catalog()

	_, err := cat.Register(&api.CatalogRegistration{Node: "baz", SkipNodeUpdate: true,
		Service: &api.AgentService{ID: "critical1", Service: "critical", Port: 8080, Address: "198.18.1.4"},
		Checks:  api.HealthChecks{{Node: "baz", CheckID: "baz:critical", Status: api.HealthCritical, ServiceID: "critical1"}}}, nil)
	if err != nil {
		t.Fatalf("service on a node not yet registered: %v", err)
	}
	svcs, _, err := cat.Service("critical", "", nil)
	if err != nil || len(svcs) != 1 || svcs[0].Node != "baz" || svcs[0].ServiceAddress != "198.18.1.4" {
		t.Fatalf("critical = %+v, %v", svcs, err)
	}

	if _, err := cat.Register(&api.CatalogRegistration{Node: "baz", Address: "127.0.0.4",
		NodeMeta: map[string]string{"env": "prod"}}, nil); err != nil {
		t.Fatal(err)
	}
	before, _, err := cat.Node("baz", nil)
	if err != nil || before == nil || before.Node.Address != "127.0.0.4" || len(before.Services) != 1 {
		t.Fatalf("baz after its own registration = %+v, %v", before, err)
	}

	_, err = cat.Register(&api.CatalogRegistration{Node: "baz", Address: "10.9.9.9", SkipNodeUpdate: true,
		NodeMeta: map[string]string{"env": "dev"}, Service: &api.AgentService{ID: "warning1", Service: "warning"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	after, _, err := cat.Node("baz", nil)
	if err != nil || after == nil {
		t.Fatalf("baz = %+v, %v", after, err)
	}
	if after.Node.Address != "127.0.0.4" || after.Node.Meta["env"] != "prod" || after.Node.ModifyIndex != before.Node.ModifyIndex {
		t.Fatalf("skip-update changed the node: %+v, was %+v", after.Node, before.Node)
	}
	if len(after.Services) != 2 {
		t.Fatalf("baz services = %v", after.Services)
	}
}

// The Connect blocks of a proxy registration come back as sent from every
// read; a plain service answers them empty, as Consul does.
func TestCatalogKeepsConnectBlocks(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	cat := s.client.Catalog()
	proxy := testProxy()
	if _, err := cat.Register(&api.CatalogRegistration{Node: "node1", SkipNodeUpdate: true, Service: proxy}, nil); err != nil {
		t.Fatal(err)
	}

	node, _, err := cat.Node("node1", nil)
	if err != nil || node == nil {
		t.Fatalf("node1 = %+v, %v", node, err)
	}
	got := node.Services["web-proxy1"]
	if got == nil || got.Kind != api.ServiceKindConnectProxy || !reflect.DeepEqual(got.Proxy, proxy.Proxy) {
		t.Fatalf("catalog/node proxy = %+v\nwant %+v", got, proxy.Proxy)
	}
	if c := node.Services["consul"]; c == nil || c.Proxy == nil || c.Connect == nil ||
		!reflect.DeepEqual(*c.Proxy, api.AgentServiceConnectProxyConfig{}) || c.Connect.Native {
		t.Fatalf("plain service's Connect blocks = %+v", c)
	}

	svcs, _, err := cat.Service("web-proxy", "", nil)
	if err != nil || len(svcs) != 1 || !reflect.DeepEqual(svcs[0].ServiceProxy, proxy.Proxy) {
		t.Fatalf("catalog/service proxy = %+v, %v", svcs, err)
	}
	entries, _, err := s.client.Health().Service("web-proxy", "", false, nil)
	if err != nil || len(entries) != 1 || !reflect.DeepEqual(entries[0].Service.Proxy, proxy.Proxy) {
		t.Fatalf("health/service proxy = %+v, %v", entries, err)
	}

	// The node is left as it was: the skip-update registration had no
	// address and did not blank it.
	if node.Node.Address != "127.0.0.1" {
		t.Fatalf("node1 address = %q", node.Node.Address)
	}
}

func TestCatalogNodeServiceList(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	cat := s.client.Catalog()
	proxy := testProxy()
	if _, err := cat.Register(&api.CatalogRegistration{Node: "node1", SkipNodeUpdate: true, Service: proxy}, nil); err != nil {
		t.Fatal(err)
	}
	list, meta, err := cat.NodeServiceList("node1", nil)
	if err != nil || list == nil || meta.LastIndex == 0 {
		t.Fatalf("node-services = %+v, %+v, %v", list, meta, err)
	}
	var ids []string
	for _, svc := range list.Services {
		ids = append(ids, svc.ID)
	}
	if !slices.Equal(ids, []string{"consul", "web-proxy1"}) {
		t.Fatalf("services %v, want consul and web-proxy1 in ID order", ids)
	}
	if !reflect.DeepEqual(list.Services[1].Proxy, proxy.Proxy) {
		t.Fatalf("proxy = %+v, want %+v", list.Services[1].Proxy, proxy.Proxy)
	}
	if list.Services[0].Tags == nil {
		t.Fatal("Tags is null, want []")
	}
	if list.Node == nil || list.Node.Node != "node1" || list.Node.TaggedAddresses["wan"] == "" || list.Node.Datacenter != "dc1" {
		t.Fatalf("node = %+v", list.Node)
	}

	filtered, _, err := cat.NodeServiceList("node1", &api.QueryOptions{Filter: `Kind == "connect-proxy"`})
	if err != nil || len(filtered.Services) != 1 || filtered.Services[0].ID != "web-proxy1" {
		t.Fatalf("filtered = %+v, %v", filtered, err)
	}
	unknown, meta, err := cat.NodeServiceList("nosuch", nil)
	if err != nil || unknown == nil || unknown.Node != nil || unknown.Services != nil || meta.LastIndex == 0 {
		t.Fatalf("unknown node = %+v, %+v, %v", unknown, meta, err)
	}
	s.expect(t, "GET", "/v1/catalog/node-services/nosuch", "", 200, `{"Node":null,"Services":null}`)
}

// Tagged addresses, socket path and locality of services and nodes are
// kept by the catalog.
func TestCatalogServiceAndNodeFields(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	cat := s.client.Catalog()
	loc := &api.Locality{Region: "us-west-1", Zone: "us-west-1a"}
	tagged := map[string]api.ServiceAddress{"wlan": {Address: "2.2.2.2", Port: 12345}}
	_, err := cat.Register(&api.CatalogRegistration{Node: "foo", Address: "2.2.2.2", Locality: loc,
		Service: &api.AgentService{ID: "foo1", Service: "foo", Port: 12345, TaggedAddresses: tagged,
			SocketPath: "/run/foo.sock", Locality: loc}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	svcs, _, err := cat.Service("foo", "", nil)
	if err != nil || len(svcs) != 1 {
		t.Fatalf("foo = %+v, %v", svcs, err)
	}
	if !reflect.DeepEqual(svcs[0].ServiceTaggedAddresses, tagged) || !reflect.DeepEqual(svcs[0].ServiceLocality, loc) {
		t.Fatalf("catalog/service = %+v", svcs[0])
	}
	node, _, err := cat.Node("foo", nil)
	if err != nil || node == nil {
		t.Fatalf("foo = %+v, %v", node, err)
	}
	svc := node.Services["foo1"]
	if !reflect.DeepEqual(node.Node.Locality, loc) || svc == nil || svc.SocketPath != "/run/foo.sock" ||
		!reflect.DeepEqual(svc.TaggedAddresses, tagged) || !reflect.DeepEqual(svc.Locality, loc) {
		t.Fatalf("catalog/node = %+v %+v", node.Node, svc)
	}
	nodes, _, err := cat.Nodes(&api.QueryOptions{Filter: `Node == "foo"`})
	if err != nil || len(nodes) != 1 || !reflect.DeepEqual(nodes[0].Locality, loc) {
		t.Fatalf("catalog/nodes = %+v, %v", nodes, err)
	}
}

// A catalog check keeps its definition and gets its type from it.
func TestCatalogCheckDefinition(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	_, err := s.client.Catalog().Register(&api.CatalogRegistration{Node: "foo", Address: "2.2.2.2",
		Checks: api.HealthChecks{
			{CheckID: "bar", Status: api.HealthCritical, Definition: api.HealthCheckDefinition{
				TCP: "1.1.1.1:80", IntervalDuration: 5 * time.Second, TimeoutDuration: 10 * time.Second,
				DeregisterCriticalServiceAfterDuration: 20 * time.Second}},
			{CheckID: "bur", Status: api.HealthPassing, Type: "udp", Definition: api.HealthCheckDefinition{
				UDP: "2.2.2.2:53", Interval: api.ReadableDuration(5 * time.Second)}},
		}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	checks, _, err := s.client.Health().Node("foo", nil)
	if err != nil || len(checks) != 2 {
		t.Fatalf("checks = %+v, %v", checks, err)
	}
	bar, bur := checks[0], checks[1]
	if bar.Type != "tcp" || bar.Definition.TCP != "1.1.1.1:80" || bar.Definition.IntervalDuration != 5*time.Second ||
		bar.Definition.TimeoutDuration != 10*time.Second || bar.Definition.DeregisterCriticalServiceAfterDuration != 20*time.Second {
		t.Fatalf("bar = %+v", bar)
	}
	if bur.Type != "udp" || bur.Definition.UDP != "2.2.2.2:53" || bur.Definition.IntervalDuration != 5*time.Second {
		t.Fatalf("bur = %+v", bur)
	}
}

// Transaction results carry the service's tagged addresses and empty
// Connect blocks, and the check's definition, as Consul's do.
func TestTxnCatalogFields(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	tagged := map[string]api.ServiceAddress{"wlan": {Address: "1.1.1.1", Port: 12345}}
	ok, ret, _, err := s.client.Txn().Txn(api.TxnOps{
		{Node: &api.NodeTxnOp{Verb: api.NodeSet, Node: api.Node{Node: "n1", Address: "1.1.1.1"}}},
		{Service: &api.ServiceTxnOp{Verb: api.ServiceSet, Node: "n1",
			Service: api.AgentService{ID: "s1", Service: "s1", Port: 12345, TaggedAddresses: tagged}}},
		{Check: &api.CheckTxnOp{Verb: api.CheckSet, Check: api.HealthCheck{Node: "n1", CheckID: "c1", ServiceID: "s1",
			Status: api.HealthPassing, Definition: api.HealthCheckDefinition{HTTP: "http://1.1.1.1/",
				Interval: api.ReadableDuration(40 * time.Second), Timeout: api.ReadableDuration(80 * time.Second)}}}},
	}, nil)
	if err != nil || !ok || len(ret.Results) != 3 {
		t.Fatalf("txn: %v, %+v, %v", ok, ret, err)
	}
	svc := ret.Results[1].Service
	if !reflect.DeepEqual(svc.TaggedAddresses, tagged) || svc.Proxy == nil || svc.Connect == nil {
		t.Fatalf("service result = %+v", svc)
	}
	hc := ret.Results[2].Check
	if hc.Type != "http" || hc.Definition.HTTP != "http://1.1.1.1/" || hc.Definition.IntervalDuration != 40*time.Second ||
		hc.Definition.TimeoutDuration != 80*time.Second {
		t.Fatalf("check result = %+v", hc)
	}
}

// The agent's own node carries the meta keys and tagged addresses a
// Consul agent's node does; consul-version matches what agent/self says.
func TestAgentNodeMetaAndTaggedAddresses(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	self, err := s.client.Agent().Self()
	if err != nil {
		t.Fatal(err)
	}
	version, _ := self["Config"]["Version"].(string)
	node, _, err := s.client.Catalog().Node("node1", nil)
	if err != nil || node == nil {
		t.Fatalf("node1 = %+v, %v", node, err)
	}
	wantMeta := map[string]string{"consul-network-segment": "", "consul-version": version}
	if version == "" || !reflect.DeepEqual(node.Node.Meta, wantMeta) {
		t.Fatalf("meta = %v, want %v", node.Node.Meta, wantMeta)
	}
	wantAddrs := map[string]string{"lan": "127.0.0.1", "lan_ipv4": "127.0.0.1", "wan": "127.0.0.1", "wan_ipv4": "127.0.0.1"}
	if !reflect.DeepEqual(node.Node.TaggedAddresses, wantAddrs) {
		t.Fatalf("tagged addresses = %v, want %v", node.Node.TaggedAddresses, wantAddrs)
	}
}

// Services registered with the agent keep tagged addresses, socket path and
// locality, in agent/services and in the catalog; a change to them syncs.
func TestAgentServiceFields(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	agent := s.client.Agent()
	loc := &api.Locality{Region: "us-west-1", Zone: "us-west-1a"}
	reg := &api.AgentServiceRegistration{Name: "foo", ID: "foo", Port: 8000, SocketPath: "/tmp/foo.sock", Locality: loc,
		TaggedAddresses: map[string]api.ServiceAddress{"lan": {Address: "198.18.0.1", Port: 80}}}
	if err := agent.ServiceRegister(reg); err != nil {
		t.Fatal(err)
	}
	svcs, err := agent.Services()
	if err != nil {
		t.Fatal(err)
	}
	got := svcs["foo"]
	if got == nil || got.SocketPath != "/tmp/foo.sock" || !reflect.DeepEqual(got.Locality, loc) ||
		!reflect.DeepEqual(got.TaggedAddresses, reg.TaggedAddresses) {
		t.Fatalf("agent/services foo = %+v", got)
	}
	cs, _, err := s.client.Catalog().Service("foo", "", nil)
	if err != nil || len(cs) != 1 || !reflect.DeepEqual(cs[0].ServiceLocality, loc) ||
		!reflect.DeepEqual(cs[0].ServiceTaggedAddresses, reg.TaggedAddresses) {
		t.Fatalf("catalog foo = %+v, %v", cs, err)
	}

	// Only the locality changes: the agent must see a change and sync it.
	reg.Locality = &api.Locality{Region: "eu-west-1"}
	if err := agent.ServiceRegister(reg); err != nil {
		t.Fatal(err)
	}
	cs, _, err = s.client.Catalog().Service("foo", "", nil)
	if err != nil || len(cs) != 1 || !reflect.DeepEqual(cs[0].ServiceLocality, reg.Locality) {
		t.Fatalf("catalog foo after a locality change = %+v, %v", cs, err)
	}

	// Connect is still refused on the agent: nothing would run the proxy.
	err = agent.ServiceRegister(&api.AgentServiceRegistration{Name: "p", Kind: api.ServiceKindConnectProxy,
		Proxy: &api.AgentServiceConnectProxyConfig{DestinationServiceName: "foo"}})
	if !isStatus(err, 400) {
		t.Fatalf("agent connect-proxy registration: %v, want 400", err)
	}
	reg.TaggedAddresses["lan"] = api.ServiceAddress{Address: "198.18.0.1", Port: 70000}
	if err := agent.ServiceRegister(reg); !isStatus(err, 400) {
		t.Fatalf("tagged address port 70000: %v, want 400", err)
	}
}
