package coordcatalog

import (
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coredns/caddy"

	"github.com/coredns-coord/coredns-coord/internal/logging"
)

// The option names are a contract: the README's Syntax lists exactly the
// options the block parses.
func TestOptionsMatchREADME(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	syntax := regexp.MustCompile("(?s)## Syntax\n\n~~~ txt\ncoordcatalog [^\n]*\n(.*?)\n}\n~~~").FindSubmatch(b)
	if syntax == nil {
		t.Fatal("README.md has no Syntax block")
	}
	// A line ending in { opens a sub-block (tls, acl): its lines are the
	// sub-block's options.
	subTables := map[string][]string{"tls": slices.Collect(maps.Keys(tlsBlockOptions)), "acl": slices.Collect(maps.Keys(aclBlockOptions))}
	documentedSub := map[string][]string{}
	var documented []string
	sub := ""
	for _, line := range strings.Split(string(syntax[1]), "\n") {
		name := strings.Fields(line)[0]
		switch {
		case name == "}":
			sub = ""
		case sub != "":
			documentedSub[sub] = append(documentedSub[sub], name)
		default:
			documented = append(documented, name)
			if strings.HasSuffix(line, "{") {
				sub = name
			}
		}
	}
	for block, parsed := range subTables {
		slices.Sort(documentedSub[block])
		slices.Sort(parsed)
		if !slices.Equal(documentedSub[block], parsed) {
			t.Errorf("README documents %s { %v }\nthe block parses %v", block, documentedSub[block], parsed)
		}
	}
	var parsed []string
	for name := range blockOptions {
		parsed = append(parsed, name)
	}
	slices.Sort(documented)
	slices.Sort(parsed)
	if !slices.Equal(documented, parsed) {
		t.Errorf("README documents %v\nthe block parses %v", documented, parsed)
	}
}

func TestParseACLBlock(t *testing.T) {
	c := caddy.NewTestController("dns", `coordcatalog {
		dev
		acl {
			default_policy deny
			down_policy deny
			initial_management 6a1a9c2e-1d2b-4c3d-8e4f-5a6b7c8d9e0f
			agent_token a-secret
			default_token d-secret
			dns_token n-secret
			token_ttl 1m
		}
		node n1
	}`)
	c.ServerBlockKeys = []string{"consul.:8600"}
	_, o, err := parse(c)
	if err != nil {
		t.Fatal(err)
	}
	a := o.agent.ACL
	if !a.Enabled || a.DefaultPolicy != "deny" || a.DownPolicy != "deny" || a.InitialManagement != "6a1a9c2e-1d2b-4c3d-8e4f-5a6b7c8d9e0f" ||
		a.AgentToken != "a-secret" || a.DefaultToken != "d-secret" || a.DNSToken != "n-secret" || a.TokenTTL != time.Minute || o.agent.NodeName != "n1" {
		t.Errorf("acl config %+v (node %q)", a, o.agent.NodeName)
	}

	c = caddy.NewTestController("dns", "coordcatalog {\n dev\n acl {\n }\n}")
	if _, o, err = parse(c); err != nil || !o.agent.ACL.Enabled || o.agent.ACL.DefaultPolicy != "allow" {
		t.Errorf("empty acl block: %+v, %v", o, err)
	}
	c = caddy.NewTestController("dns", "coordcatalog {\n dev\n}")
	if _, o, err = parse(c); err != nil || o.agent.ACL.Enabled {
		t.Errorf("no acl block must leave ACLs off: %+v, %v", o, err)
	}
	for corefile, want := range map[string]string{
		"coordcatalog {\n dev\n acl {\n default_policy maybe\n }\n}": "default_policy \"maybe\"",
		"coordcatalog {\n dev\n acl {\n down_policy never\n }\n}":    "down_policy \"never\"",
		"coordcatalog {\n dev\n acl {\n initial_management\n }\n}":   "acl initial_management: takes 1 argument",
		"coordcatalog {\n dev\n acl {\n token_ttl 0s\n }\n}":         "token_ttl",
		"coordcatalog {\n dev\n acl {\n bogus 1\n }\n}":              "unknown property \"bogus\"",
		"coordcatalog {\n dev\n acl {\n default_policy\n }\n}":       "takes 1 argument",
		"coordcatalog {\n dev\n acl x {\n }\n}":                      "acl takes 0 argument(s), got 1",
		"coordcatalog {\n dev\n acl {\n }\n acl {\n }\n}":            "only once",
	} {
		_, _, err := parse(caddy.NewTestController("dns", corefile))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want one containing %q", corefile, err, want)
		}
	}
}

