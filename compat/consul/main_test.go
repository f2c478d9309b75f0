package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// testutil's configuration (as it marshals it) becomes a Corefile with
// the same node, ports, role and options.
func TestRender(t *testing.T) {
	raw := `{"node_name":"node-1","node_id":"6c2a8d3e-3b7a-4c2e-9f0e-1a2b3c4d5e6f","server":true,"bootstrap":true,
		"data_dir":"/tmp/d","bind_addr":"127.0.0.1","enable_script_checks":true,"enable_debug":true,"node_meta":{"b":"2","a":"1"},
		"ports":{"dns":1,"http":2,"serf_lan":3,"server":4,"grpc":5},"connect":{"enabled":true},"performance":{"raft_multiplier":1}}`
	var c config
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		t.Fatal(err)
	}
	out, err := render(&c, []string{"/tmp/defs"})
	if err != nil {
		t.Fatal(err)
	}
	got := string(out)
	for _, want := range []string{"consul:1 {", "node node-1", "node_id 6c2a8d3e-", "data_dir /tmp/d", "server\n",
		"bootstrap_expect 1", "server_port 4", "serf_lan_port 3", "http 127.0.0.1:2", "config_dir /tmp/defs",
		"enable_script_checks", "enable_debug\n", "node_meta \"a\" \"1\"\n        node_meta \"b\" \"2\""} {
		if !strings.Contains(got, want) {
			t.Errorf("Corefile lacks %q:\n%s", want, got)
		}
	}

	client := c
	client.Server, client.Bootstrap = false, false
	out, _ = render(&client, nil)
	if strings.Contains(string(out), "server\n") || strings.Contains(string(out), "bootstrap_expect") {
		t.Errorf("client rendered as a server:\n%s", out)
	}

	acl := c
	acl.ACL.Enabled, acl.ACL.DefaultPolicy, acl.ACL.Tokens.InitialManagement = true, "deny", "root"
	out, _ = render(&acl, nil)
	if !strings.Contains(string(out), "acl {\n            default_policy deny\n            initial_management root\n        }") {
		t.Errorf("acl block not rendered:\n%s", out)
	}

	unix := c
	unix.Addresses.HTTP = "unix:///tmp/consul.sock"
	if _, err := render(&unix, nil); err == nil {
		t.Error("a unix socket HTTP address was accepted")
	}
}
