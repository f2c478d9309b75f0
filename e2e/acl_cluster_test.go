package e2e

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/consul/api"
)

// A client agent's writes reach the leader with the request's token and
// the leader checks them; with the server gone, the clients' down_policy
// decides (extend-cache keeps the token, deny denies).
func TestACLClusterForwardedWritesAndDownPolicy(t *testing.T) {
	multiProcess(t)
	const appToken = "3e2d1c0b-9a8f-4e7d-a6c5-b4a392817065"
	c := newClusterEach(t, 1, 2, func(n *node) string {
		down := "extend-cache"
		if n.Name == "c2" {
			down = "deny"
		}
		// The management token is every agent's token here, DNS included,
		// so that the agents register themselves and answer their names.
		return fmt.Sprintf("acl {\n default_policy deny\n down_policy %s\n token_ttl 1s\n initial_management %s\n agent_token %[2]s\n dns_token %[2]s\n }", down, aclE2EManagement)
	})
	mgmt, err := api.NewClient(&api.Config{Address: fmt.Sprintf("127.0.0.1:%d", c.servers[0].HTTP), Token: aclE2EManagement})
	if err != nil {
		t.Fatal(err)
	}
	policy, _, err := mgmt.ACL().PolicyCreate(&api.ACLPolicy{Name: "app", Rules: `key_prefix "app/" { policy = "write" }`}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := mgmt.ACL().TokenCreate(&api.ACLToken{SecretID: appToken, Policies: []*api.ACLTokenPolicyLink{{ID: policy.ID}}}, nil); err != nil {
		t.Fatal(err)
	}
	apps := map[string]*api.Client{}
	for _, n := range c.clients {
		app, err := api.NewClient(&api.Config{Address: fmt.Sprintf("127.0.0.1:%d", n.HTTP), Token: appToken})
		if err != nil {
			t.Fatal(err)
		}
		apps[n.Name] = app
		if _, err := app.KV().Put(&api.KVPair{Key: "app/" + n.Name, Value: []byte("v")}, nil); err != nil {
			t.Fatalf("%s: allowed write: %v", n.Name, err)
		}
		_, err = app.KV().Put(&api.KVPair{Key: "other/" + n.Name, Value: []byte("v")}, nil)
		if !isStatus(err, http.StatusForbidden) || !strings.Contains(err.Error(), `lacks permission 'key:write' on "other/`) {
			t.Fatalf("%s: denied write: %v", n.Name, err)
		}
	}

	c.kill(c.servers[0])
	stale := &api.QueryOptions{AllowStale: true}
	waitFor(t, "c2 (down_policy deny) refusing the app token", func() bool {
		_, _, err := apps["c2"].KV().Get("app/c2", stale)
		return isStatus(err, http.StatusForbidden)
	})
	if kv, _, err := apps["c1"].KV().Get("app/c1", stale); err != nil || kv == nil {
		t.Fatalf("c1 (extend-cache) with the server gone: %v, %v", kv, err)
	}
}

// isStatus reports whether err is the Consul client's error for code.
func isStatus(err error, code int) bool {
	var se api.StatusError
	if errors.As(err, &se) {
		return se.Code == code
	}
	return err != nil && strings.Contains(err.Error(), "Unexpected response code: "+strconv.Itoa(code))
}
