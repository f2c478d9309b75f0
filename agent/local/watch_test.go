package local

import (
	"testing"

	"github.com/coredns-coord/coredns-coord/structs"
)

// WatchCh closes on every change a reader could see (an output-only check
// update included, though its write is deferred) and not on a no-op.
func TestWatchCh(t *testing.T) {
	l := New("n1")
	l.SetCheckUpdateInterval(1 << 40) // defer output-only writes
	closed := func(ch <-chan struct{}) bool {
		select {
		case <-ch:
			return true
		default:
			return false
		}
	}
	steps := []struct {
		what    string
		change  func()
		changes bool
	}{
		{"add a service", func() { l.AddService(svc("web"), SourceAPI) }, true},
		{"re-add it unchanged", func() { l.AddService(svc("web"), SourceAPI) }, false},
		{"change its port", func() { s := svc("web"); s.Port = 81; l.AddService(s, SourceAPI) }, true},
		{"add a check", func() { l.AddCheck(check("c", "web", structs.HealthCritical), nil, SourceAPI) }, true},
		{"set the same result", func() { l.UpdateCheck("c", structs.HealthCritical, "") }, false},
		{"change its status", func() { l.UpdateCheck("c", structs.HealthPassing, "") }, true},
		{"change its output only", func() { l.UpdateCheck("c", structs.HealthPassing, "ok") }, true},
		{"update an unknown check", func() { l.UpdateCheck("nope", structs.HealthPassing, "") }, false},
		{"remove the check", func() { l.RemoveCheck("c") }, true},
		{"remove the service", func() { l.RemoveService("web") }, true},
		{"remove it again", func() { l.RemoveService("web") }, false},
	}
	for _, st := range steps {
		ch := l.WatchCh()
		st.change()
		if got := closed(ch); got != st.changes {
			t.Fatalf("%s: watch closed %v, want %v", st.what, got, st.changes)
		}
	}
}
