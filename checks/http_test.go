package checks

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coredns-coord/coredns-coord/structs"
)

func TestHTTPStatusFlip(t *testing.T) {
	var code atomic.Int32
	code.Store(200)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(int(code.Load()))
		io.WriteString(w, "body "+http.StatusText(int(code.Load())))
	}))
	t.Cleanup(srv.Close)

	var r recorder
	start(t, "web", &structs.CheckType{HTTP: srv.URL + "/health", Interval: ms(20), Timeout: ms(1000)}, &r, Options{})
	steps := []struct {
		code   int32
		status string
		output string
	}{
		{200, structs.HealthPassing, "HTTP GET " + srv.URL + "/health: 200 OK Output: body OK"},
		{429, structs.HealthWarning, "HTTP GET " + srv.URL + "/health: 429 Too Many Requests Output: body Too Many Requests"},
		{500, structs.HealthCritical, "HTTP GET " + srv.URL + "/health: 500 Internal Server Error Output: body Internal Server Error"},
		{204, structs.HealthPassing, "HTTP GET " + srv.URL + "/health: 204 No Content Output: "},
		{404, structs.HealthCritical, "HTTP GET " + srv.URL + "/health: 404 Not Found Output: body Not Found"},
	}
	for _, s := range steps {
		code.Store(s.code)
		got := waitLast(t, &r, s.status, equals(s.output))
		if got.id != "web" {
			t.Fatalf("notified check %q, want web", got.id)
		}
	}
}

// A target that never answers makes its check critical at the timeout and
// does not hold up another check.
func TestHTTPTimeoutDoesNotBlockOthers(t *testing.T) {
	release := make(chan struct{})
	var slowHits atomic.Int32
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		slowHits.Add(1)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release) })
	fast := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(fast.Close)

	var hung, ok recorder
	begin := time.Now()
	start(t, "hung", &structs.CheckType{HTTP: slow.URL, Interval: ms(50), Timeout: ms(300)}, &hung, Options{})
	start(t, "ok", &structs.CheckType{HTTP: fast.URL, Interval: ms(20), Timeout: ms(300)}, &ok, Options{})

	got := waitLast(t, &hung, structs.HealthCritical, contains("context deadline exceeded"))
	if d := time.Since(begin); d < 300*time.Millisecond {
		t.Fatalf("critical after %s, before the 300ms timeout", d)
	}
	if !strings.Contains(got.output, slow.URL) {
		t.Errorf("timeout output does not name the URL: %q", got.output)
	}
	// While the hung check waited out its timeout, the other kept running.
	if n := ok.count(); n < 5 {
		t.Fatalf("the healthy check reported %d times while the other hung", n)
	}
	for _, res := range ok.all() {
		if res.status != structs.HealthPassing {
			t.Fatalf("healthy check reported %+v", res)
		}
	}
	// And the hung check keeps being retried, one run at a time.
	waitFor(t, 5*time.Second, "a second run against the hanging target", func() bool { return slowHits.Load() >= 2 })
}

func TestHTTPRedirects(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "elsewhere")
	}))
	t.Cleanup(other.Close)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/same":
			http.Redirect(w, r, "/target", http.StatusFound)
		case "/target":
			io.WriteString(w, "arrived")
		case "/away":
			http.Redirect(w, r, other.URL+"/", http.StatusFound)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		}
	}))
	t.Cleanup(srv.Close)

	cases := []struct {
		name, path string
		disable    bool
		status     string
		output     string
	}{
		{"same host followed", "/same", false, structs.HealthPassing, "200 OK Output: arrived"},
		{"same host, redirects disabled", "/same", true, structs.HealthCritical, "302 Found"},
		{"other host not followed", "/away", false, structs.HealthCritical, "302 Found"},
		{"loop stops after ten", "/loop", false, structs.HealthCritical, "302 Found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h, err := newHTTP(&structs.CheckType{HTTP: srv.URL + tc.path, DisableRedirects: tc.disable})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			status, output := h.run(ctx)
			if status != tc.status || !strings.Contains(output, tc.output) || strings.Contains(output, "elsewhere") {
				t.Fatalf("got %s %q, want %s containing %q", status, output, tc.status, tc.output)
			}
		})
	}
}

