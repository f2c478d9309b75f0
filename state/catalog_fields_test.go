package state

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/coredns-coord/coredns-coord/structs"
)

// A registration with SkipNodeUpdate creates its node when there is none
// (Consul's behaviour: a service may arrive before its node), and leaves
// an existing node exactly as it is.
func TestSkipNodeUpdateCreatesOnlyAMissingNode(t *testing.T) {
	s := NewStore()
	register(t, s, 1, &structs.RegisterRequest{Node: "baz", SkipNodeUpdate: true, Datacenter: "dc1",
		Service: &structs.NodeService{ID: "web1", Service: "web"},
		Check:   &structs.HealthCheck{CheckID: "web-ok", ServiceID: "web1", Status: structs.HealthPassing}})
	_, n, _ := s.GetNode(nil, "baz")
	if n == nil || n.Address != "" || n.CreateIndex != 1 {
		t.Fatalf("node created by a skip-update registration: %+v", n)
	}
	_, svcs, _ := s.ServiceNodes(nil, "web", nil)
	if len(svcs) != 1 || svcs[0].Node != "baz" {
		t.Fatalf("service on the new node: %+v", svcs)
	}

	// The node's own registration fills it in.
	register(t, s, 2, &structs.RegisterRequest{Node: "baz", Address: "10.0.0.4", NodeMeta: map[string]string{"env": "prod"},
		Locality: &structs.Locality{Region: "r1", Zone: "z1"}})
	_, n, _ = s.GetNode(nil, "baz")
	if n.Address != "10.0.0.4" || n.Meta["env"] != "prod" || n.ModifyIndex != 2 || !n.Locality.Equal(&structs.Locality{Region: "r1", Zone: "z1"}) {
		t.Fatalf("node after its own registration: %+v", n)
	}

	// Skip-update with other node fields changes nothing about the node.
	register(t, s, 3, &structs.RegisterRequest{Node: "baz", Address: "10.9.9.9", SkipNodeUpdate: true,
		NodeMeta: map[string]string{"env": "dev"}, Service: &structs.NodeService{ID: "db1", Service: "db"}})
	_, n, _ = s.GetNode(nil, "baz")
	if n.Address != "10.0.0.4" || n.Meta["env"] != "prod" || n.ModifyIndex != 2 {
		t.Fatalf("skip-update changed an existing node: %+v", n)
	}
	if idx := s.MaxIndex(TableNodes); idx != 2 {
		t.Fatalf("nodes index %d after a skip-update, want 2", idx)
	}
	_, list, _ := s.NodeServiceList(nil, "baz")
	if list == nil || len(list.Services) != 2 {
		t.Fatalf("node services after skip-update: %+v", list)
	}
}

func fullService() *structs.NodeService {
	return &structs.NodeService{
		Kind: "connect-proxy", ID: "web-proxy1", Service: "web-proxy", Port: 8001,
		TaggedAddresses: map[string]structs.ServiceAddress{"wan": {Address: "198.18.0.1", Port: 80}},
		SocketPath:      "/run/web.sock",
		Proxy:           structs.RawObject(`{"DestinationServiceName":"web","Upstreams":[{"DestinationName":"db","LocalBindPort":9191}]}`),
		Connect:         structs.RawObject(`{"Native":true}`),
		Locality:        &structs.Locality{Region: "us-west-1", Zone: "us-west-1a"},
	}
}

// sameServiceFields compares what a registration carries beyond the basics.
func sameServiceFields(t *testing.T, where string, got, want *structs.NodeService) {
	t.Helper()
	if got.Kind != want.Kind || got.SocketPath != want.SocketPath ||
		!reflect.DeepEqual(got.TaggedAddresses, want.TaggedAddresses) ||
		!got.Proxy.Equal(want.Proxy) || !got.Connect.Equal(want.Connect) || !got.Locality.Equal(want.Locality) {
		t.Errorf("%s: got %+v\nwant %+v", where, got, want)
	}
}

