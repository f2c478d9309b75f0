package coordcatalog

import (
	"strings"
	"testing"
	"time"

	"github.com/coredns/caddy"
)

func TestParse(t *testing.T) {
	c := caddy.NewTestController("dns", `coordcatalog {
		dev
		node web-1
		node_id 6c2a8d3e-3b7a-4c2e-9f0e-1a2b3c4d5e6f
		datacenter east
		bind 127.0.0.2
		server_port 9300
		http 127.0.0.1:9500
		node_meta rack r1
		node_meta zone z2
		node_ttl 10s
		service_ttl 5s
		only_passing
		a_record_limit 3
		enable_additional_node_meta_txt false
		http_max_conns_per_client 0
		http_read_header_timeout 3s
		http_idle_timeout 30s
		bootstrap_expect 1
		server
	}`)
	c.ServerBlockKeys = []string{"consul.:8600"}
	zones, o, err := parse(c)
	if err != nil {
		t.Fatal(err)
	}
	a := o.agent
	if len(zones) != 1 || zones[0] != "consul." {
		t.Errorf("zones %v", zones)
	}
	if !a.Dev || a.NodeName != "web-1" || a.Datacenter != "east" || a.BindAddr != "127.0.0.2" ||
		a.ServerPort != 9300 || a.HTTPAddr != "127.0.0.1:9500" || a.NodeMeta["rack"] != "r1" || a.NodeMeta["zone"] != "z2" ||
		a.NodeID != "6c2a8d3e-3b7a-4c2e-9f0e-1a2b3c4d5e6f" || a.HTTPMaxConnsPerClient != 0 ||
		a.HTTPReadHeaderTimeout != 3*time.Second || a.HTTPIdleTimeout != 30*time.Second {
		t.Errorf("agent config %+v", a)
	}
	if o.nodeTTL != 10*time.Second || o.serviceTTL != 5*time.Second || !o.onlyPassing || o.aRecordLimit != 3 || o.metaTXT {
		t.Errorf("dns options %+v", o)
	}
}

func TestParseDefaults(t *testing.T) {
	c := caddy.NewTestController("dns", "coordcatalog {\n dev\n}")
	c.ServerBlockKeys = []string{"consul.:8600"}
	_, o, err := parse(c)
	if err != nil {
		t.Fatal(err)
	}
	if o.agent.Datacenter != "dc1" || o.agent.HTTPAddr != "127.0.0.1:8500" || o.agent.ServerPort != 8300 ||
		o.nodeTTL != 0 || o.serviceTTL != 0 || o.onlyPassing || !o.metaTXT || o.agent.HTTPMaxConnsPerClient != 200 ||
		o.agent.HTTPReadHeaderTimeout != 10*time.Second || o.agent.HTTPIdleTimeout != 2*time.Minute {
		t.Errorf("defaults %+v", o)
	}
}

func TestParseErrors(t *testing.T) {
	cases := map[string]string{
		"unknown option":      "coordcatalog {\n dev\n frobnicate\n}",
		"missing argument":    "coordcatalog {\n dev\n node\n}",
		"extra argument":      "coordcatalog {\n dev\n only_passing yes\n}",
		"bad ttl":             "coordcatalog {\n dev\n node_ttl soon\n}",
		"fractional ttl":      "coordcatalog {\n dev\n service_ttl 1500ms\n}",
		"negative limit":      "coordcatalog {\n dev\n a_record_limit -1\n}",
		"bad port":            "coordcatalog {\n dev\n server_port 70000\n}",
		"bad http":            "coordcatalog {\n dev\n http localhost\n}",
		"no data_dir":         "coordcatalog {\n node n1\n}",
		"dev with data_dir":   "coordcatalog {\n dev\n data_dir /tmp/x\n}",
		"bad node name":       "coordcatalog {\n dev\n node web.1\n}",
		"bad bind":            "coordcatalog {\n dev\n bind example.org\n}",
		"bad node id":         "coordcatalog {\n dev\n node_id 42\n}",
		"multi-server expect": "coordcatalog {\n dev\n bootstrap_expect 3\n}",
		"negative conns":      "coordcatalog {\n dev\n http_max_conns_per_client -1\n}",
		"zero idle timeout":   "coordcatalog {\n dev\n http_idle_timeout 0s\n}",
		"bad header timeout":  "coordcatalog {\n dev\n http_read_header_timeout soon\n}",
		"twice":               "coordcatalog {\n dev\n}\ncoordcatalog {\n dev\n}",
	}
	for name, input := range cases {
		c := caddy.NewTestController("dns", input)
		c.ServerBlockKeys = []string{"consul.:8600"}
		_, _, err := parse(c)
		if err == nil {
			t.Errorf("%s: parsed without error:\n%s", name, input)
			continue
		}
		// Errors name the Corefile position, as CoreDNS's own do.
		if !strings.Contains(err.Error(), "Testfile:") {
			t.Errorf("%s: error without position: %v", name, err)
		}
	}
}

func TestParseReverseZones(t *testing.T) {
	c := caddy.NewTestController("dns", "coordcatalog consul. in-addr.arpa. ip6.arpa. {\n dev\n}")
	c.ServerBlockKeys = []string{"consul.:8600", "in-addr.arpa.:8600", "ip6.arpa.:8600"}
	zones, _, err := parse(c)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(zones, " ") != "consul. in-addr.arpa. ip6.arpa." {
		t.Fatalf("zones %v", zones)
	}
	cc := &CoordCatalog{Zones: zones}
	if cc.forwardZone() != "consul." || isReverseZone("consul.") || !isReverseZone("in-addr.arpa.") || !isReverseZone("10.in-addr.arpa.") {
		t.Errorf("forward zone %q", cc.forwardZone())
	}
}
