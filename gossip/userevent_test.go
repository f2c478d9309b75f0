package gossip

import (
	"bytes"
	"io"
	"log"
	"testing"

	"github.com/google/uuid"
	"github.com/hashicorp/serf/serf"
)

// Whatever a user event carries on the wire, decoding it neither panics
// nor invents an event: it has the 16-byte ID it was sent with, followed by
// the payload, or it is dropped.
func FuzzDecodeUserEvent(f *testing.F) {
	id := uuid.New()
	f.Add(append(id[:], "payload"...))
	f.Add([]byte{})
	f.Add([]byte("short"))
	p := &Pool{cfg: Config{Logger: log.New(io.Discard, "", 0)}}
	f.Fuzz(func(t *testing.T, wire []byte) {
		ue, ok := p.decodeUserEvent(serf.UserEvent{Name: "e", Payload: wire, LTime: 7})
		if !ok {
			if len(wire) >= 16 {
				t.Fatalf("a %d-byte payload was dropped", len(wire))
			}
			return
		}
		back, err := uuid.Parse(ue.ID)
		if err != nil || !bytes.Equal(back[:], wire[:16]) || !bytes.Equal(ue.Payload, wire[16:]) || ue.LTime != 7 {
			t.Fatalf("decoded %+v from %x", ue, wire)
		}
	})
}
