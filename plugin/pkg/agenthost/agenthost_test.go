package agenthost

import (
	"net"
	"strings"
	"testing"

	"github.com/coredns/caddy"

	"github.com/coredns-coord/coredns-coord/agent"
	"github.com/coredns-coord/coredns-coord/internal/testagent"
)

// stopAtEnd runs the load's final shutdown when the test ends.
func stopAtEnd(t *testing.T, l *load) {
	t.Cleanup(func() {
		if err := l.stop(); err != nil {
			t.Errorf("final shutdown: %v", err)
		}
	})
}

// Every plugin of the server block gets the declared agent, whether it
// asked before the declaration (coordhealth's directive comes first) or
// after; a server block without a declaration gets nil. Nothing starts
// before startup.
func TestStartHandsOverTheAgent(t *testing.T) {
	cfg := testagent.DevConfig(t, "host-1", "")
	l := newLoad()
	var before, after, elsewhere *agent.Agent
	elsewhereCalled := false
	l.use("block", func(a *agent.Agent) error { before = a; return nil })
	if err := l.declare("block", "coordcatalog", cfg); err != nil {
		t.Fatal(err)
	}
	l.use("block", func(a *agent.Agent) error { after = a; return nil })
	l.use("other block", func(a *agent.Agent) error { elsewhere, elsewhereCalled = a, true; return nil })

	changed := cfg
	changed.NodeName = "host-2"
	if err := agent.CheckSettings(changed); err != nil {
		t.Fatalf("an agent runs before startup: %v", err)
	}
	if err := l.start(nil); err != nil {
		t.Fatal(err)
	}
	stopAtEnd(t, l)
	if before == nil || before != after {
		t.Fatalf("the plugins got %p and %p", before, after)
	}
	if !elsewhereCalled || elsewhere != nil {
		t.Fatalf("a server block without an agent got %p (called %v)", elsewhere, elsewhereCalled)
	}
	if before.Config().NodeName != "host-1" {
		t.Fatalf("agent of %q", before.Config().NodeName)
	}
}

// A reload's load finds the running agent; one that changes its settings
// is refused at setup, before it starts anything. Final shutdown stops the
// agent.
func TestReloadKeepsTheAgent(t *testing.T) {
	cfg := testagent.DevConfig(t, "host-1", "")
	first := newLoad()
	var running *agent.Agent
	first.declare("block", "coordcatalog", cfg)
	first.use("block", func(a *agent.Agent) error { running = a; return nil })
	if err := first.start(nil); err != nil {
		t.Fatal(err)
	}

	changed := cfg
	changed.NodeName = "host-2"
	err := Declare(caddy.NewTestController("dns", ""), "coordcatalog", changed)
	if err == nil || !strings.Contains(err.Error(), "take effect after a restart") {
		t.Fatalf("changed settings declared: %v", err)
	}

	second := newLoad()
	var reloaded *agent.Agent
	second.declare("block", "coordcatalog", cfg)
	second.use("block", func(a *agent.Agent) error { reloaded = a; return nil })
	if err := second.start(nil); err != nil {
		t.Fatal(err)
	}
	if reloaded != running {
		t.Fatal("the reload started a second agent")
	}

	if err := second.stop(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-running.Stopping():
	default:
		t.Fatal("final shutdown left the agent running")
	}
	if err := agent.CheckSettings(changed); err != nil {
		t.Fatalf("a stopped agent is still registered: %v", err)
	}
}

// An agent that cannot start fails the startup with the declaring plugin's
// name and the reason, and no plugin gets it.
func TestStartupErrorNamesThePlugin(t *testing.T) {
	cfg := testagent.DevConfig(t, "host-1", "")
	taken, err := net.Listen("tcp", cfg.RaftAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	l := newLoad()
	l.declare("block", "coordcatalog", cfg)
	used := false
	l.use("block", func(*agent.Agent) error { used = true; return nil })
	err = l.start(nil)
	stopAtEnd(t, l)
	if err == nil || !strings.HasPrefix(err.Error(), "plugin/coordcatalog: ") || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("startup error %v", err)
	}
	if used {
		t.Fatal("a plugin got an agent that did not start")
	}
}

func TestDeclareTwice(t *testing.T) {
	l := newLoad()
	cfg := testagent.DevConfig(t, "host-1", "")
	if err := l.declare("block", "coordcatalog", cfg); err != nil {
		t.Fatal(err)
	}
	if err := l.declare("block", "other", cfg); err == nil || !strings.Contains(err.Error(), "already configured by coordcatalog") {
		t.Fatalf("second declaration: %v", err)
	}
}
