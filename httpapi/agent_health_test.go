package httpapi_test

import (
	"encoding/json"
	"testing"

	"github.com/hashicorp/consul/api"
)

// agent/health/service/id and /name answer the aggregated status of the
// agent's own instances, as the code (200/429/503) and in the body.
func TestAgentHealthService(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	ag := s.client.Agent()

	byID := func(id, want string, exists bool) {
		t.Helper()
		status, info, err := ag.AgentHealthServiceByIDOpts(id, nil)
		if err != nil || status != want {
			t.Fatalf("by id %s: status %q, err %v; want %q", id, status, err, want)
		}
		if exists != (info != nil) {
			t.Fatalf("by id %s: info %+v, want it to exist: %v", id, info, exists)
		}
		if info != nil && (info.Service.ID != id || info.AggregatedStatus != want) {
			t.Fatalf("by id %s: info %+v", id, info)
		}
	}
	byName := func(name, want string, ids ...string) {
		t.Helper()
		status, infos, err := ag.AgentHealthServiceByNameOpts(name, nil)
		if err != nil || status != want {
			t.Fatalf("by name %s: status %q, err %v; want %q", name, status, err, want)
		}
		if len(infos) != len(ids) {
			t.Fatalf("by name %s: %d instances, want %v", name, len(infos), ids)
		}
		for i, info := range infos {
			if info.Service.ID != ids[i] || info.Service.Service != name {
				t.Fatalf("by name %s: instance %d is %+v, want %s", name, i, info.Service, ids[i])
			}
		}
	}

	byID("missing", api.HealthCritical, false)
	byName("missing", api.HealthCritical)

	for _, id := range []string{"web-1", "web-2"} {
		if err := ag.ServiceRegister(&api.AgentServiceRegistration{
			ID: id, Name: "web", Port: 80, Check: &api.AgentServiceCheck{CheckID: "ttl:" + id, TTL: "1m"},
		}); err != nil {
			t.Fatal(err)
		}
	}
	byID("web-1", api.HealthCritical, true)
	byName("web", api.HealthCritical, "web-1", "web-2")

	ttl := func(id, status string) {
		t.Helper()
		if err := ag.UpdateTTL("ttl:"+id, "", status); err != nil {
			t.Fatal(err)
		}
	}
	ttl("web-1", api.HealthWarning)
	byID("web-1", api.HealthWarning, true)
	byName("web", api.HealthCritical, "web-1", "web-2") // web-2 is still critical
	ttl("web-2", api.HealthPassing)
	byName("web", api.HealthWarning, "web-1", "web-2")
	ttl("web-1", api.HealthPassing)
	byID("web-1", api.HealthPassing, true)
	byName("web", api.HealthPassing, "web-1", "web-2")

	t.Run("checks", func(t *testing.T) {
		// The instance's own checks and the node's, not another instance's.
		if err := ag.CheckRegister(&api.AgentCheckRegistration{ID: "node-ttl", Name: "node", AgentServiceCheck: api.AgentServiceCheck{TTL: "1m", Status: api.HealthPassing}}); err != nil {
			t.Fatal(err)
		}
		_, info, err := ag.AgentHealthServiceByIDOpts("web-1", nil)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, c := range info.Checks {
			ids = append(ids, c.CheckID)
		}
		if len(ids) != 2 || ids[0] != "node-ttl" || ids[1] != "ttl:web-1" {
			t.Fatalf("web-1 checks = %v, want [node-ttl ttl:web-1]", ids)
		}
		// A failing node check fails every instance.
		if err := ag.FailTTL("node-ttl", "down"); err != nil {
			t.Fatal(err)
		}
		byID("web-2", api.HealthCritical, true)
		if err := ag.PassTTL("node-ttl", ""); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("text", func(t *testing.T) {
		s.expect(t, "GET", "/v1/agent/health/service/id/web-1?format=text", "", 200, api.HealthPassing)
		resp, body := s.do(t, "GET", "/v1/agent/health/service/name/web", nil, "Accept", "text/plain")
		if resp.StatusCode != 200 || string(body) != api.HealthPassing || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
			t.Fatalf("Accept: text/plain got %d %q (%s)", resp.StatusCode, body, resp.Header.Get("Content-Type"))
		}
		ttl("web-1", api.HealthWarning)
		s.expect(t, "GET", "/v1/agent/health/service/id/web-1?format=text", "", 429, api.HealthWarning)
		s.expect(t, "GET", "/v1/agent/health/service/name/web?format=text", "", 429, api.HealthWarning)
		s.expect(t, "GET", "/v1/agent/health/service/id/nope?format=text", "", 404, "ServiceId nope not found")
		s.expect(t, "GET", "/v1/agent/health/service/name/nope?format=text", "", 404, "ServiceName nope Not Found")
		ttl("web-1", api.HealthPassing)
	})

	t.Run("maintenance", func(t *testing.T) {
		if err := ag.EnableServiceMaintenance("web-2", "upgrade"); err != nil {
			t.Fatal(err)
		}
		body := s.expect(t, "GET", "/v1/agent/health/service/id/web-2", "", 503, "")
		var info api.AgentServiceChecksInfo
		if err := json.Unmarshal(body, &info); err != nil || info.AggregatedStatus != api.HealthMaint {
			t.Fatalf("web-2 in maintenance: %s (%v)", body, err)
		}
		s.expect(t, "GET", "/v1/agent/health/service/name/web?format=text", "", 503, api.HealthMaint)
		if err := ag.DisableServiceMaintenance("web-2"); err != nil {
			t.Fatal(err)
		}
		byName("web", api.HealthPassing, "web-1", "web-2")
	})

	t.Run("bad input", func(t *testing.T) {
		s.expect(t, "GET", "/v1/agent/health/service/id/web-1?format=xml", "", 400, "Invalid format")
		s.expect(t, "GET", "/v1/agent/health/service/id/", "", 400, "Missing serviceID")
		s.expect(t, "GET", "/v1/agent/health/service/name/", "", 400, "Missing service Name")
		s.expect(t, "PUT", "/v1/agent/health/service/id/web-1", "", 405, "")
	})
}
