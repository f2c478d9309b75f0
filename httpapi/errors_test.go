package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/coredns-coord/coredns-coord/raftstore"
	"github.com/coredns-coord/coredns-coord/state"
)

func TestStatusOf(t *testing.T) {
	for _, c := range []struct {
		err  error
		code int
		msg  string
	}{
		{fmt.Errorf("%w: leadership lost", raftstore.ErrNotLeader), 500, "No cluster leader"},
		{fmt.Errorf("%w %q", state.ErrUnknownNode, "n1"), 400, `unknown node "n1"`},
		{state.ErrMissingKey, 400, "missing key name"},
		{fmt.Errorf("decode: %w", &http.MaxBytesError{Limit: 10}), 413, "too large"},
		{badRequest("Invalid index %q", "x"), 400, `Invalid index "x"`},
		{errorf(404, "No path to datacenter"), 404, "No path to datacenter"},
		{errors.New("disk on fire"), 500, "disk on fire"},
	} {
		code, msg := statusOf(c.err)
		if code != c.code || !strings.Contains(msg, c.msg) {
			t.Errorf("statusOf(%v) = %d %q, want %d %q", c.err, code, msg, c.code, c.msg)
		}
	}
}

func TestEndpointOfPattern(t *testing.T) {
	for pattern, want := range map[string]string{
		"GET /v1/catalog/service/{name...}":           "/v1/catalog/service/:name",
		"PUT /v1/agent/service/deregister/{id...}":    "/v1/agent/service/deregister/:id",
		"GET /v1/kv/{key...}":                         "/v1/kv/",
		"GET /v1/status/leader":                       "/v1/status/leader",
		"/v1/a/{x}/b/{y}":                             "/v1/a/:x/b/:y",
		"GET /v1/health/state/{state...}":             "/v1/health/state/:state",
		"GET /v1/catalog/node/{node...}":              "/v1/catalog/node/:node",
		"GET /v1/broken/{x":                           "/v1/broken/{x",
		"GET /v1/catalog/node/{node...}/extra/{more}": "/v1/catalog/node/:node/extra/:more",
	} {
		if got := endpointOfPattern(pattern); got != want {
			t.Errorf("endpointOfPattern(%q) = %q, want %q", pattern, got, want)
		}
	}
}
