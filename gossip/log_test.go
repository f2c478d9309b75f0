package gossip

import (
	"bytes"
	"log"
	"testing"
)

// serf's and memberlist's lines keep to CoreDNS's level tags; debug lines,
// and memberlist's info chatter, stay out.
func TestLevelFilter(t *testing.T) {
	lines := []string{
		"[DEBUG] memberlist: Stream connection from=127.0.0.1:1\n",
		"[INFO] memberlist: Suspect b has failed\n",
		"[INFO] serf: EventMemberFailed: b 127.0.0.1\n",
		"[INFO] serf: attempting reconnect to b 127.0.0.1:8301\n",
		"[WARN] memberlist: Was able to connect to b over TCP but not UDP\n",
		"[ERR] serf: Failed to decode tags\n",
	}
	for _, c := range []struct {
		memberlist bool
		want       string
	}{
		{true, "[WARNING] memberlist: Was able to connect to b over TCP but not UDP\n[ERROR] serf: Failed to decode tags\n"},
		{false, "[INFO] memberlist: Suspect b has failed\n[INFO] serf: EventMemberFailed: b 127.0.0.1\n[WARNING] memberlist: Was able to connect to b over TCP but not UDP\n[ERROR] serf: Failed to decode tags\n"},
	} {
		var out bytes.Buffer
		l := newLibraryLogger(Config{Logger: log.New(&out, "", 0)}, c.memberlist)
		for _, line := range lines {
			if n, err := l.Writer().Write([]byte(line)); err != nil || n != len(line) {
				t.Fatalf("Write(%q) = %d, %v", line, n, err)
			}
		}
		if out.String() != c.want {
			t.Fatalf("memberlist=%v: got\n%s\nwant\n%s", c.memberlist, out.String(), c.want)
		}
	}
}
