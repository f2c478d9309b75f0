package cluster

import (
	"errors"
	"fmt"
	"testing"

	"github.com/coredns-coord/coredns-coord/raftstore"
	"github.com/coredns-coord/coredns-coord/rpc"
	"github.com/coredns-coord/coredns-coord/state"
)

// Every sentinel crosses the wire as itself: a forwarded error has the
// kind it had where it happened.
func TestSentinelsSurviveTheWire(t *testing.T) {
	names := map[string]bool{}
	for _, s := range sentinels {
		if s.Wire == "" || names[s.Wire] {
			t.Fatalf("sentinel %q: wire name %q is empty or taken", s.Err, s.Wire)
		}
		names[s.Wire] = true
		err := fmt.Errorf("on the leader: %w", s.Err)
		back := FromWire(ToWire(err))
		if !errors.Is(back, s.Err) || back.Error() != err.Error() {
			t.Errorf("%q came back as %q (is: %v)", err, back, errors.Is(back, s.Err))
		}
		if got := KindOf(back); got != KindOf(err) {
			t.Errorf("%q: kind %d here, %d after the wire", err, KindOf(err), got)
		}
	}
}

// An error wrapping two sentinels: the wire keeps the write's outcome (so
// the forwarding agent still re-sends), the kind is the cause.
func TestTwoSentinels(t *testing.T) {
	err := fmt.Errorf("%w: %w", ErrNoLeader, fmt.Errorf("%w: disk full", raftstore.ErrLogWrite))
	if w := ToWire(err); w.Kind != "no-leader" {
		t.Errorf("wire kind %q, want no-leader", w.Kind)
	}
	if k := KindOf(err); k != KindLogWrite {
		t.Errorf("kind %d, want KindLogWrite", k)
	}
	if k := KindOf(fmt.Errorf("%w: %w", raftstore.ErrNotLeader, state.ErrMissingKey)); k != KindNoLeader {
		t.Errorf("kind %d, want KindNoLeader", k)
	}
}

func TestUnclassified(t *testing.T) {
	err := errors.New("disk on fire")
	if w := ToWire(err); w.Kind != "" {
		t.Errorf("wire kind %q for a plain error", w.Kind)
	}
	if k := KindOf(err); k != KindInternal {
		t.Errorf("kind %d, want KindInternal", k)
	}
	// A kind from a newer agent that this one does not know: its text only.
	back := FromWire(&rpc.Error{Kind: "from-the-future", Message: "x"})
	if back.Error() != "x" || KindOf(back) != KindInternal {
		t.Errorf("unknown wire kind came back as %q, kind %d", back, KindOf(back))
	}
}
