package definition

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/coredns-coord/coredns-coord/structs"
)

func dur(s string) structs.Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		panic(err)
	}
	return structs.Duration(d)
}

// validCases are definitions written in both formats, with what they
// declare. They also seed FuzzParse.
var validCases = []struct {
	name      string
	json, hcl string
	want      *Set
}{
	{
		name: "empty",
		json: `{}`,
		hcl:  ``,
		want: &Set{},
	},
	{
		name: "service",
		json: `{"service": {"name": "web", "port": 8080}}`,
		hcl:  `service { name = "web" port = 8080 }`,
		want: &Set{Services: []*structs.ServiceDefinition{{Name: "web", Port: 8080}}},
	},
	{
		name: "service with every field",
		json: `{
  "service": {
    "id": "web-1",
    "name": "web",
    "tags": ["v1", "primary"],
    "address": "10.0.0.5",
    "port": 80,
    "meta": {"Version": "1.2", "build_id": "abc", "x-y": "z"},
    "weights": {"passing": 3, "warning": 0},
    "enable_tag_override": true,
    "kind": ""
  }
}`,
		hcl: `
service {
  id                  = "web-1"
  name                = "web"
  tags                = ["v1", "primary"]
  address             = "10.0.0.5"
  port                = 80
  meta {
    Version  = "1.2"
    build_id = "abc"
    x-y      = "z"
  }
  weights {
    passing = 3
    warning = 0
  }
  enable_tag_override = true
  kind                = ""
}`,
		want: &Set{Services: []*structs.ServiceDefinition{{
			ID: "web-1", Name: "web", Tags: []string{"v1", "primary"}, Address: "10.0.0.5", Port: 80,
			Meta:              map[string]string{"Version": "1.2", "build_id": "abc", "x-y": "z"},
			Weights:           &structs.Weights{Passing: 3, Warning: 0},
			EnableTagOverride: true,
		}}},
	},
	{
		name: "weights default to 1",
		json: `{"service": {"name": "web", "weights": {"passing": 5}}}`,
		hcl:  `service { name = "web" weights { passing = 5 } }`,
		want: &Set{Services: []*structs.ServiceDefinition{{Name: "web", Weights: &structs.Weights{Passing: 5, Warning: 1}}}},
	},
	{
		name: "services",
		json: `{"services": [{"name": "a"}, {"name": "b", "id": "b2"}]}`,
		hcl: `
services {
  name = "a"
}
services {
  name = "b"
  id   = "b2"
}`,
		want: &Set{Services: []*structs.ServiceDefinition{{Name: "a"}, {Name: "b", ID: "b2"}}},
	},
	{
		name: "services as a list",
		json: `{"services": [{"name": "a"}]}`,
		hcl:  `services = [{ name = "a" }]`,
		want: &Set{Services: []*structs.ServiceDefinition{{Name: "a"}}},
	},
	{
		name: "service with check and checks",
		json: `{
  "service": {
    "name": "web",
    "port": 80,
    "check": {
      "id": "web-http",
      "name": "HTTP on 80",
      "http": "http://localhost:80/health",
      "method": "POST",
      "body": "{}",
      "header": {"X-Foo": ["a", "b"], "content_type": ["json"]},
      "disable_redirects": true,
      "tls_server_name": "web.example",
      "tls_skip_verify": true,
      "interval": "10s",
      "timeout": "2s",
      "deregister_critical_service_after": "90m",
      "success_before_passing": 2,
      "failures_before_warning": 1,
      "failures_before_critical": 3,
      "output_max_size": 1024,
      "status": "passing",
      "notes": "main check"
    },
    "checks": [
      {"tcp": "localhost:80", "interval": "5s"},
      {"args": ["/bin/check", "-v"], "interval": "30s"},
      {"ttl": "30s", "CheckID": "web-ttl"},
      {"grpc": "localhost:9090/web", "grpc_use_tls": true, "interval": "15s"},
      {"alias_node": "n1", "alias_service": "db"}
    ]
  }
}`,
		hcl: `
service {
  name = "web"
  port = 80
  check {
    id                                = "web-http"
    name                              = "HTTP on 80"
    http                              = "http://localhost:80/health"
    method                            = "POST"
    body                              = "{}"
    header {
      X-Foo        = ["a", "b"]
      content_type = ["json"]
    }
    disable_redirects                 = true
    tls_server_name                   = "web.example"
    tls_skip_verify                   = true
    interval                          = "10s"
    timeout                           = "2s"
    deregister_critical_service_after = "90m"
    success_before_passing            = 2
    failures_before_warning           = 1
    failures_before_critical          = 3
    output_max_size                   = 1024
    status                            = "passing"
    notes                             = "main check"
  }
  checks = [
    { tcp = "localhost:80", interval = "5s" },
    { args = ["/bin/check", "-v"], interval = "30s" },
    { ttl = "30s", CheckID = "web-ttl" },
    { grpc = "localhost:9090/web", grpc_use_tls = true, interval = "15s" },
    { alias_node = "n1", alias_service = "db" },
  ]
}`,
		want: &Set{Services: []*structs.ServiceDefinition{{
			Name: "web", Port: 80,
			Check: &structs.CheckType{
				CheckID: "web-http", Name: "HTTP on 80",
				HTTP: "http://localhost:80/health", Method: "POST", Body: "{}",
				Header:           map[string][]string{"X-Foo": {"a", "b"}, "content_type": {"json"}},
				DisableRedirects: true, TLSServerName: "web.example", TLSSkipVerify: true,
				Interval: dur("10s"), Timeout: dur("2s"), DeregisterCriticalServiceAfter: dur("90m"),
				SuccessBeforePassing: 2, FailuresBeforeWarning: 1, FailuresBeforeCritical: 3,
				OutputMaxSize: 1024, Status: "passing", Notes: "main check",
			},
			Checks: []*structs.CheckType{
				{TCP: "localhost:80", Interval: dur("5s")},
				{ScriptArgs: []string{"/bin/check", "-v"}, Interval: dur("30s")},
				{TTL: dur("30s"), CheckID: "web-ttl"},
				{GRPC: "localhost:9090/web", GRPCUseTLS: true, Interval: dur("15s")},
				{AliasNode: "n1", AliasService: "db"},
			},
		}}},
	},
	{
		name: "check",
		json: `{"check": {"name": "mem", "args": ["/bin/mem"], "interval": "1m", "service_id": "web-1"}}`,
		hcl:  `check { name = "mem" args = ["/bin/mem"] interval = "1m" service_id = "web-1" }`,
		want: &Set{Checks: []*structs.CheckDefinition{{
			ID: "mem", ServiceID: "web-1",
			CheckType: structs.CheckType{CheckID: "mem", Name: "mem", ScriptArgs: []string{"/bin/mem"}, Interval: dur("1m")},
		}}},
	},
	{
		name: "docker checks, Consul's file and API names",
		json: `{
  "check": {"name": "redis", "docker_container_id": "f972c95ebf0e", "shell": "/bin/bash", "args": ["/bin/true"], "interval": "10s", "service_id": "redis"},
  "service": {"name": "redis", "checks": [{"DockerContainerID": "redis-1", "Shell": "/bin/sh", "ScriptArgs": ["redis-cli", "ping"], "Interval": "5s", "Timeout": "1s"}]}
}`,
		hcl: `
check {
  name                = "redis"
  docker_container_id = "f972c95ebf0e"
  shell               = "/bin/bash"
  args                = ["/bin/true"]
  interval            = "10s"
  service_id          = "redis"
}
service {
  name   = "redis"
  checks = [{ DockerContainerID = "redis-1", Shell = "/bin/sh", ScriptArgs = ["redis-cli", "ping"], Interval = "5s", Timeout = "1s" }]
}`,
		want: &Set{
			Services: []*structs.ServiceDefinition{{Name: "redis", Checks: []*structs.CheckType{{
				DockerContainerID: "redis-1", Shell: "/bin/sh", ScriptArgs: []string{"redis-cli", "ping"}, Interval: dur("5s"), Timeout: dur("1s"),
			}}}},
			Checks: []*structs.CheckDefinition{{ID: "redis", ServiceID: "redis", CheckType: structs.CheckType{
				CheckID: "redis", Name: "redis", DockerContainerID: "f972c95ebf0e", Shell: "/bin/bash", ScriptArgs: []string{"/bin/true"}, Interval: dur("10s"),
			}}},
		},
	},
	{
		name: "checks, id and name default to each other",
		json: `{"checks": [{"id": "disk", "ttl": "1m"}, {"name": "load", "tcp": "localhost:22", "interval": "10s"}, {"CheckID": "c3", "name": "Three", "ttl": "5s"}]}`,
		hcl: `
checks {
  id  = "disk"
  ttl = "1m"
}
checks {
  name     = "load"
  tcp      = "localhost:22"
  interval = "10s"
}
checks {
  CheckID = "c3"
  name    = "Three"
  ttl     = "5s"
}`,
		want: &Set{Checks: []*structs.CheckDefinition{
			{ID: "disk", CheckType: structs.CheckType{CheckID: "disk", Name: "disk", TTL: dur("1m")}},
			{ID: "load", CheckType: structs.CheckType{CheckID: "load", Name: "load", TCP: "localhost:22", Interval: dur("10s")}},
			{ID: "c3", CheckType: structs.CheckType{CheckID: "c3", Name: "Three", TTL: dur("5s")}},
		}},
	},
	{
		name: "CamelCase API names",
		json: `{"Service": {"Name": "api", "ID": "api-1", "EnableTagOverride": true, "Check": {"HTTP": "https://localhost/", "Interval": "10s", "TLSSkipVerify": true, "DeregisterCriticalServiceAfter": "1h", "Header": {"Accept": ["*/*"]}}}, "Checks": [{"Name": "s", "ScriptArgs": ["true"], "Interval": "5s", "ServiceID": "api-1", "GRPCUseTLS": false}]}`,
		hcl: `
Service {
  Name              = "api"
  ID                = "api-1"
  EnableTagOverride = true
  Check {
    HTTP                           = "https://localhost/"
    Interval                       = "10s"
    TLSSkipVerify                  = true
    DeregisterCriticalServiceAfter = "1h"
    Header {
      Accept = ["*/*"]
    }
  }
}
Checks = [{ Name = "s", ScriptArgs = ["true"], Interval = "5s", ServiceID = "api-1", GRPCUseTLS = false }]`,
		want: &Set{
			Services: []*structs.ServiceDefinition{{Name: "api", ID: "api-1", EnableTagOverride: true, Check: &structs.CheckType{
				HTTP: "https://localhost/", Interval: dur("10s"), TLSSkipVerify: true, DeregisterCriticalServiceAfter: dur("1h"),
				Header: map[string][]string{"Accept": {"*/*"}},
			}}},
			Checks: []*structs.CheckDefinition{{ID: "s", ServiceID: "api-1", CheckType: structs.CheckType{CheckID: "s", Name: "s", ScriptArgs: []string{"true"}, Interval: dur("5s")}}},
		},
	},
	{
		name: "everything at once",
		json: `{"service": {"name": "a"}, "services": [{"name": "b"}], "check": {"name": "c", "ttl": "1s"}, "checks": [{"name": "d", "ttl": "1s"}]}`,
		hcl: `
service { name = "a" }
services = [{ name = "b" }]
check { name = "c" ttl = "1s" }
checks = [{ name = "d" ttl = "1s" }]`,
		want: &Set{
			Services: []*structs.ServiceDefinition{{Name: "a"}, {Name: "b"}},
			Checks: []*structs.CheckDefinition{
				{ID: "c", CheckType: structs.CheckType{CheckID: "c", Name: "c", TTL: dur("1s")}},
				{ID: "d", CheckType: structs.CheckType{CheckID: "d", Name: "d", TTL: dur("1s")}},
			},
		},
	},
	{
		name: "nulls and empty values are unset; clamping is left to the agent",
		json: `{"service": {"name": "x", "tags": [], "meta": {}, "address": null, "check": {"tcp": "h:1", "interval": "100ms", "timeout": "5s"}}, "checks": null}`,
		hcl:  `service { name = "x" tags = [] meta {} check { tcp = "h:1" interval = "100ms" timeout = "5s" } }`,
		want: &Set{Services: []*structs.ServiceDefinition{{Name: "x", Check: &structs.CheckType{TCP: "h:1", Interval: dur("100ms"), Timeout: dur("5s")}}}},
	},
}

