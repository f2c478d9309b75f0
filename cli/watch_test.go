package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
)

func TestWatchUsageErrors(t *testing.T) {
	var ta *testAgent
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"watch"}, "-type"},
		{[]string{"watch", "-type", "bogus"}, "Unsupported watch type"},
		{[]string{"watch", "-type", "key"}, "Must specify a single key"},
		{[]string{"watch", "-type", "services", "-key", "a"}, "-key does not apply to -type services"},
		{[]string{"watch", "-type", "event", "-stale"}, "-stale does not apply"},
		{[]string{"watch", "-type", "service", "-service", "web", "-passingonly", "maybe"}, "-passingonly"},
		{[]string{"watch", "-type", "checks", "-service", "a", "-state", "passing"}, "Cannot specify service and state"},
	} {
		r := ta.cli(t, tc.args...)
		if !r.handled || r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%q: handled %v, code %d, stderr %q; want 2 and %q", tc.args, r.handled, r.code, r.stderr, tc.want)
		}
	}
	r := ta.cli(t, "watch", "-http-addr", "127.0.0.1:1", "-type", "nodes")
	if r.code != exitFail || !strings.Contains(r.stderr, "Cannot reach the agent at 127.0.0.1:1") {
		t.Errorf("unreachable agent: code %d stderr %q", r.code, r.stderr)
	}
}

func TestWatchKeyPrintsOnChange(t *testing.T) {
	t.Parallel()
	ta := startAgent(t)
	w := ta.start(t, nil, "watch", "-follow", "-type", "key", "-key", "w/k")

	// The key does not exist yet: the first result is null.
	waitFor(t, 10*time.Second, "the initial null", func() bool { return strings.Contains(w.String(), "null") })

	expectCode(t, ta.cli(t, "kv", "put", "w/k", "hello"), exitOK)
	waitFor(t, 10*time.Second, "the first value", func() bool { return strings.Contains(w.String(), `"Value": "aGVsbG8="`) })
	// A write elsewhere changes nothing; the next write to the key shows.
	expectCode(t, ta.cli(t, "kv", "put", "w/other", "x"), exitOK)
	expectCode(t, ta.cli(t, "kv", "put", "w/k", "world"), exitOK)
	waitFor(t, 10*time.Second, "the second value", func() bool { return strings.Contains(w.String(), `"Value": "d29ybGQ="`) })

	out := w.String()
	if strings.Contains(out, "w/other") {
		t.Errorf("watch of w/k printed w/other:\n%s", out)
	}
	// Each result is one indented JSON document.
	dec := json.NewDecoder(strings.NewReader(out))
	var docs []*api.KVPair
	for dec.More() {
		var p *api.KVPair
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("output is not a stream of JSON documents: %v\n%s", err, out)
		}
		docs = append(docs, p)
	}
	if len(docs) != 3 || docs[0] != nil || string(docs[1].Value) != "hello" || string(docs[2].Value) != "world" {
		t.Fatalf("want null, hello, world; got %d documents:\n%s", len(docs), out)
	}

	w.cancel()
	if code := w.wait(t, 10*time.Second); code != exitOK {
		t.Fatalf("interrupted watch exited %d, want 0; stderr %q", code, w.stderr)
	}
}

