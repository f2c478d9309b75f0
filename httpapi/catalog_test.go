package httpapi_test

import (
	"slices"
	"sort"
	"testing"

	"github.com/hashicorp/consul/api"
)

func nodeNames(nodes []*api.Node) []string {
	out := []string{}
	for _, n := range nodes {
		out = append(out, n.Node)
	}
	sort.Strings(out)
	return out
}

func serviceNodeNames(svcs []*api.CatalogService) []string {
	out := []string{}
	for _, s := range svcs {
		out = append(out, s.Node)
	}
	sort.Strings(out)
	return out
}

func TestCatalog(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	cat := s.client.Catalog()

	s.registerNode(t, "web1", "10.0.0.1", map[string]string{"rack": "r1"},
		&api.AgentService{ID: "web", Service: "web", Tags: []string{"v1", "primary"}, Port: 80}, "passing")
	s.registerNode(t, "web2", "10.0.0.2", map[string]string{"rack": "r2"},
		&api.AgentService{ID: "web", Service: "web", Tags: []string{"v2"}, Port: 8080, Address: "10.1.0.2"}, "critical")

	t.Run("datacenters", func(t *testing.T) {
		dcs, err := cat.Datacenters()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(dcs, []string{"dc1"}) {
			t.Fatalf("datacenters = %v", dcs)
		}
	})

	t.Run("nodes", func(t *testing.T) {
		nodes, meta, err := cat.Nodes(nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := nodeNames(nodes); !slices.Equal(got, []string{"node1", "web1", "web2"}) {
			t.Fatalf("nodes = %v", got)
		}
		if meta.LastIndex == 0 || !meta.KnownLeader {
			t.Fatalf("query meta = %+v", meta)
		}
		for _, n := range nodes {
			if n.Node == "web1" && (n.Address != "10.0.0.1" || n.Meta["rack"] != "r1" || n.Datacenter != "dc1") {
				t.Fatalf("web1 = %+v", n)
			}
		}
	})

	t.Run("nodes node-meta", func(t *testing.T) {
		nodes, _, err := cat.Nodes(&api.QueryOptions{NodeMeta: map[string]string{"rack": "r1"}})
		if err != nil {
			t.Fatal(err)
		}
		if got := nodeNames(nodes); !slices.Equal(got, []string{"web1"}) {
			t.Fatalf("nodes with rack=r1 = %v", got)
		}
	})

	t.Run("nodes filter", func(t *testing.T) {
		nodes, _, err := cat.Nodes(&api.QueryOptions{Filter: `Meta.rack == "r2"`})
		if err != nil {
			t.Fatal(err)
		}
		if got := nodeNames(nodes); !slices.Equal(got, []string{"web2"}) {
			t.Fatalf("nodes filtered on rack r2 = %v", got)
		}
		nodes, _, err = cat.Nodes(&api.QueryOptions{Filter: `Address == "10.0.0.1" or Node == "node1"`})
		if err != nil {
			t.Fatal(err)
		}
		if got := nodeNames(nodes); !slices.Equal(got, []string{"node1", "web1"}) {
			t.Fatalf("nodes filtered on address or name = %v", got)
		}
	})

	t.Run("services", func(t *testing.T) {
		svcs, _, err := cat.Services(nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := svcs["web"]; !slices.Equal(got, []string{"primary", "v1", "v2"}) {
			t.Fatalf("services = %v", svcs)
		}
		svcs, _, err = cat.Services(&api.QueryOptions{NodeMeta: map[string]string{"rack": "r2"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(svcs) != 1 || !slices.Equal(svcs["web"], []string{"v2"}) {
			t.Fatalf("services on rack r2 = %v", svcs)
		}
		// The filter applies to instances, as Consul's.
		svcs, _, err = cat.Services(&api.QueryOptions{Filter: `"primary" in ServiceTags`})
		if err != nil {
			t.Fatal(err)
		}
		if len(svcs) != 1 || !slices.Equal(svcs["web"], []string{"primary", "v1"}) {
			t.Fatalf("services filtered on tag primary = %v", svcs)
		}
		svcs, _, err = cat.Services(&api.QueryOptions{Filter: `ServicePort == 1`})
		if err != nil {
			t.Fatal(err)
		}
		if len(svcs) != 0 {
			t.Fatalf("services filtered on port 1 = %v", svcs)
		}
	})

	t.Run("service", func(t *testing.T) {
		all, meta, err := cat.Service("web", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := serviceNodeNames(all); !slices.Equal(got, []string{"web1", "web2"}) {
			t.Fatalf("web instances = %v", got)
		}
		if meta.LastIndex == 0 {
			t.Fatal("no index")
		}
		for _, cs := range all {
			if cs.Node == "web2" && (cs.ServicePort != 8080 || cs.ServiceAddress != "10.1.0.2" ||
				cs.Address != "10.0.0.2" || cs.NodeMeta["rack"] != "r2" || cs.ServiceWeights.Passing != 1) {
				t.Fatalf("web2 instance = %+v", cs)
			}
		}
		v1, _, err := cat.Service("web", "v1", nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := serviceNodeNames(v1); !slices.Equal(got, []string{"web1"}) {
			t.Fatalf("web tagged v1 = %v", got)
		}
		both, _, err := cat.ServiceMultipleTags("web", []string{"v1", "primary"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := serviceNodeNames(both); !slices.Equal(got, []string{"web1"}) {
			t.Fatalf("web tagged v1 and primary = %v", got)
		}
		none, _, err := cat.ServiceMultipleTags("web", []string{"v1", "v2"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(none) != 0 {
			t.Fatalf("web tagged v1 and v2 = %v", serviceNodeNames(none))
		}
		r2, _, err := cat.Service("web", "", &api.QueryOptions{NodeMeta: map[string]string{"rack": "r2"}})
		if err != nil {
			t.Fatal(err)
		}
		if got := serviceNodeNames(r2); !slices.Equal(got, []string{"web2"}) {
			t.Fatalf("web on rack r2 = %v", got)
		}
		f, _, err := cat.Service("web", "", &api.QueryOptions{Filter: `ServicePort == 80`})
		if err != nil {
			t.Fatal(err)
		}
		if got := serviceNodeNames(f); !slices.Equal(got, []string{"web1"}) {
			t.Fatalf("web filtered on port 80 = %v", got)
		}
		missing, _, err := cat.Service("nosuch", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if missing == nil || len(missing) != 0 {
			t.Fatalf("unknown service = %#v, want an empty list", missing)
		}
	})

	t.Run("node", func(t *testing.T) {
		n, _, err := cat.Node("web1", nil)
		if err != nil {
			t.Fatal(err)
		}
		if n == nil || n.Node.Node != "web1" || n.Node.Address != "10.0.0.1" {
			t.Fatalf("node web1 = %+v", n)
		}
		if svc := n.Services["web"]; svc == nil || svc.Port != 80 || !slices.Equal(svc.Tags, []string{"v1", "primary"}) {
			t.Fatalf("web1 services = %+v", n.Services)
		}
		unknown, meta, err := cat.Node("nosuch", nil)
		if err != nil {
			t.Fatal(err)
		}
		if unknown != nil {
			t.Fatalf("unknown node = %+v, want nil", unknown)
		}
		if meta.LastIndex == 0 {
			t.Fatal("no index for unknown node")
		}
		filtered, _, err := cat.Node("web1", &api.QueryOptions{Filter: `Port == 1`})
		if err != nil {
			t.Fatal(err)
		}
		if filtered == nil || len(filtered.Services) != 0 {
			t.Fatalf("web1 filtered to nothing = %+v", filtered)
		}
	})

	t.Run("deregister", func(t *testing.T) {
		if _, err := cat.Deregister(&api.CatalogDeregistration{Node: "web1", ServiceID: "web"}, nil); err != nil {
			t.Fatal(err)
		}
		left, _, err := cat.Service("web", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := serviceNodeNames(left); !slices.Equal(got, []string{"web2"}) {
			t.Fatalf("web after deregistering web1's = %v", got)
		}
		if _, err := cat.Deregister(&api.CatalogDeregistration{Node: "web2"}, nil); err != nil {
			t.Fatal(err)
		}
		nodes, _, err := cat.Nodes(nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := nodeNames(nodes); !slices.Equal(got, []string{"node1", "web1"}) {
			t.Fatalf("nodes after deregistering web2 = %v", got)
		}
		svcs, _, err := cat.Services(nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := svcs["web"]; ok {
			t.Fatalf("web still listed: %v", svcs)
		}
		// Removing what is not there is not an error, as in Consul.
		if _, err := cat.Deregister(&api.CatalogDeregistration{Node: "nosuch"}, nil); err != nil {
			t.Fatal(err)
		}
	})
}
