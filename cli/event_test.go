package cli

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
)

func TestEvent(t *testing.T) {
	t.Parallel()
	ta := startAgent(t)
	idRe := regexp.MustCompile(`^Event ID: ([0-9a-f-]{36})\n$`)
	fire := func(args ...string) string {
		t.Helper()
		r := ta.cli(t, append([]string{"event"}, args...)...)
		expectCode(t, r, exitOK)
		m := idRe.FindStringSubmatch(r.stdout)
		if m == nil {
			t.Fatalf("event %v: stdout %q, want Event ID: <uuid>", args, r.stdout)
		}
		return m[1]
	}
	// received waits for the agent to have the event with this ID.
	received := func(name, id string) *api.UserEvent {
		t.Helper()
		var got *api.UserEvent
		waitFor(t, 10*time.Second, "event "+id, func() bool {
			evs, _, err := ta.client.Event().List(name, nil)
			if err != nil {
				t.Fatalf("event list: %v", err)
			}
			for _, ev := range evs {
				if ev.ID == id {
					got = ev
					return true
				}
			}
			return false
		})
		return got
	}

	id := fire("-name", "deploy", "build-1234")
	if ev := received("deploy", id); string(ev.Payload) != "build-1234" || ev.NodeFilter != "" {
		t.Errorf("event %+v: want payload build-1234, no filter", ev)
	}
	// Filters that match this agent (its node, a local service and its
	// tag): it acts on the event.
	if err := ta.client.Agent().ServiceRegister(&api.AgentServiceRegistration{Name: "web", Tags: []string{"v2"}, Port: 80}); err != nil {
		t.Fatal(err)
	}
	id = fire("-name", "restart", "-node", "^cli-", "-service", "^web$", "-tag", "v[0-9]+")
	ev := received("restart", id)
	if len(ev.Payload) != 0 || ev.NodeFilter != "^cli-" || ev.ServiceFilter != "^web$" || ev.TagFilter != "v[0-9]+" {
		t.Errorf("event %+v: want no payload and the filters", ev)
	}

	for _, args := range [][]string{
		{},
		{"payload"},
		{"-name", "x", "-node", "("},
		{"-name", "x", "-service", "["},
		{"-name", "x", "-service", "web", "-tag", "("},
		{"-name", "x", "-tag", "v1"},
		{"-name", "x", "one", "two"},
	} {
		r := ta.cli(t, append([]string{"event"}, args...)...)
		expectCode(t, r, exitUsage)
		if r.stdout != "" || !strings.Contains(r.stderr, "Error!") {
			t.Errorf("event %v: stdout %q stderr %q", args, r.stdout, r.stderr)
		}
	}
}
