// Command consul is a stand-in for the consul binary that
// github.com/hashicorp/consul/sdk/testutil starts, so that the official Go
// client's own tests run against coredns-coord (make compat). It knows two
// commands: `consul version -format=json`, and `consul agent -config-file
// F [-config-file G ...]`, which turns testutil's JSON configuration into
// a Corefile and execs coredns-coord with it.
//
// It is a test tool: only what testutil writes is mapped, and what cannot
// be mapped is refused with a message rather than ignored.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"syscall"
)

// consulVersion is the Consul release whose behaviour the suite is
// compared against; testutil shapes its configuration by it.
const consulVersion = "1.16.1"

// config is the part of testutil.TestServerConfig the stand-in maps.
type config struct {
	NodeName           string            `json:"node_name"`
	NodeID             string            `json:"node_id"`
	NodeMeta           map[string]string `json:"node_meta"`
	Bootstrap          bool              `json:"bootstrap"`
	Server             bool              `json:"server"`
	RetryJoin          []string          `json:"retry_join"`
	DataDir            string            `json:"data_dir"`
	Datacenter         string            `json:"datacenter"`
	Bind               string            `json:"bind_addr"`
	Encrypt            string            `json:"encrypt"`
	EnableScriptChecks bool              `json:"enable_script_checks"`
	EnableDebug        bool              `json:"enable_debug"`
	Addresses          struct {
		HTTP string `json:"http"`
	} `json:"addresses"`
	Ports struct {
		DNS     int `json:"dns"`
		HTTP    int `json:"http"`
		SerfLan int `json:"serf_lan"`
		Server  int `json:"server"`
	} `json:"ports"`
	ACL struct {
		Enabled       bool   `json:"enabled"`
		DefaultPolicy string `json:"default_policy"`
		DownPolicy    string `json:"down_policy"`
		TokenTTL      string `json:"token_ttl"`
		Tokens        struct {
			InitialManagement string `json:"master"`
			Agent             string `json:"agent"`
			Default           string `json:"default"`
		} `json:"tokens"`
	} `json:"acl"`
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "consul stand-in:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: consul version -format=json | consul agent -config-file FILE...")
	}
	switch args[0] {
	case "version":
		fmt.Printf("{\"Version\":%q}\n", consulVersion)
		return nil
	case "agent":
		return agent(args[1:])
	}
	return fmt.Errorf("command %q is not supported", args[0])
}

func agent(args []string) error {
	var files []string
	for i := 0; i < len(args); i++ {
		if args[i] != "-config-file" || i+1 == len(args) {
			return fmt.Errorf("agent: unsupported argument %q", args[i])
		}
		files = append(files, args[i+1])
		i++
	}
	if len(files) == 0 {
		return fmt.Errorf("agent: no -config-file")
	}
	raw, err := os.ReadFile(files[0])
	if err != nil {
		return err
	}
	var c config
	if err := json.Unmarshal(raw, &c); err != nil {
		return fmt.Errorf("%s: %w", files[0], err)
	}
	// Later files hold service definitions (agent/reload): coordhealth
	// reads them from their directories.
	var defDirs []string
	for _, f := range files[1:] {
		defDirs = append(defDirs, filepath.Dir(f))
	}
	corefile, err := render(&c, defDirs)
	if err != nil {
		return err
	}
	conf := filepath.Join(filepath.Dir(files[0]), "Corefile")
	if err := os.WriteFile(conf, corefile, 0o644); err != nil {
		return err
	}
	bin := os.Getenv("COREDNS_COORD")
	if bin == "" {
		return fmt.Errorf("COREDNS_COORD must name the coredns-coord binary")
	}
	return syscall.Exec(bin, []string{bin, "-conf", conf}, os.Environ())
}

func render(c *config, defDirs []string) ([]byte, error) {
	switch {
	case c.Addresses.HTTP != "":
		return nil, fmt.Errorf("addresses.http %q is not supported", c.Addresses.HTTP)
	case c.Ports.DNS <= 0 || c.Ports.HTTP <= 0 || c.Ports.SerfLan <= 0 || c.Ports.Server <= 0:
		return nil, fmt.Errorf("ports must name dns, http, serf_lan and server")
	}
	bind := c.Bind
	if bind == "" {
		bind = "127.0.0.1"
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "consul:%d {\n    bind 127.0.0.1\n    coordcatalog {\n", c.Ports.DNS)
	line := func(format string, args ...any) { fmt.Fprintf(&b, "        "+format+"\n", args...) }
	line("node %s", c.NodeName)
	if c.NodeID != "" {
		line("node_id %s", c.NodeID)
	}
	if c.Datacenter != "" {
		line("datacenter %s", c.Datacenter)
	}
	line("data_dir %s", c.DataDir)
	if c.Server {
		line("server")
		if c.Bootstrap {
			line("bootstrap_expect 1")
		}
	}
	line("bind %s", bind)
	line("server_port %d", c.Ports.Server)
	line("serf_lan_port %d", c.Ports.SerfLan)
	line("http 127.0.0.1:%d", c.Ports.HTTP)
	for _, j := range c.RetryJoin {
		line("retry_join %s", j)
	}
	if c.Encrypt != "" {
		line("encrypt %s", c.Encrypt)
	}
	if c.EnableDebug {
		line("enable_debug")
	}
	keys := make([]string, 0, len(c.NodeMeta))
	for k := range c.NodeMeta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		line("node_meta %q %q", k, c.NodeMeta[k])
	}
	if c.ACL.Enabled {
		renderACL(line, c)
	}
	b.WriteString("    }\n    coordhealth {\n")
	for _, d := range defDirs {
		line("config_dir %s", d)
	}
	if c.EnableScriptChecks {
		line("enable_script_checks")
	}
	b.WriteString("    }\n    errors\n}\n")
	return b.Bytes(), nil
}

// renderACL writes the acl { } block of testutil's acl settings.
func renderACL(line func(string, ...any), c *config) {
	line("acl {")
	for _, kv := range [][2]string{
		{"default_policy", c.ACL.DefaultPolicy},
		{"down_policy", c.ACL.DownPolicy},
		{"token_ttl", c.ACL.TokenTTL},
		{"initial_management", c.ACL.Tokens.InitialManagement},
		{"agent_token", c.ACL.Tokens.Agent},
		{"default_token", c.ACL.Tokens.Default},
	} {
		if kv[1] != "" {
			line("    %s %s", kv[0], kv[1])
		}
	}
	line("}")
}
