package gossip

import (
	"bytes"
	"testing"
)

// memberlist's lines keep to CoreDNS's level tags; its debug and info
// chatter stays out unless asked for.
func TestLevelFilter(t *testing.T) {
	var out bytes.Buffer
	f := &levelFilter{out: &out}
	for _, line := range []string{
		"[DEBUG] memberlist: Stream connection from=127.0.0.1:1\n",
		"[INFO] memberlist: Suspect b has failed\n",
		"[WARN] memberlist: Was able to connect to b over TCP but not UDP\n",
		"[ERR] memberlist: Failed to send ping\n",
	} {
		if n, err := f.Write([]byte(line)); err != nil || n != len(line) {
			t.Fatalf("Write(%q) = %d, %v", line, n, err)
		}
	}
	want := "[WARNING] memberlist: Was able to connect to b over TCP but not UDP\n[ERROR] memberlist: Failed to send ping\n"
	if out.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", out.String(), want)
	}
}
