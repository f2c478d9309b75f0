package structs

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// A Connect block is kept as sent (compacted), written back unchanged,
// and an empty one reads and writes as {}.
func TestRawObjectRoundTrip(t *testing.T) {
	var svc NodeService
	in := `{"ID":"p1","Service":"p","Proxy":{ "DestinationServiceName" : "web", "Config": {"ms": 1000} },"Connect":null}`
	if err := json.Unmarshal([]byte(in), &svc); err != nil {
		t.Fatal(err)
	}
	if string(svc.Proxy) != `{"DestinationServiceName":"web","Config":{"ms":1000}}` || svc.Connect != nil {
		t.Fatalf("decoded Proxy %q, Connect %q", svc.Proxy, svc.Connect)
	}
	out, err := json.Marshal(&svc)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `"Proxy":{"DestinationServiceName":"web","Config":{"ms":1000}}`) ||
		!strings.Contains(string(out), `"Connect":{}`) {
		t.Fatalf("encoded %s", out)
	}
	var again NodeService
	if err := json.Unmarshal(out, &again); err != nil {
		t.Fatal(err)
	}
	if !again.Proxy.Equal(svc.Proxy) || again.Connect != nil {
		t.Fatalf("round trip: Proxy %q, Connect %q", again.Proxy, again.Connect)
	}
	for _, bad := range []string{`"web"`, `[1]`, `12`, `true`} {
		var r RawObject
		if err := json.Unmarshal([]byte(bad), &r); err == nil {
			t.Errorf("%s accepted as an object", bad)
		}
	}
}

// A catalog check's type comes from its definition as Consul derives it.
func TestHealthCheckDefinitionKind(t *testing.T) {
	sec := Duration(time.Second)
	cases := []struct {
		def  HealthCheckDefinition
		want string
	}{
		{HealthCheckDefinition{TCP: "1.1.1.1:80", Interval: sec}, CheckTCP},
		{HealthCheckDefinition{TCP: "1.1.1.1:80"}, ""},
		{HealthCheckDefinition{UDP: "1.1.1.1:53", Interval: sec}, "udp"},
		{HealthCheckDefinition{HTTP: "http://x/", Interval: sec}, CheckHTTP},
		{HealthCheckDefinition{GRPC: "x:1", Interval: sec}, CheckGRPC},
		{HealthCheckDefinition{TTL: sec}, CheckTTL},
		{HealthCheckDefinition{AliasService: "web"}, CheckAlias},
		{HealthCheckDefinition{ScriptArgs: []string{"true"}, Interval: sec}, CheckScript},
		{HealthCheckDefinition{ScriptArgs: []string{"true"}, DockerContainerID: "c", Interval: sec}, "docker"},
		{HealthCheckDefinition{}, ""},
	}
	for _, tc := range cases {
		if got := tc.def.Kind(); got != tc.want {
			t.Errorf("%+v: kind %q, want %q", tc.def, got, tc.want)
		}
	}
}

func TestHealthCheckDefinitionJSON(t *testing.T) {
	def := HealthCheckDefinition{TCP: "1.1.1.1", Interval: Duration(40 * time.Second), Timeout: Duration(80 * time.Second),
		DeregisterCriticalServiceAfter: Duration(160 * time.Second)}
	out, err := json.Marshal(&def)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"TCP":"1.1.1.1","Interval":"40s","Timeout":"1m20s","DeregisterCriticalServiceAfter":"2m40s"}`
	if string(out) != want {
		t.Fatalf("encoded %s, want %s", out, want)
	}
	// The Consul client sends every field, zero durations as "0s".
	var back HealthCheckDefinition
	in := `{"HTTP":"","Header":null,"TCP":"1.1.1.1","Interval":"40s","Timeout":"1m20s","DeregisterCriticalServiceAfter":"2m40s","TTL":"0s"}`
	if err := json.Unmarshal([]byte(in), &back); err != nil || !back.Equal(&def) {
		t.Fatalf("decoded %+v, %v", back, err)
	}
	other := def
	other.Header = map[string][]string{"A": {"b"}}
	if other.Equal(&def) || def.Equal(&other) {
		t.Fatal("definitions with different headers are equal")
	}
}

// A Raft command re-encoded after decoding is the same bytes (the log's
// and the fuzz test's invariant), even where encoding/json escapes what
// the client sent.
func TestRawObjectStableEncoding(t *testing.T) {
	in := `{"Node":"n","Service":{"Service":"s","Proxy":{"Config":{"html":"<a&b>","u":"\u00e9"}, "x" : [1, 2]}}}`
	var req RegisterRequest
	if err := json.Unmarshal([]byte(in), &req); err != nil {
		t.Fatal(err)
	}
	first, err := json.Marshal(&req)
	if err != nil {
		t.Fatal(err)
	}
	var again RegisterRequest
	if err := json.Unmarshal(first, &again); err != nil {
		t.Fatal(err)
	}
	second, err := json.Marshal(&again)
	if err != nil {
		t.Fatal(err)
	}
	if string(first) != string(second) {
		t.Fatalf("re-encoding changed the command:\n%s\n%s", first, second)
	}
	var cfg struct{ Config map[string]string }
	if err := json.Unmarshal(again.Service.Proxy, &cfg); err != nil || cfg.Config["html"] != "<a&b>" || cfg.Config["u"] != "é" {
		t.Fatalf("proxy after two round trips: %s, %v", again.Service.Proxy, err)
	}
}