func TestWatchHandler(t *testing.T) {
	t.Parallel()
	ta := startAgent(t)
	expectCode(t, ta.cli(t, "kv", "put", "h/a", "1"), exitOK)
	dir := t.TempDir()
	script := `n=$(ls ` + dir + ` | wc -l); cat > ` + dir + `/run.$n; echo "index=$CONSUL_INDEX held=${CONSUL_LOCK_HELD:-no}"`
	w := ta.start(t, nil, "watch", "-type", "keyprefix", "-prefix", "h/", script)

	waitFor(t, 10*time.Second, "the first handler run", func() bool { return strings.Contains(w.String(), "index=") })
	expectCode(t, ta.cli(t, "kv", "put", "h/b", "2"), exitOK)
	waitFor(t, 10*time.Second, "the second handler run", func() bool { return strings.Count(w.String(), "index=") == 2 })

	var pairs []*api.KVPair
	b, err := os.ReadFile(filepath.Join(dir, "run.1"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &pairs); err != nil {
		t.Fatalf("handler stdin is not JSON: %v\n%s", err, b)
	}
	if len(pairs) != 2 || pairs[0].Key != "h/a" || pairs[1].Key != "h/b" || string(pairs[1].Value) != "2" {
		t.Fatalf("second run got %s", b)
	}
	if strings.Contains(w.String(), "index=0 ") || strings.Contains(w.String(), "index= ") {
		t.Errorf("CONSUL_INDEX not set: %q", w.String())
	}
	w.cancel()
	if code := w.wait(t, 10*time.Second); code != exitOK {
		t.Fatalf("exit %d; stderr %q", code, w.stderr)
	}
}

func TestWatchHandlerFailureEndsWatch(t *testing.T) {
	t.Parallel()
	ta := startAgent(t)
	w := ta.start(t, nil, "watch", "-type", "nodes", "exit 3")
	if code := w.wait(t, 10*time.Second); code != exitFail {
		t.Fatalf("exit %d, want 1", code)
	}
	if !strings.Contains(w.stderr.String(), "Handler failed") {
		t.Fatalf("stderr %q", w.stderr)
	}
}

func TestWatchOnceAndServices(t *testing.T) {
	t.Parallel()
	ta := startAgent(t)
	// No handler: print the current view and exit, as
	// consul watch does.
	w := ta.start(t, nil, "watch", "-type", "nodes")
	if code := w.wait(t, 10*time.Second); code != exitOK {
		t.Fatalf("exit %d; stderr %q", code, w.stderr)
	}
	var nodes []*api.Node
	if err := json.Unmarshal([]byte(w.String()), &nodes); err != nil || len(nodes) != 1 || nodes[0].Node != "cli-test" {
		t.Fatalf("nodes %s (%v)", w.String(), err)
	}

	// A service watch with a tag and -passing, run as a program with
	// arguments (no shell).
	s := ta.start(t, nil, "watch", "-type", "service", "-service", "web", "-tag", "v1", "-passing", "sh", "-c", `echo "run: $(cat)"`)
	waitFor(t, 10*time.Second, "the initial empty result", func() bool { return strings.Contains(s.String(), "run: []") })
	reg := func(node, addr, tag, status string) {
		t.Helper()
		_, err := ta.client.Catalog().Register(&api.CatalogRegistration{
			Node: node, Address: addr,
			Service: &api.AgentService{ID: "web", Service: "web", Port: 80, Tags: []string{tag}},
			Check:   &api.AgentCheck{Node: node, CheckID: "web-check", Name: "web", ServiceID: "web", Status: status},
		}, nil)
		if err != nil {
			t.Fatalf("register %s: %v", node, err)
		}
	}
	reg("web-1", "127.0.0.11", "v1", api.HealthPassing)
	waitFor(t, 10*time.Second, "web-1", func() bool { return strings.Contains(s.String(), `"Node":"web-1"`) })
	reg("web-2", "127.0.0.12", "v1", api.HealthCritical) // not passing
	reg("web-3", "127.0.0.13", "v2", api.HealthPassing)  // other tag
	reg("web-4", "127.0.0.14", "v1", api.HealthPassing)
	waitFor(t, 10*time.Second, "web-4", func() bool { return strings.Contains(s.String(), `"Node":"web-4"`) })
	if out := s.String(); strings.Contains(out, "web-2") || strings.Contains(out, "web-3") {
		t.Errorf("filtered instances showed up:\n%s", out)
	}
}

func TestWatchEvent(t *testing.T) {
	t.Parallel()
	ta := startAgent(t)
	w := ta.start(t, nil, "watch", "-follow", "-type", "event", "-name", "deploy")
	waitFor(t, 10*time.Second, "the initial empty list", func() bool { return strings.Contains(w.String(), "[]") })
	for _, e := range []*api.UserEvent{{Name: "other", Payload: []byte("x")}, {Name: "deploy", Payload: []byte("v2")}} {
		if _, _, err := ta.client.Event().Fire(e, nil); err != nil {
			t.Fatalf("fire %s: %v", e.Name, err)
		}
	}
	waitFor(t, 10*time.Second, "the deploy event", func() bool { return strings.Contains(w.String(), `"Payload": "djI="`) })
	if strings.Contains(w.String(), `"other"`) {
		t.Errorf("an event of another name showed up:\n%s", w.String())
	}
}
