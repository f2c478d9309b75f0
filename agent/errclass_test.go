package agent

import (
	"fmt"
	"testing"

	"github.com/coredns-coord/coredns-coord/raftstore"
	"github.com/coredns-coord/coredns-coord/state"
)

// The agent's own errors have their kinds beside the ones that cross the
// wire, and the most specific kind wins whichever side it comes from.
func TestErrorKindOf(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want ErrorKind
	}{
		{unknownService("web"), KindNotFound},
		{unknownCheck("c"), KindNotFound},
		{invalid("bad port"), KindInvalid},
		{fmt.Errorf("read: %w", ErrCatchingUp), KindCatchingUp},
		{fmt.Errorf("%w: %w", ErrNoLeader, raftstore.ErrLogWrite), KindLogWrite},
		{fmt.Errorf("%w: %w", state.ErrMissingKey, ErrUnknownService), KindNotFound},
		{fmt.Errorf("%w: %w", ErrCatchingUp, ErrNoLeader), KindCatchingUp},
		{fmt.Errorf("disk on fire"), KindInternal},
	} {
		if got := ErrorKindOf(tc.err); got != tc.want {
			t.Errorf("ErrorKindOf(%q) = %d, want %d", tc.err, got, tc.want)
		}
	}
}