func TestParseValid(t *testing.T) {
	for _, tc := range validCases {
		for _, f := range []struct{ ext, src string }{{".json", tc.json}, {".hcl", tc.hcl}} {
			t.Run(tc.name+f.ext, func(t *testing.T) {
				got, err := Parse("def"+f.ext, []byte(f.src))
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if !reflect.DeepEqual(got, tc.want) {
					t.Fatalf("got\n%s\nwant\n%s", dump(got), dump(tc.want))
				}
			})
		}
	}
}

func dump(s *Set) string {
	var b strings.Builder
	for _, svc := range s.Services {
		b.WriteString(strings.ReplaceAll(strings.TrimSpace(jsonString(svc)), "\n", " "))
		b.WriteByte('\n')
	}
	for _, c := range s.Checks {
		b.WriteString(jsonString(c))
		b.WriteByte('\n')
	}
	return b.String()
}

// errorCases are files Parse must refuse, with the whole message.
var errorCases = []struct {
	name string // file name: the extension picks the format
	src  string
	want string
}{
	{"web.json", `{"service": {"name": "web", "checks": [{"ttl": "1s"}, {"tcp": "h:1", "interval": "10q"}]}}`,
		`web.json: service.checks[1].interval: invalid duration "10q"`},
	{"web.hcl", `service { name = "web" checks = [{ ttl = "1s" }, { tcp = "h:1", interval = "10q" }] }`,
		`web.hcl: service.checks[1].interval: invalid duration "10q"`},
	{"web.hcl", `service { name = "web" check { http = "http://x/" tcp = "x:1" interval = "1s" } }`,
		`web.hcl: service.check: invalid check: has both http and tcp; a check runs one way only`},
	{"web.json", `{"service": {"name": "web", "check": {"http": "http://x/", "tcp": "x:1", "interval": "1s"}}}`,
		`web.json: service.check: invalid check: has both http and tcp; a check runs one way only`},
	{"x.json", `{"service": {"name": "web", "prot": 80}}`, `x.json: service.prot: unknown field`},
	{"x.hcl", `service { name = "web" prot = 80 }`, `x.hcl: service.prot: unknown field`},
	{"x.json", `{"service": {"port": 80}}`, `x.json: service: name is required`},
	{"x.hcl", `service { port = 80 }`, `x.hcl: service: name is required`},
	{"x.json", `{"services": [{"name": "a"}, {"id": "b"}]}`, `x.json: services[1]: name is required`},
	{"x.json", `{"service": {"name": "web", "port": 70000}}`, `x.json: service.port: port 70000 is out of range (0-65535)`},
	{"x.json", `{"service": {"name": "web", "port": -1}}`, `x.json: service.port: port -1 is out of range (0-65535)`},
	{"x.json", `{"service": {"name": "web", "port": "80"}}`, `x.json: service.port: expected an integer, got a string`},
	{"x.json", `{"service": {"name": "web", "port": 80.5}}`, `x.json: service.port: expected an integer, got 80.5`},
	{"x.hcl", `service { name = "web" port = 80.5 }`, `x.hcl: service.port: expected an integer, got 80.5`},
	{"x.json", `{"service": {"name": 7}}`, `x.json: service.name: expected a string, got a number`},
	{"x.json", `{"service": {"name": "w", "tags": ["a", 1]}}`, `x.json: service.tags[1]: expected a string, got a number`},
	{"x.json", `{"service": {"name": "w", "tags": "a"}}`, `x.json: service.tags: expected a list of strings, got a string`},
	{"x.json", `{"service": {"name": "w", "meta": {"a b": 1}}}`, `x.json: service.meta["a b"]: expected a string, got a number`},
	{"x.json", `{"service": {"name": "w", "enable_tag_override": "yes"}}`, `x.json: service.enable_tag_override: expected true or false, got a string`},
	{"x.json", `{"service": {"name": "w", "weights": {"passing": 0}}}`, `x.json: service.weights.passing: must be at least 1`},
	{"x.json", `{"service": {"name": "w", "weights": {"warning": -1}}}`, `x.json: service.weights.warning: must not be negative`},
	{"x.json", `{"service": {"name": "w", "weights": {"critical": 1}}}`, `x.json: service.weights.critical: unknown field`},
	{"x.json", `{"service": {"name": "w", "kind": "connect-proxy"}}`, `x.json: service.kind: not supported: "connect-proxy"; only typical services are (no Connect proxies or gateways)`},
	{"x.json", `{"service": {"name": "w", "connect": {"native": true}}}`, `x.json: service.connect: not supported: Connect is not supported`},
	{"x.json", `{"service": {"name": "w", "name_": "v"}}`, `x.json: service.name_: same field as "name"; give it once`},
	{"x.json", `{"service": {"Name": "w", "name": "v"}}`, `x.json: service.name: same field as "Name"; give it once`},
	{"x.json", `{"service": {"name": "w", "check": {"ttl": "1s", "service_id": "w"}}}`,
		`x.json: service.check.service_id: a service's check belongs to that service; service_id is for standalone checks`},
	{"x.json", `{"service": {"name": "w", "check": {"script": "/bin/true", "interval": "1s"}}}`,
		`x.json: service.check.script: not supported: removed in Consul 1.1; use args`},
	{"x.json", `{"service": {"name": "w", "check": {"docker_container_id": "c", "interval": "1s"}}}`,
		`x.json: service.check: invalid check: docker_container_id needs args, the command to run in the container`},
	{"x.hcl", `check { name = "d" docker_container_id = "c" tcp = "h:1" interval = "1s" }`,
		`x.hcl: check: invalid check: docker_container_id needs args, the command to run in the container`},
	{"x.json", `{"check": {"name": "d", "shell": "/bin/bash", "args": ["true"], "interval": "1s"}}`,
		`x.json: check: invalid check: shell is only for a Docker check (with docker_container_id)`},
	{"x.json", `{"check": {"name": "d", "docker_container_id": "c", "args": ["true"]}}`,
		`x.json: check: invalid check: interval is required for a docker check`},
	{"x.json", `{"check": {"name": "d", "docker_container_id": ["c"], "args": ["true"], "interval": "1s"}}`,
		`x.json: check.docker_container_id: expected a string, got a list`},
	{"x.json", `{"check": {"name": "d", "docker_container_id": "c", "DockerContainerID": "c", "args": ["true"], "interval": "1s"}}`,
		`x.json: check.docker_container_id: same field as "DockerContainerID"; give it once`},
	{"x.json", `{"service": {"name": "w", "check": {"interval": "1s"}}}`,
		`x.json: service.check: invalid check: needs one of args, http, tcp, ttl, grpc, alias_node or alias_service`},
	{"x.json", `{"service": {"name": "w", "check": {"http": "localhost/", "interval": "1s"}}}`,
		`x.json: service.check: invalid check: http "localhost/" must be an http:// or https:// URL`},
	{"x.json", `{"service": {"name": "w", "check": {"tcp": "h:1"}}}`,
		`x.json: service.check: invalid check: interval is required for a tcp check`},
	{"x.json", `{"service": {"name": "w", "check": {"ttl": "1s", "status": "ok"}}}`,
		`x.json: service.check: invalid check: status "ok" is not passing, warning or critical`},
	{"x.json", `{"service": {"name": "w", "check": {"ttl": "1s", "interval": 10}}}`,
		`x.json: service.check.interval: expected a duration string such as "10s", got a number`},
	{"x.json", `{"service": {"name": "w", "check": {"http": "http://x/", "interval": "1s", "header": {"X": "a"}}}}`,
		`x.json: service.check.header.X: expected a list of strings, got a string`},
	{"x.json", `{"service": {"name": "w", "check": {"ttl": "1s", "args": ["a"], "ScriptArgs": ["b"]}}}`,
		`x.json: service.check.args: same field as "ScriptArgs"; give it once`},
	{"x.json", `{"service": {"name": "w", "checks": {"ttl": "1s"}}}`, `x.json: service.checks: expected a list of objects, got an object`},
	{"x.json", `{"service": {"name": "w", "check": [{"ttl": "1s"}, {"ttl": "2s"}]}}`, `x.json: service.check: given 2 times; it takes one object`},
	{"x.hcl", `service { name = "a" } service { name = "b" }`, `x.hcl: service: given 2 times; it takes one object; declare several services with "services"`},
	{"x.hcl", `check { name = "a" ttl = "1s" } check { name = "b" ttl = "1s" }`, `x.hcl: check: given 2 times; it takes one object; declare several checks with "checks"`},
	{"x.json", `{"service": "web"}`, `x.json: service: expected an object, got a string`},
	{"x.json", `{"services": {"name": "web"}}`, `x.json: services: expected a list of objects, got an object`},
	{"x.json", `{"services": ["web"]}`, `x.json: services[0]: expected an object, got a string`},
	{"x.json", `{"services": [{"name": "a"}, {"name": "b", "id": "a"}]}`, `x.json: services[1]: service ID "a" is already declared at services[0]`},
	{"x.json", `{"service": {"name": "a"}, "services": [{"name": "a"}]}`, `x.json: services[0]: service ID "a" is already declared at service`},
	{"x.json", `{"checks": [{"name": "a", "ttl": "1s"}, {"id": "a", "ttl": "1s"}]}`, `x.json: checks[1]: check ID "a" is already declared at checks[0]`},
	{"x.json", `{"check": {"ttl": "1s"}}`, `x.json: check: name is required (or id)`},
	{"x.json", `{"checks": [{"name": "c", "ttl": "1s", "interval": "1s"}]}`, `x.json: checks[0]: invalid check: ttl and interval cannot both be set`},
	{"x.json", `{"datacenter": "dc1", "service": {"name": "w"}}`,
		`x.json: datacenter: Consul agent configuration does not belong in a definition file; configure the agent in the Corefile`},
	{"x.hcl", `data_dir = "/var/consul"`,
		`x.hcl: data_dir: Consul agent configuration does not belong in a definition file; configure the agent in the Corefile`},
	{"x.json", `{"servce": {"name": "w"}}`, `x.json: servce: unknown field (a definition file holds service, services, check and checks)`},
	// Syntax errors carry line:column.
	{"x.json", "{\n  \"service\": {\n    \"name\": \"w\",\n  }\n}", `x.json:4:3: invalid character '}' looking for beginning of object key string`},
	{"x.json", "{\"service\": {", `x.json:1:14: unexpected end of JSON input`},
	{"x.json", "", `x.json:1:1: empty file; expected a JSON object`},
	{"x.json", "{}\n{}", `x.json:2:1: unexpected data after the top-level object`},
	{"x.json", `[{"service": {"name": "w"}}]`, `x.json: expected an object at the top level, got a list`},
	{"x.hcl", "service {\n  name = \n}", `x.hcl:3:2: object expected closing RBRACE got: EOF`},
	{"x.hcl", "service {\n  checks = [[{ ttl = \"1s\" ]]\n}", `x.hcl:2:27: expected: IDENT | STRING | ASSIGN | LBRACE got: RBRACK`},
	// JSON in a .hcl file is read as JSON (hcl does the same).
	{"x.hcl", ` {"service": {"prot": 1}}`, `x.hcl: service.prot: unknown field`},
	{"x.hcl", `{"\0`, `x.hcl:1:4: invalid character '0' in string escape code`},
	{"x.hcl", `service "web" { port = 1 }`, `x.hcl: service.web: unknown field (or an HCL block label, which definition files do not use)`},
	{"x.yaml", `service: {}`, `x.yaml: unknown format ".yaml": definition files end in .json or .hcl`},
}

