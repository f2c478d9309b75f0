package cli

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// monitor streams the agent's log as it is written: at debug level it
// gets the HTTP request lines, which the agent's INFO level keeps out of
// its own output; -log-json makes each line an object. An interrupt ends
// it with 0.
func TestMonitorStreamsLines(t *testing.T) {
	ta := startAgent(t)
	for _, asJSON := range []bool{false, true} {
		args := []string{"monitor", "-log-level", "debug"}
		if asJSON {
			args = append(args, "-log-json")
		}
		bg := ta.start(t, nil, args...)
		waitFor(t, 10*time.Second, "a request line in the monitor", func() bool {
			ta.client.Status().Leader()
			return strings.Contains(bg.String(), "Request finished: method=GET url=/v1/status/leader")
		})
		if asJSON {
			line, _, _ := strings.Cut(bg.String()[strings.Index(bg.String(), "{"):], "\n")
			var e map[string]string
			if err := json.Unmarshal([]byte(line), &e); err != nil || e["@level"] == "" || e["@message"] == "" {
				t.Errorf("not a JSON log line: %q (%v)", line, err)
			}
		}
		bg.cancel()
		if code := bg.wait(t, 10*time.Second); code != exitOK {
			t.Errorf("monitor exit %d: %s", code, bg.stderr)
		}
	}
	expectCode(t, ta.cli(t, "monitor", "-log-level", "loud"), exitFail)
}

func TestInfo(t *testing.T) {
	ta := startAgent(t)
	r := ta.cli(t, "info")
	expectCode(t, r, exitOK)
	for _, want := range []string{"agent:\n", "build:\n", "consul:\n\tknown_leader = true\n", "raft:\n", "\tstate = Leader\n", "runtime:\n", "serf_lan:\n", "\tmembers = 1\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("info lacks %q:\n%s", want, r.stdout)
		}
	}
}
