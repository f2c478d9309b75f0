package httpapi_test

import (
	"slices"
	"sort"
	"testing"

	"github.com/hashicorp/consul/api"
)

func entryNodes(entries []*api.ServiceEntry) []string {
	out := []string{}
	for _, e := range entries {
		out = append(out, e.Node.Node)
	}
	sort.Strings(out)
	return out
}

func checkNodes(checks api.HealthChecks) []string {
	out := []string{}
	for _, c := range checks {
		out = append(out, c.Node)
	}
	sort.Strings(out)
	return out
}

func TestHealth(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	h := s.client.Health()

	s.registerNode(t, "h1", "10.0.1.1", map[string]string{"zone": "a"},
		&api.AgentService{ID: "api", Service: "api", Tags: []string{"blue"}, Port: 1}, api.HealthPassing)
	s.registerNode(t, "h2", "10.0.1.2", map[string]string{"zone": "b"},
		&api.AgentService{ID: "api", Service: "api", Tags: []string{"green"}, Port: 2}, api.HealthWarning)
	s.registerNode(t, "h3", "10.0.1.3", map[string]string{"zone": "a"},
		&api.AgentService{ID: "api", Service: "api", Tags: []string{"blue"}, Port: 3}, api.HealthCritical)
	// A node-level check on h1 that fails takes it out of ?passing too.
	s.registerNode(t, "h4", "10.0.1.4", nil,
		&api.AgentService{ID: "api", Service: "api", Tags: []string{"blue"}, Port: 4}, api.HealthPassing)
	if _, err := s.client.Catalog().Register(&api.CatalogRegistration{
		Node: "h4", Address: "10.0.1.4",
		Check: &api.AgentCheck{CheckID: "disk", Name: "disk", Status: api.HealthCritical},
	}, nil); err != nil {
		t.Fatal(err)
	}

	t.Run("service", func(t *testing.T) {
		all, meta, err := h.Service("api", "", false, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := entryNodes(all); !slices.Equal(got, []string{"h1", "h2", "h3", "h4"}) {
			t.Fatalf("api entries = %v", got)
		}
		if meta.LastIndex == 0 || !meta.KnownLeader {
			t.Fatalf("meta = %+v", meta)
		}
		for _, e := range all {
			if e.Service == nil || e.Service.Service != "api" || e.Service.ID != "api" || e.Checks == nil {
				t.Fatalf("entry = %+v", e)
			}
			if e.Node.Node == "h4" && len(e.Checks) != 2 {
				t.Fatalf("h4 checks = %v, want node and service check", e.Checks)
			}
			if e.Node.Node == "h2" && (len(e.Checks) != 1 || e.Checks[0].Status != api.HealthWarning) {
				t.Fatalf("h2 checks = %v", e.Checks)
			}
		}
		passing, _, err := h.Service("api", "", true, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := entryNodes(passing); !slices.Equal(got, []string{"h1"}) {
			t.Fatalf("passing api = %v", got)
		}
		blue, _, err := h.Service("api", "blue", false, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := entryNodes(blue); !slices.Equal(got, []string{"h1", "h3", "h4"}) {
			t.Fatalf("blue api = %v", got)
		}
		bluePassing, _, err := h.Service("api", "blue", true, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := entryNodes(bluePassing); !slices.Equal(got, []string{"h1"}) {
			t.Fatalf("passing blue api = %v", got)
		}
		zoneA, _, err := h.Service("api", "", false, &api.QueryOptions{NodeMeta: map[string]string{"zone": "a"}})
		if err != nil {
			t.Fatal(err)
		}
		if got := entryNodes(zoneA); !slices.Equal(got, []string{"h1", "h3"}) {
			t.Fatalf("api in zone a = %v", got)
		}
		green, _, err := h.Service("api", "", false, &api.QueryOptions{Filter: `"green" in Service.Tags`})
		if err != nil {
			t.Fatal(err)
		}
		if got := entryNodes(green); !slices.Equal(got, []string{"h2"}) {
			t.Fatalf("api filtered on green = %v", got)
		}
		none, _, err := h.Service("nosuch", "", false, nil)
		if err != nil || none == nil || len(none) != 0 {
			t.Fatalf("unknown service = %#v, %v; want an empty list", none, err)
		}
	})

	t.Run("state", func(t *testing.T) {
		critical, _, err := h.State(api.HealthCritical, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := checkNodes(critical); !slices.Equal(got, []string{"h3", "h4"}) {
			t.Fatalf("critical checks on = %v", got)
		}
		warning, _, err := h.State(api.HealthWarning, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := checkNodes(warning); !slices.Equal(got, []string{"h2"}) {
			t.Fatalf("warning checks on = %v", got)
		}
		any, _, err := h.State(api.HealthAny, nil)
		if err != nil {
			t.Fatal(err)
		}
		// 4 service checks, h4's disk check and node1's serfHealth.
		if len(any) != 6 {
			t.Fatalf("any checks = %v", checkNodes(any))
		}
		zoneA, _, err := h.State(api.HealthCritical, &api.QueryOptions{NodeMeta: map[string]string{"zone": "a"}})
		if err != nil {
			t.Fatal(err)
		}
		if got := checkNodes(zoneA); !slices.Equal(got, []string{"h3"}) {
			t.Fatalf("critical checks in zone a = %v", got)
		}
		// The client refuses unknown states itself; ask directly.
		s.expect(t, "GET", "/v1/health/state/bogus", "", 400, "Invalid check state")
	})

	t.Run("checks", func(t *testing.T) {
		checks, _, err := h.Checks("api", nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := checkNodes(checks); !slices.Equal(got, []string{"h1", "h2", "h3", "h4"}) {
			t.Fatalf("api checks on = %v", got)
		}
		for _, c := range checks {
			if c.ServiceName != "api" || !slices.Equal(c.ServiceTags, []string{map[string]string{
				"h1": "blue", "h2": "green", "h3": "blue", "h4": "blue"}[c.Node]}) {
				t.Fatalf("check = %+v", c)
			}
		}
		filtered, _, err := h.Checks("api", &api.QueryOptions{Filter: `Status == "passing"`})
		if err != nil {
			t.Fatal(err)
		}
		if got := checkNodes(filtered); !slices.Equal(got, []string{"h1", "h4"}) {
			t.Fatalf("passing api checks on = %v", got)
		}
	})

	t.Run("node", func(t *testing.T) {
		checks, _, err := h.Node("h4", nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(checks) != 2 {
			t.Fatalf("h4 checks = %v", checks)
		}
		none, _, err := h.Node("nosuch", nil)
		if err != nil || none == nil || len(none) != 0 {
			t.Fatalf("unknown node checks = %#v, %v; want an empty list", none, err)
		}
	})
}