func TestParseClusterOptions(t *testing.T) {
	c := caddy.NewTestController("dns", `coordcatalog {
		server
		data_dir /var/lib/coord
		bootstrap_expect 3
		retry_join 10.0.0.1 10.0.0.2:8301
		retry_join 10.0.0.3
		bind 0.0.0.0
		advertise 10.0.0.9
		serf_lan_port 9301
		encrypt pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=
		reconnect_timeout 8h
		snapshot_threshold 16
		snapshot_interval 5s
		cleanup_dead_servers false
		http off
	}`)
	c.ServerBlockKeys = []string{"consul.:8600"}
	_, o, err := parse(c)
	if err != nil {
		t.Fatal(err)
	}
	a := o.agent
	if !a.Server || a.Dev || a.DataDir != "/var/lib/coord" || a.BootstrapExpect != 3 ||
		!slices.Equal(a.RetryJoin, []string{"10.0.0.1", "10.0.0.2:8301", "10.0.0.3"}) ||
		a.BindAddr != "0.0.0.0" || a.AdvertiseAddr != "10.0.0.9" || a.SerfLANPort != 9301 || a.Encrypt == "" ||
		a.ReconnectTimeout != 8*time.Hour || a.SnapshotThreshold != 16 || a.SnapshotInterval != 5*time.Second ||
		a.CleanupDeadServers || a.HTTPAddr != "" {
		t.Errorf("agent config %+v", a)
	}
}

func TestParseOptionErrors(t *testing.T) {
	cases := map[string]string{
		"coordcatalog {\n dev\n node\n}":                        "node takes 1 argument(s), got 0",
		"coordcatalog {\n dev\n node_meta k\n}":                 "node_meta takes 2 argument(s), got 1",
		"coordcatalog {\n dev\n retry_join\n}":                  "retry_join: needs at least one address",
		"coordcatalog {\n dev\n snapshot_threshold 0\n}":        "snapshot_threshold: must be at least 1",
		"coordcatalog {\n dev\n reconnect_timeout 0s\n}":        "reconnect_timeout: \"0s\": must be positive",
		"coordcatalog {\n dev\n cleanup_dead_servers maybe\n}":  "cleanup_dead_servers: strconv.ParseBool",
		"coordcatalog {\n dev\n serf_lan_port 0\n}":             `serf_lan_port: invalid port "0"`,
		"coordcatalog {\n dev\n http 127.0.0.1:http\n}":         `http: invalid port "http"`,
		"coordcatalog {\n dev\n http_max_conns_per_client x\n}": "http_max_conns_per_client: strconv.Atoi",
		"coordcatalog {\n dev\n a_record_limit -1\n}":           "a_record_limit: must not be negative",
		"coordcatalog {\n dev\n frobnicate\n}":                  `unknown property "frobnicate"`,
		"coordcatalog {\n dev\n log_level LOUD\n}":              `log_level: unknown log level "LOUD"`,
		"coordcatalog {\n dev\n enable_debug yes\n}":            "enable_debug takes 0 argument(s), got 1",
	}
	for input, want := range cases {
		c := caddy.NewTestController("dns", input)
		c.ServerBlockKeys = []string{"consul.:8600"}
		_, _, err := parse(c)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", input, err, want)
		}
		// Said once, with the Corefile position.
		if err != nil && strings.Count(err.Error(), "Testfile:") != 1 {
			t.Errorf("%q: %v", input, err)
		}
	}
}

// log_level and enable_debug default to INFO and off, and are read as
// given.
func TestParseOpsOptions(t *testing.T) {
	for input, want := range map[string]struct {
		level logging.Level
		debug bool
	}{
		"coordcatalog {\n dev\n}":                                  {logging.LevelInfo, false},
		"coordcatalog {\n dev\n log_level debug\n enable_debug\n}": {logging.LevelDebug, true},
		"coordcatalog {\n dev\n log_level WARN\n}":                 {logging.LevelWarn, false},
	} {
		c := caddy.NewTestController("dns", input)
		c.ServerBlockKeys = []string{"consul.:8600"}
		_, o, err := parse(c)
		if err != nil || o.logLevel != want.level || o.enableDebug != want.debug {
			t.Errorf("%q: level %v, debug %v, %v; want %+v", input, o.logLevel, o.enableDebug, err, want)
		}
	}
}