func TestHTTPBodyTruncated(t *testing.T) {
	body := strings.Repeat("0123456789", 1000) // 10,000 bytes
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	for _, max := range []int{0, 10, 5000} {
		want := max
		if want == 0 {
			want = structs.DefaultOutputMaxSize
		}
		h, err := newHTTP(&structs.CheckType{HTTP: srv.URL, OutputMaxSize: max})
		if err != nil {
			t.Fatal(err)
		}
		status, output := h.run(context.Background())
		prefix := "HTTP GET " + srv.URL + ": 200 OK Output: "
		if status != structs.HealthPassing || output != prefix+body[:want] {
			t.Fatalf("max %d: got %s with %d output bytes, want %d body bytes", max, status, len(output)-len(prefix), want)
		}
	}
}

func TestHTTPRequestShape(t *testing.T) {
	type seen struct {
		method, host, ua, accept, body string
		custom                         []string
	}
	var mu sync.Mutex
	var got []seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, seen{r.Method, r.Host, r.UserAgent(), r.Header.Get("Accept"), string(b), r.Header.Values("X-Custom")})
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)

	last := func() seen {
		mu.Lock()
		defer mu.Unlock()
		return got[len(got)-1]
	}
	// Defaults.
	h, err := newHTTP(&structs.CheckType{HTTP: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if status, out := h.run(context.Background()); status != structs.HealthPassing {
		t.Fatalf("got %s %q", status, out)
	}
	s := last()
	if s.method != "GET" || s.ua != "Consul Health Check" || s.accept != "text/plain, text/*, */*" || s.body != "" || s.host != srv.Listener.Addr().String() {
		t.Fatalf("default request: %+v", s)
	}
	// Everything set by the check.
	h, err = newHTTP(&structs.CheckType{
		HTTP:   srv.URL,
		Method: "PUT",
		Body:   `{"ping":true}`,
		Header: map[string][]string{
			"x-custom":   {"a", "b"},
			"User-Agent": {"probe/1"},
			"accept":     {"application/json"},
			"host":       {"svc.example"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if status, out := h.run(context.Background()); status != structs.HealthPassing || !strings.HasPrefix(out, "HTTP PUT ") {
		t.Fatalf("got %s %q", status, out)
	}
	s = last()
	if s.method != "PUT" || s.ua != "probe/1" || s.accept != "application/json" || s.body != `{"ping":true}` ||
		s.host != "svc.example" || strings.Join(s.custom, ",") != "a,b" {
		t.Fatalf("configured request: %+v", s)
	}
}

func TestHTTPSSkipVerify(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(srv.Close)
	h, err := newHTTP(&structs.CheckType{HTTP: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if status, out := h.run(context.Background()); status != structs.HealthCritical || !strings.Contains(out, "certificate") {
		t.Fatalf("self-signed certificate accepted: %s %q", status, out)
	}
	h, err = newHTTP(&structs.CheckType{HTTP: srv.URL, TLSSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	if status, out := h.run(context.Background()); status != structs.HealthPassing {
		t.Fatalf("with TLSSkipVerify: %s %q", status, out)
	}
	// Checks with the same TLS settings share one client.
	a, _ := newHTTP(&structs.CheckType{HTTP: srv.URL, TLSSkipVerify: true})
	if a.client != h.client {
		t.Error("two checks with the same TLS settings have different clients")
	}
}

// FailuresBeforeCritical 2 on a real check: one failure reports nothing
// (FailuresBeforeWarning defaults to the same 2), the second reports
// critical, and one success reports passing again.
func TestHTTPFailuresBeforeCritical(t *testing.T) {
	var fail atomic.Bool
	var hits atomic.Int32
	gate := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // the test lets one request through at a time
		case <-gate:
		case <-r.Context().Done():
			return
		}
		hits.Add(1)
		if fail.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(srv.Close)
	step := func() {
		t.Helper()
		n := hits.Load()
		gate <- struct{}{}
		waitFor(t, 5*time.Second, "the next run", func() bool { return hits.Load() > n })
	}

	var r recorder
	start(t, "thr", &structs.CheckType{HTTP: srv.URL, Interval: ms(10), Timeout: ms(2000), FailuresBeforeCritical: 2}, &r, Options{})
	step()
	waitLast(t, &r, structs.HealthPassing, nil)

	fail.Store(true)
	step() // first failure: nothing
	reported := r.count()
	// A run's report comes right after its response; the next run cannot
	// report before the next step, so wait for nothing new by stepping on.
	step() // second failure: critical
	waitLast(t, &r, structs.HealthCritical, contains("503"))
	if all := r.all(); len(all) != reported+1 {
		t.Fatalf("reports after two failures: %+v (had %d before)", all, reported)
	}
	fail.Store(false)
	step()
	waitLast(t, &r, structs.HealthPassing, nil)
}
