package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/coredns-coord/coredns-coord/httpapi"
	"github.com/coredns-coord/coredns-coord/internal/testagent"
)

// awaitLine returns the first line from ch that contains marker.
func awaitLine(t *testing.T, ch <-chan string, marker string) string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case line := <-ch:
			if strings.Contains(line, marker) {
				return line
			}
		case <-deadline:
			t.Fatalf("monitor: no line with %q within 10s", marker)
		}
	}
}

// agent/monitor streams the process log as it is written, from the asked
// level up, as text or JSON lines.
func TestAgentMonitor(t *testing.T) {
	s := startServer(t)
	ag := s.client.Agent()
	monitor := func(t *testing.T, level string, asJSON bool) <-chan string {
		stop := make(chan struct{})
		t.Cleanup(func() { close(stop) })
		var ch chan string
		var err error
		if asJSON {
			ch, err = ag.MonitorJSON(level, stop, nil)
		} else {
			ch, err = ag.Monitor(level, stop, nil)
		}
		if err != nil {
			t.Fatal(err)
		}
		return ch
	}

	t.Run("text", func(t *testing.T) {
		ch := monitor(t, "debug", false)
		log.Printf("[DEBUG] montest: text marker")
		if line := awaitLine(t, ch, "text marker"); !strings.HasSuffix(line, "[DEBUG] montest: text marker") {
			t.Fatalf("line %q", line)
		}
	})

	t.Run("level", func(t *testing.T) {
		ch := monitor(t, "WARN", false)
		log.Printf("[INFO] montest: level marker info")
		log.Printf("[DEBUG] montest: level marker debug")
		log.Printf("[WARNING] montest: level marker warning")
		log.Printf("[ERR] montest: level marker err")
		// Entries arrive in order: the ones below warn were dropped.
		if line := awaitLine(t, ch, "level marker"); !strings.HasSuffix(line, "level marker warning") {
			t.Fatalf("first line at warn: %q", line)
		}
		if line := awaitLine(t, ch, "level marker"); !strings.HasSuffix(line, "level marker err") {
			t.Fatalf("second line at warn: %q", line)
		}
	})

	t.Run("json", func(t *testing.T) {
		ch := monitor(t, "info", true)
		before := time.Now()
		log.Printf("[INFO] montest: json marker \"quoted\"")
		line := awaitLine(t, ch, "json marker")
		var got map[string]string
		if err := json.Unmarshal([]byte(line), &got); err != nil {
			t.Fatalf("not JSON: %q: %v", line, err)
		}
		if got["@level"] != "info" || got["@module"] != "montest" || got["@message"] != `json marker "quoted"` {
			t.Fatalf("JSON line %v", got)
		}
		ts, err := time.Parse(time.RFC3339Nano, got["@timestamp"])
		if err != nil || ts.Before(before.Truncate(time.Microsecond)) {
			t.Fatalf("@timestamp %q (%v), logged after %v", got["@timestamp"], err, before)
		}
	})

	t.Run("a registration is logged", func(t *testing.T) {
		ch := monitor(t, "info", false)
		if err := ag.ServiceRegister(&api.AgentServiceRegistration{Name: "monitored"}); err != nil {
			t.Fatal(err)
		}
		if line := awaitLine(t, ch, `"monitored"`); !strings.Contains(line, "[INFO]") || !strings.Contains(line, "synced service") {
			t.Fatalf("line %q", line)
		}
	})

	t.Run("ends when the client goes away", func(t *testing.T) {
		before := counterValue(t, "/v1/agent/monitor", "200")
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "GET", s.base+"/v1/agent/monitor", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
			t.Fatalf("monitor answered %d, %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		cancel()
		resp.Body.Close()
		// The request is counted when its handler returns.
		deadline := time.Now().Add(10 * time.Second)
		for counterValue(t, "/v1/agent/monitor", "200") != before+1 {
			if time.Now().After(deadline) {
				t.Fatal("the monitor handler is still running 10s after its client left")
			}
			time.Sleep(20 * time.Millisecond)
		}
	})

	t.Run("bad input", func(t *testing.T) {
		s.expect(t, "GET", "/v1/agent/monitor?loglevel=loud", "", 400, "Unknown log level: loud")
		s.expect(t, "GET", "/v1/agent/monitor?logjson=maybe", "", 400, "Invalid value for ?logjson")
		s.expect(t, "PUT", "/v1/agent/monitor", "", 405, "")
	})
}

// Stopping the agent ends its monitors, so that Stop does not wait on
// their clients.
func TestAgentMonitorEndsOnStop(t *testing.T) {
	t.Parallel()
	a := testagent.Start(t, testagent.DevConfig(t, "node1", "127.0.0.1:0"), httpapi.New)
	resp, err := http.Get("http://" + a.HTTPAddr().String() + "/v1/agent/monitor")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	stopped := make(chan error, 1)
	go func() { stopped <- a.Stop() }()
	read := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, resp.Body)
		read <- err
	}()
	select {
	case err := <-read:
		if err != nil {
			t.Fatalf("the stream ended with %v, want a clean end", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the monitor stream did not end within 10s of Stop")
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
}
