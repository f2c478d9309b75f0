package httpapi_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/coredns-coord/coredns-coord/agent"
)

// agent/reload as the official client's test drives it: a definition
// file that is empty at start (a 400 naming it) and holds a service by
// the time of the next reload.
func TestAgentReloadFilledFile(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "reload.json")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	s.agent.ConfigureHealth(agent.HealthConfig{ConfigDirs: []string{dir}})
	s.expect(t, "PUT", "/v1/agent/reload", "", 400, "reload.json")

	def := `{"service":{"name":"redis", "port":1234, "Meta": {"some": "meta"}}}`
	if err := os.WriteFile(file, []byte(def), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.client.Agent().Reload(); err != nil {
		t.Fatal(err)
	}
	svcs, err := s.client.Agent().Services()
	if err != nil {
		t.Fatal(err)
	}
	if r := svcs["redis"]; r == nil || r.Port != 1234 || r.Meta["some"] != "meta" {
		t.Fatalf("redis after reload: %+v", r)
	}
}