func TestParseErrors(t *testing.T) {
	for _, tc := range errorCases {
		t.Run(tc.want, func(t *testing.T) {
			set, err := Parse(tc.name, []byte(tc.src))
			if err == nil {
				t.Fatalf("no error; got %s", dump(set))
			}
			if err.Error() != tc.want {
				t.Fatalf("error\n  %s\nwant\n  %s", err, tc.want)
			}
			var e *Error
			if !errors.As(err, &e) || e.File != tc.name {
				t.Fatalf("error %T is not an *Error naming %s", err, tc.name)
			}
		})
	}
}

func TestParseErrorFields(t *testing.T) {
	_, err := Parse("a.json", []byte(`{"service": {"name": "w", "check": {"ttl": "1s", "interval": "1s"}}}`))
	var e *Error
	if !errors.As(err, &e) || e.Field != "service.check" || e.Line != 0 {
		t.Fatalf("error %#v", err)
	}
	if !errors.Is(err, structs.ErrInvalidCheck) {
		t.Fatalf("%v does not wrap ErrInvalidCheck", err)
	}
	_, err = Parse("a.json", []byte("{\n\n   x"))
	if !errors.As(err, &e) || e.Line != 3 || e.Column != 4 {
		t.Fatalf("syntax error %#v", err)
	}
}

func writeFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestParseFile(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "web.hcl", `service { name = "web" }`)
	set, err := ParseFile(path)
	if err != nil || len(set.Services) != 1 || set.Services[0].Name != "web" {
		t.Fatalf("ParseFile: %v, %v", set, err)
	}
	// The extension is checked before the file is read.
	_, err = ParseFile(filepath.Join(dir, "missing.yaml"))
	if err == nil || err.Error() != filepath.Join(dir, "missing.yaml")+`: unknown format ".yaml": definition files end in .json or .hcl` {
		t.Fatalf("yaml: %v", err)
	}
	_, err = ParseFile(filepath.Join(dir, "missing.json"))
	if err == nil || !strings.HasPrefix(err.Error(), filepath.Join(dir, "missing.json")+": cannot open: ") {
		t.Fatalf("missing file: %v", err)
	}
}

func names(s *Set) (svcs, checks []string) {
	for _, svc := range s.Services {
		svcs = append(svcs, svc.ServiceID())
	}
	for _, c := range s.Checks {
		checks = append(checks, c.ID)
	}
	return
}

func TestLoadDirs(t *testing.T) {
	d1, d2 := t.TempDir(), t.TempDir()
	writeFile(t, d1, "b.hcl", `service { name = "b" } check { name = "cb" ttl = "1s" }`)
	writeFile(t, d1, "a.json", `{"services": [{"name": "a1"}, {"name": "a2"}]}`)
	bad := writeFile(t, d1, "c.json", `{"service": {"name": "c", "check": {"tcp": "h:1", "interval": "10q"}}}`)
	writeFile(t, d1, "d.json", `{"service": {"name": "d"}}`)
	// Not definition files: hidden, other extensions, directories.
	writeFile(t, d1, ".hidden.json", `{"service": {"name": "hidden"}}`)
	writeFile(t, d1, "notes.txt", `not a definition`)
	writeFile(t, d1, "e.json.bak", `{"service": {"name": "bak"}}`)
	writeFile(t, d1, "f.JSON", `{"service": {"name": "upper"}}`)
	if err := os.Mkdir(filepath.Join(d1, "sub.json"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(d1, "sub.json"), "g.json", `{"service": {"name": "nested"}}`)
	// A symbolic link to a file counts.
	target := writeFile(t, t.TempDir(), "linked.json", `{"service": {"name": "linked"}}`)
	if err := os.Symlink(target, filepath.Join(d1, "e.json")); err != nil {
		t.Fatal(err)
	}
	// d2: a duplicate service ID (a1, by its name) and check ID, next to a new service.
	dup := writeFile(t, d2, "z.json", `{"services": [{"name": "z"}, {"id": "a1", "name": "other"}], "checks": [{"id": "cb", "ttl": "1s"}]}`)

	set, errs := LoadDirs(d1, d2)
	svcs, checks := names(set)
	if want := []string{"a1", "a2", "b", "d", "linked", "z"}; !reflect.DeepEqual(svcs, want) {
		t.Errorf("services %v, want %v", svcs, want)
	}
	if want := []string{"cb"}; !reflect.DeepEqual(checks, want) {
		t.Errorf("checks %v, want %v", checks, want)
	}
	// The first declaration wins.
	for _, s := range set.Services {
		if s.Name == "other" {
			t.Errorf("duplicate service loaded: %+v", s)
		}
	}
	want := []string{
		bad + `: service.check.interval: invalid duration "10q"`,
		dup + `: services[1]: service ID "a1" is already declared in ` + filepath.Join(d1, "a.json") + `; ignoring this one`,
		dup + `: checks[0]: check ID "cb" is already declared in ` + filepath.Join(d1, "b.hcl") + `; ignoring this one`,
	}
	var got []string
	for _, err := range errs {
		got = append(got, err.Error())
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("errors\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestLoadDirsMissingDir(t *testing.T) {
	d := t.TempDir()
	writeFile(t, d, "a.json", `{"service": {"name": "a"}}`)
	missing := filepath.Join(d, "nope")
	set, errs := LoadDirs(missing, d)
	if len(set.Services) != 1 || len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), missing+": cannot open") {
		t.Fatalf("set %v, errs %v", set, errs)
	}
	set, errs = LoadDirs()
	if set == nil || len(set.Services) != 0 || errs != nil {
		t.Fatalf("no dirs: %v %v", set, errs)
	}
}

// TestParseHCLLimits: hcl v1 takes time and memory growing with the square
// of the nesting depth or of the keys before a value; such files are
// refused up front, and long parser messages are cut. How long refusing
// takes is BenchmarkParseHostileHCL's.
func TestParseHCLLimits(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"a = " + strings.Repeat("[", 1_000_000), "x.hcl:1:105: nested more than 100 levels deep"},
		{"service " + strings.Repeat("{ a ", 1_000_000), "x.hcl:1:409: nested more than 100 levels deep"},
		{strings.Repeat("a ", 1_000_000) + "{}", "x.hcl:1:1: more than 100 keys before one value"},
		// Brackets in strings and comments do not count.
		{"# " + strings.Repeat("[", 200) + "\n/* " + strings.Repeat("{", 200) + " */\nservice { name = \"" + strings.Repeat("[", 200) + "\" }",
			""},
	} {
		_, err := Parse("x.hcl", []byte(tc.src))
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("%.20q...: error %.300q, want %q", tc.src, got, tc.want)
		}
	}
	_, err := Parse("x.hcl", []byte("b = "+strings.Repeat(`"x"`, 100_000)))
	if err == nil || len(err.Error()) > 300 || !strings.HasSuffix(err.Error(), "...") {
		t.Errorf("long message not cut: %.400v", err)
	}
}
