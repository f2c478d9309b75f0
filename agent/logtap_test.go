package agent

import (
	"fmt"
	"log"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coredns-coord/coredns-coord/internal/testutil"
)

// A subscriber gets every entry whole, the output still gets everything,
// and a subscriber that does not read loses entries (counted) instead of
// holding up the logger.
func TestLogTapFanOut(t *testing.T) {
	var out testutil.SyncBuffer
	lt := &logTap{out: &out, subs: map[*LogSubscription]struct{}{}}
	logger := log.New(lt, "", 0)

	fast := lt.subscribe(16)
	defer fast.Close()
	slow := lt.subscribe(2)
	defer slow.Close()

	logger.Print("[INFO] test: first")
	logger.Print("[WARN] test: two\nlines")
	for i := range 3 {
		logger.Printf("[DEBUG] test: more %d", i)
	}

	if got, want := out.Take(), "[INFO] test: first\n[WARN] test: two\nlines\n[DEBUG] test: more 0\n[DEBUG] test: more 1\n[DEBUG] test: more 2\n"; got != want {
		t.Fatalf("output got %q, want %q", got, want)
	}
	want := []string{"[INFO] test: first", "[WARN] test: two\nlines", "[DEBUG] test: more 0", "[DEBUG] test: more 1", "[DEBUG] test: more 2"}
	for i, w := range want {
		select {
		case e := <-fast.Entries():
			if e.Text != w || e.Time.IsZero() {
				t.Fatalf("entry %d = %+v, want %q", i, e, w)
			}
		default:
			t.Fatalf("fast subscriber has %d entries, want %d", i, len(want))
		}
	}
	if n := fast.TakeDropped(); n != 0 {
		t.Fatalf("fast subscriber dropped %d", n)
	}
	for i, w := range want[:2] {
		if e := <-slow.Entries(); e.Text != w {
			t.Fatalf("slow entry %d = %q, want %q", i, e.Text, w)
		}
	}
	if n := slow.TakeDropped(); n != 3 {
		t.Fatalf("slow subscriber dropped %d, want 3", n)
	}
	if n := slow.TakeDropped(); n != 0 {
		t.Fatalf("TakeDropped did not reset: %d", n)
	}

	// Closed subscribers get nothing more; closing twice is harmless.
	slow.Close()
	slow.Close()
	logger.Print("[INFO] test: after close")
	select {
	case e := <-slow.Entries():
		t.Fatalf("closed subscriber got %q", e.Text)
	default:
	}
	if e := <-fast.Entries(); e.Text != "[INFO] test: after close" {
		t.Fatalf("fast subscriber got %q after the other closed", e.Text)
	}
}

// Many goroutines logging while subscribers come and go: no entry is torn
// and, under -race, no data race.
func TestLogTapConcurrent(t *testing.T) {
	var out testutil.SyncBuffer
	lt := &logTap{out: &out, subs: map[*LogSubscription]struct{}{}}
	sub := lt.subscribe(10000)
	defer sub.Close()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			logger := log.New(lt, "", 0)
			for i := range 100 {
				logger.Printf("[INFO] g%d: entry %d", g, i)
			}
		}()
		go func() {
			defer wg.Done()
			for range 50 {
				lt.subscribe(1).Close()
			}
		}()
	}
	wg.Wait()
	for range 800 {
		e := <-sub.Entries()
		var g, i int
		if _, err := fmt.Sscanf(e.Text, "[INFO] g%d: entry %d", &g, &i); err != nil {
			t.Fatalf("torn entry %q: %v", e.Text, err)
		}
	}
	if n := strings.Count(out.Take(), "\n"); n != 800 {
		t.Fatalf("output has %d lines, want 800", n)
	}
}

// The agent puts the tap in front of the std logger, so that what the
// agent, CoreDNS's clog and the gossip pool log reaches SubscribeLogs, and
// still reaches the original output.
func TestAgentLogReachesSubscribers(t *testing.T) {
	var out testutil.SyncBuffer
	log.SetOutput(&out)
	t.Cleanup(func() { log.SetOutput(os.Stderr) })

	sub := SubscribeLogs(0)
	defer sub.Close()
	startTestServer(t, "tapped")
	agentLog.Infof("marker from clog")
	log.Printf("[INFO] test: marker from log")

	seen := map[string]bool{}
	deadline := time.After(10 * time.Second)
	for !seen["clog"] || !seen["log"] || !seen["gossip"] {
		select {
		case e := <-sub.Entries():
			switch {
			case strings.Contains(e.Text, "[INFO] agent: marker from clog"):
				seen["clog"] = true
			case strings.Contains(e.Text, "[INFO] test: marker from log"):
				seen["log"] = true
			case strings.Contains(e.Text, "gossip: lan: started as \"tapped\""):
				seen["gossip"] = true
			}
		case <-deadline:
			t.Fatalf("after 10s the subscriber has seen %v", seen)
		}
	}
	if s := out.Take(); !strings.Contains(s, "marker from clog") || !strings.Contains(s, "marker from log") {
		t.Fatalf("the original output lost entries:\n%s", s)
	}
}