// Tagged addresses, socket path, locality and the Connect blocks are kept
// and come back from every read; a re-registration without changes writes
// nothing, a change to any of them does.
func TestServiceFieldsAreKept(t *testing.T) {
	s := NewStore()
	want := fullService()
	register(t, s, 1, &structs.RegisterRequest{Node: "n1", Address: "10.0.0.1", Service: want})

	_, cs, _ := s.ServiceNodes(nil, "web-proxy", nil)
	if len(cs) != 1 {
		t.Fatalf("ServiceNodes: %+v", cs)
	}
	c := cs[0]
	sameServiceFields(t, "catalog service", &structs.NodeService{Kind: c.ServiceKind, SocketPath: c.ServiceSocketPath,
		TaggedAddresses: c.ServiceTaggedAddresses, Proxy: c.ServiceProxy, Connect: c.ServiceConnect, Locality: c.ServiceLocality}, want)
	_, list, _ := s.NodeServiceList(nil, "n1")
	sameServiceFields(t, "node service list", list.Services[0], want)
	_, csn, _ := s.CheckServiceNodes(nil, "web-proxy", nil)
	sameServiceFields(t, "health", csn[0].Service.ToNodeService(), want)

	register(t, s, 2, &structs.RegisterRequest{Node: "n1", Address: "10.0.0.1", Service: fullService()})
	if idx := s.MaxIndex(TableServices); idx != 1 {
		t.Fatalf("an unchanged re-registration moved the services index to %d", idx)
	}
	changes := map[string]func(*structs.NodeService){
		"tagged address": func(svc *structs.NodeService) {
			svc.TaggedAddresses["wan"] = structs.ServiceAddress{Address: "198.18.0.1", Port: 81}
		},
		"socket path": func(svc *structs.NodeService) { svc.SocketPath = "/run/other.sock" },
		"proxy":       func(svc *structs.NodeService) { svc.Proxy = structs.RawObject(`{"DestinationServiceName":"api"}`) },
		"connect":     func(svc *structs.NodeService) { svc.Connect = nil },
		"locality":    func(svc *structs.NodeService) { svc.Locality = &structs.Locality{Region: "eu-west-1"} },
	}
	idx := uint64(10)
	for name, change := range changes {
		svc := fullService()
		change(svc)
		idx++
		register(t, s, idx, &structs.RegisterRequest{Node: "n1", Address: "10.0.0.1", Service: svc})
		if got := s.MaxIndex(TableServices); got != idx {
			t.Errorf("a changed %s did not update the service (index %d, want %d)", name, got, idx)
		}
		_, list, _ := s.NodeServiceList(nil, "n1")
		sameServiceFields(t, name, list.Services[0], svc)
	}
}

// A check's definition is stored with it, and a changed definition is a
// change.
func TestCheckDefinitionIsKept(t *testing.T) {
	s := NewStore()
	def := structs.HealthCheckDefinition{TCP: "1.1.1.1:80", Interval: structs.Duration(5 * time.Second),
		Timeout: structs.Duration(time.Second), DeregisterCriticalServiceAfter: structs.Duration(time.Minute),
		Header: map[string][]string{"X": {"1"}}}
	reg := func() *structs.RegisterRequest {
		return &structs.RegisterRequest{Node: "n1", Address: "10.0.0.1",
			Check: &structs.HealthCheck{CheckID: "c1", Status: structs.HealthPassing, Type: "tcp", Definition: def}}
	}
	register(t, s, 1, reg())
	_, checks, _ := s.NodeChecks(nil, "n1")
	if len(checks) != 1 || !checks[0].Definition.Equal(&def) {
		t.Fatalf("stored check: %+v", checks)
	}
	register(t, s, 2, reg())
	if idx := s.MaxIndex(TableChecks); idx != 1 {
		t.Fatalf("an unchanged check moved the checks index to %d", idx)
	}
	def.Header = map[string][]string{"X": {"2"}}
	register(t, s, 3, reg())
	_, checks, _ = s.NodeChecks(nil, "n1")
	if checks[0].ModifyIndex != 3 || !checks[0].Definition.Equal(&def) {
		t.Fatalf("changed definition: %+v", checks[0])
	}
}

// A transaction's service set takes the same fields and returns them.
func TestTxnServiceSetKeepsFields(t *testing.T) {
	s := NewStore()
	register(t, s, 1, &structs.RegisterRequest{Node: "n1", Address: "10.0.0.1"})
	want := fullService()
	resp, err := s.Txn(2, structs.TxnOps{{Service: &structs.TxnServiceOp{Verb: structs.TxnSet, Node: "n1", Service: *want}}})
	if err != nil || len(resp.Errors) > 0 || len(resp.Results) != 1 {
		t.Fatalf("txn: %+v, %v", resp, err)
	}
	sameServiceFields(t, "txn result", resp.Results[0].Service, want)
}

