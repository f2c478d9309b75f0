package httpapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/consul/api"
)

type uiServiceSummary struct {
	Name                                         string
	Tags, Nodes                                  []string
	InstanceCount                                int
	ChecksPassing, ChecksWarning, ChecksCritical int
}

// TestUIServices checks the services summary: instances, nodes, tags and
// check counts that include each instance's node checks.
func TestUIServices(t *testing.T) {
	s := startServer(t)
	s.registerNode(t, "a", "127.0.0.2", nil, &api.AgentService{ID: "web1", Service: "web", Tags: []string{"v1"}}, api.HealthPassing)
	s.registerNode(t, "b", "127.0.0.3", nil, &api.AgentService{ID: "web2", Service: "web", Tags: []string{"v2"}}, api.HealthCritical)
	// A node check on b counts for web2.
	if _, err := s.client.Catalog().Register(&api.CatalogRegistration{Node: "b", Address: "127.0.0.3",
		Check: &api.AgentCheck{Node: "b", CheckID: "disk", Name: "disk", Status: api.HealthWarning}}, nil); err != nil {
		t.Fatal(err)
	}
	resp, body := s.do(t, "GET", "/v1/internal/ui/services", nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Consul-Index") == "" {
		t.Fatalf("status %d, index %q: %s", resp.StatusCode, resp.Header.Get("X-Consul-Index"), body)
	}
	var got []uiServiceSummary
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	var web *uiServiceSummary
	for i := range got {
		if got[i].Name == "web" {
			web = &got[i]
		}
	}
	if web == nil {
		t.Fatalf("no web in %s", body)
	}
	if web.InstanceCount != 2 || len(web.Nodes) != 2 || len(web.Tags) != 2 ||
		web.ChecksPassing != 1 || web.ChecksWarning != 1 || web.ChecksCritical != 1 {
		t.Errorf("web summary %+v", *web)
	}

	// A blocking read at that index answers with the change (whether it
	// was already waiting or not).
	idx, _ := strconv.ParseUint(resp.Header.Get("X-Consul-Index"), 10, 64)
	done := make(chan []uiServiceSummary, 1)
	go func() {
		resp, err := http.Get(s.base + "/v1/internal/ui/services?wait=20s&index=" + strconv.FormatUint(idx, 10))
		if err != nil {
			done <- nil
			return
		}
		defer resp.Body.Close()
		var out []uiServiceSummary
		_ = json.NewDecoder(resp.Body).Decode(&out)
		done <- out
	}()
	s.registerNode(t, "b", "127.0.0.3", nil, &api.AgentService{ID: "web2", Service: "web", Tags: []string{"v2"}}, api.HealthPassing)
	select {
	case out := <-done:
		for _, sum := range out {
			if sum.Name == "web" && (sum.ChecksCritical != 0 || sum.ChecksPassing != 2) {
				t.Errorf("after the change: %+v", sum)
			}
		}
		if out == nil {
			t.Fatal("blocking read failed")
		}
	case <-time.After(15 * time.Second):
		t.Fatal("blocking read did not return on a check change")
	}
}

// TestUINodes checks the nodes summary: each node with its services and
// all its checks.
func TestUINodes(t *testing.T) {
	s := startServer(t)
	s.registerNode(t, "a", "127.0.0.2", map[string]string{"rack": "r1"}, &api.AgentService{ID: "web1", Service: "web", Port: 80}, api.HealthCritical)
	_, body := s.do(t, "GET", "/v1/internal/ui/nodes", nil)
	var got []struct {
		Node, Address, Datacenter string
		Meta                      map[string]string
		Services                  []struct{ ID, Service string }
		Checks                    []struct{ CheckID, Status string }
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, n := range got {
		if n.Node != "a" {
			if n.Services == nil || n.Checks == nil {
				t.Errorf("node %s: null services or checks in %s", n.Node, body)
			}
			continue
		}
		found = true
		if n.Address != "127.0.0.2" || n.Datacenter != "dc1" || n.Meta["rack"] != "r1" ||
			len(n.Services) != 1 || n.Services[0].Service != "web" ||
			len(n.Checks) != 1 || n.Checks[0].Status != api.HealthCritical {
			t.Errorf("node a: %+v", n)
		}
	}
	if !found {
		t.Fatalf("no node a in %s", body)
	}
}

// With ACLs on, the summaries hold only what the token may read, as the
// catalog lists do, and say so when it carried a token.
func TestUISummariesFilteredByACLs(t *testing.T) {
	t.Parallel()
	s := startACLServer(t, "deny", uuid.NewString())
	s.registerNode(t, "web-node", "10.0.0.1", nil, &api.AgentService{ID: "web1", Service: "web"}, api.HealthPassing)
	s.registerNode(t, "db-node", "10.0.0.2", nil, &api.AgentService{ID: "db1", Service: "db"}, api.HealthPassing)
	tok := tokenWithRules(t, s.client, `
service "web" { policy = "read" }
node_prefix "web-" { policy = "read" }
`)
	get := func(path, token string) (*http.Response, []byte) {
		req, _ := http.NewRequest("GET", s.base+path, nil)
		if token != "" {
			req.Header.Set("X-Consul-Token", token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, body
	}

	resp, body := get("/v1/internal/ui/services", tok.SecretID)
	var services []uiServiceSummary
	if err := json.Unmarshal(body, &services); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	if len(services) != 1 || services[0].Name != "web" || resp.Header.Get("X-Consul-Results-Filtered-By-ACLs") != "true" {
		t.Errorf("services for a web-only token: %s (filtered header %q)", body, resp.Header.Get("X-Consul-Results-Filtered-By-ACLs"))
	}
	resp, body = get("/v1/internal/ui/nodes", tok.SecretID)
	var nodes []struct {
		Node     string
		Services []struct{ Service string }
	}
	if err := json.Unmarshal(body, &nodes); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	if len(nodes) != 1 || nodes[0].Node != "web-node" || len(nodes[0].Services) != 1 || resp.Header.Get("X-Consul-Results-Filtered-By-ACLs") != "true" {
		t.Errorf("nodes for a web-only token: %s", body)
	}
	for _, path := range []string{"/v1/internal/ui/services", "/v1/internal/ui/nodes"} {
		resp, body := get(path, "")
		if string(body) != "[]" || resp.Header.Get("X-Consul-Results-Filtered-By-ACLs") != "" {
			t.Errorf("anonymous %s: %s %v", path, body, resp.Header)
		}
	}
}
