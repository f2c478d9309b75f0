package checks

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coredns-coord/coredns-coord/state"
	"github.com/coredns-coord/coredns-coord/structs"
)

func TestMain(m *testing.M) {
	// The ten-thousand-check benchmark re-executes the test binary to serve
	// its targets from another process; see bench_test.go.
	if n := os.Getenv(benchTargetsEnv); n != "" {
		serveBenchTargets(n)
		return
	}
	os.Exit(m.Run())
}

// result is one Notify call.
type result struct {
	id, status, output string
}

// recorder collects a check's notifications.
type recorder struct {
	mu      sync.Mutex
	results []result
}

func (r *recorder) notify(id, status, output string) {
	r.mu.Lock()
	r.results = append(r.results, result{id, status, output})
	r.mu.Unlock()
}

func (r *recorder) all() []result {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]result(nil), r.results...)
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.results)
}

func (r *recorder) last() (result, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.results) == 0 {
		return result{}, false
	}
	return r.results[len(r.results)-1], true
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitLast waits until the latest notification has status and an output
// satisfying match, and returns it.
func waitLast(t testing.TB, r *recorder, status string, match func(string) bool) result {
	t.Helper()
	var got result
	deadline := time.Now().Add(5 * time.Second)
	for {
		var ok bool
		got, ok = r.last()
		if ok && got.status == status && (match == nil || match(got.output)) {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for a %s result; last: %+v (have %d)", status, got, r.count())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func contains(sub string) func(string) bool {
	return func(s string) bool { return strings.Contains(s, sub) }
}

func equals(want string) func(string) bool {
	return func(s string) bool { return s == want }
}

func ms(n int) structs.Duration { return structs.Duration(time.Duration(n) * time.Millisecond) }

// start builds and starts a check, stopping it at the end of the test.
func start(t testing.TB, id string, ct *structs.CheckType, r *recorder, opts Options) Check {
	t.Helper()
	c, err := New(id, "", ct, r.notify, opts)
	if err != nil {
		t.Fatalf("New(%s): %v", id, err)
	}
	c.Start()
	t.Cleanup(c.Stop)
	return c
}

func TestNewRefuses(t *testing.T) {
	noop := func(string, string, string) {}
	cases := map[string]struct {
		ct   *structs.CheckType
		opts Options
		want error
	}{
		"nothing to run":   {&structs.CheckType{}, Options{}, structs.ErrInvalidCheck},
		"two kinds":        {&structs.CheckType{HTTP: "http://x", TCP: "x:1", Interval: ms(100)}, Options{}, structs.ErrInvalidCheck},
		"http no interval": {&structs.CheckType{HTTP: "http://x"}, Options{}, structs.ErrInvalidCheck},
		"scripts disabled": {&structs.CheckType{ScriptArgs: []string{"true"}, Interval: ms(100)}, Options{}, ErrScriptsDisabled},
	}
	for name, tc := range cases {
		if _, err := New("c", "", tc.ct, noop, tc.opts); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", name, err, tc.want)
		}
	}
	// Errors without a sentinel: they must be errors, not panics.
	bad := map[string]*structs.CheckType{
		"grpc no port":     {GRPC: "localhost", Interval: ms(100)},
		"grpc empty host":  {GRPC: ":50051/svc", Interval: ms(100)},
		"http bad method":  {HTTP: "http://127.0.0.1/", Method: "BAD METHOD", Interval: ms(100)},
		"http bad url":     {HTTP: "http://[::1/", Interval: ms(100)},
		"alias no state":   {AliasService: "web"},
		"alias no node":    {AliasService: "web", Status: ""},
		"nil check type":   nil,
		"negative timeout": {TCP: "127.0.0.1:1", Interval: ms(100), Timeout: -1},
	}
	for name, ct := range bad {
		opts := Options{}
		if name == "alias no node" {
			opts.State = func() *state.Store { return nil }
		}
		if c, err := New("c", "", ct, noop, opts); err == nil {
			t.Errorf("%s: New accepted it: %T", name, c)
		}
	}
	if _, err := New("c", "", &structs.CheckType{TCP: "127.0.0.1:1", Interval: ms(100)}, nil, Options{}); err == nil {
		t.Error("New accepted a nil Notify")
	}
	if !strings.Contains(ErrScriptsDisabled.Error(), "enable_script_checks") || !strings.Contains(ErrScriptsDisabled.Error(), "coordhealth") {
		t.Errorf("ErrScriptsDisabled does not say how to enable scripts: %q", ErrScriptsDisabled)
	}
}

func TestNewKinds(t *testing.T) {
	noop := func(string, string, string) {}
	c, err := New("t", "svc", &structs.CheckType{TTL: structs.Duration(time.Minute)}, noop, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.(*TTLCheck); !ok {
		t.Fatalf("TTL check is a %T, want *TTLCheck", c)
	}
	c.Stop() // before Start: fine, and idempotent
	c.Stop()
	c.Start() // after Stop: does nothing
}

// A check stopped while runs and notifications are in full flow never
// notifies after Stop has returned. Run with -race.
func TestNoNotifyAfterStop(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(srv.Close)
	for i := range 20 {
		var stopped atomic.Bool
		var late atomic.Int32
		var calls atomic.Int32
		notify := func(id, status, output string) {
			calls.Add(1)
			// A slow Notify widens the window in which Stop races it.
			time.Sleep(time.Millisecond)
			if stopped.Load() {
				late.Add(1)
			}
		}
		var cs []Check
		for j := range 5 {
			ct := &structs.CheckType{HTTP: srv.URL, Interval: ms(1), Timeout: ms(500)}
			if j%2 == 1 {
				ct = &structs.CheckType{TCP: srv.Listener.Addr().String(), Interval: ms(1), Timeout: ms(500)}
			}
			c, err := New(fmt.Sprint(i, j), "", ct, notify, Options{})
			if err != nil {
				t.Fatal(err)
			}
			c.Start()
			cs = append(cs, c)
		}
		waitFor(t, 5*time.Second, "notifications", func() bool { return calls.Load() >= 10 })
		for _, c := range cs {
			c.Stop()
		}
		stopped.Store(true)
		time.Sleep(20 * time.Millisecond) // give a stray notification the chance to show
		if n := late.Load(); n != 0 {
			t.Fatalf("round %d: %d notifications after Stop returned", i, n)
		}
	}
}

// Stop returns promptly while a run hangs on its target, and the hung run
// reports nothing afterwards.
func TestStopDuringHangingRun(t *testing.T) {
	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case arrived <- struct{}{}:
		default:
		}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })

	var r recorder
	c, err := New("hang", "", &structs.CheckType{HTTP: srv.URL, Interval: ms(10), Timeout: structs.Duration(time.Minute)}, r.notify, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c.Start()
	select {
	case <-arrived:
	case <-time.After(5 * time.Second):
		t.Fatal("the check never reached the server")
	}
	begin := time.Now()
	c.Stop()
	if d := time.Since(begin); d > time.Second {
		t.Fatalf("Stop took %s during a hanging run", d)
	}
	time.Sleep(50 * time.Millisecond)
	if n := r.count(); n != 0 {
		t.Fatalf("the cancelled run reported: %+v", r.all())
	}
}