// Snapshots carry the new fields, and a snapshot written before they
// existed still restores, with the fields empty.
func TestSnapshotCarriesCatalogFields(t *testing.T) {
	s := NewStore()
	register(t, s, 1, &structs.RegisterRequest{Node: "n1", Address: "10.0.0.1", Locality: &structs.Locality{Region: "r"},
		Service: fullService(),
		Check: &structs.HealthCheck{CheckID: "c1", ServiceID: "web-proxy1", Status: structs.HealthPassing,
			Definition: structs.HealthCheckDefinition{HTTP: "http://x/", Interval: structs.Duration(time.Second)}}})
	snap := s.Snapshot()
	var buf bytes.Buffer
	if err := snap.Persist(&buf); err != nil {
		t.Fatal(err)
	}
	snap.Release()
	restored := NewStore()
	if err := restored.Restore(&buf); err != nil {
		t.Fatal(err)
	}
	_, list, _ := restored.NodeServiceList(nil, "n1")
	if list == nil || !list.Node.Locality.Equal(&structs.Locality{Region: "r"}) {
		t.Fatalf("restored node: %+v", list)
	}
	sameServiceFields(t, "restored service", list.Services[0], fullService())
	_, checks, _ := restored.NodeChecks(nil, "n1")
	if len(checks) != 1 || checks[0].Definition.HTTP != "http://x/" || checks[0].Definition.Interval != structs.Duration(time.Second) {
		t.Fatalf("restored check: %+v", checks)
	}

	old := `{"Version":1,"Index":3}
{"Node":{"ID":"","Node":"n1","Address":"10.0.0.1","Datacenter":"dc1","TaggedAddresses":null,"Meta":null,"CreateIndex":1,"ModifyIndex":1}}
{"Service":{"Node":"n1","ServiceID":"web1","ServiceName":"web","ServiceTags":null,"ServiceAddress":"","ServiceMeta":null,"ServicePort":80,"ServiceWeights":{"Passing":1,"Warning":1},"ServiceEnableTagOverride":false,"CreateIndex":2,"ModifyIndex":2}}
{"Check":{"Node":"n1","CheckID":"c1","Name":"","Status":"passing","Notes":"","Output":"","ServiceID":"web1","ServiceName":"web","ServiceTags":null,"Type":"","CreateIndex":3,"ModifyIndex":3}}
{"Index":{"Key":"nodes","Value":1}}
{"Index":{"Key":"services","Value":2}}
{"Index":{"Key":"checks","Value":3}}
`
	older := NewStore()
	if err := older.Restore(strings.NewReader(old)); err != nil {
		t.Fatalf("snapshot without the new fields: %v", err)
	}
	_, list, _ = older.NodeServiceList(nil, "n1")
	if list == nil || len(list.Services) != 1 {
		t.Fatalf("old snapshot: %+v", list)
	}
	svc := list.Services[0]
	if svc.Port != 80 || svc.TaggedAddresses != nil || svc.Proxy != nil || svc.Connect != nil || svc.Locality != nil || svc.SocketPath != "" {
		t.Fatalf("old snapshot service: %+v", svc)
	}
	// Its empty Connect blocks read back as {} (as Consul answers).
	out, err := json.Marshal(svc)
	if err != nil || !strings.Contains(string(out), `"Proxy":{}`) || !strings.Contains(string(out), `"Connect":{}`) {
		t.Fatalf("old service as JSON: %s, %v", out, err)
	}
}

func TestNodeServiceListOrderAndUnknownNode(t *testing.T) {
	s := NewStore()
	for i, id := range []string{"zeta", "Alpha", "mid"} {
		register(t, s, uint64(i+1), &structs.RegisterRequest{Node: "n1", Address: "10.0.0.1",
			Service: &structs.NodeService{ID: id, Service: "svc"}})
	}
	_, list, err := s.NodeServiceList(nil, "N1")
	if err != nil || list == nil {
		t.Fatalf("NodeServiceList: %+v, %v", list, err)
	}
	var ids []string
	for _, svc := range list.Services {
		ids = append(ids, svc.ID)
	}
	if strings.Join(ids, ",") != "Alpha,mid,zeta" {
		t.Fatalf("order %v, want by ID", ids)
	}
	idx, none, err := s.NodeServiceList(nil, "ghost")
	if err != nil || none != nil || idx != 3 {
		t.Fatalf("unknown node: %+v, index %d, %v", none, idx, err)
	}
}
