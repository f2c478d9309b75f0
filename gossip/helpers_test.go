package gossip

import (
	"fmt"
	"log"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coredns-coord/coredns-coord/internal/testutil"
)

// testWriter sends log lines to t.Log until the test is over.
type testWriter struct {
	mu   sync.Mutex
	t    testing.TB
	done bool
}

func (w *testWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimRight(string(b), "\n"))
	}
	return len(b), nil
}

func (w *testWriter) stop() {
	w.mu.Lock()
	w.done = true
	w.mu.Unlock()
}

type recorded struct {
	MemberEvent
	at time.Time
}

// recorder keeps every event a pool delivered.
type recorder struct {
	mu     sync.Mutex
	events []recorded
	user   []UserEvent
}

func (r *recorder) drain(p *Pool) {
	go func() {
		for e := range p.Events() {
			r.mu.Lock()
			r.events = append(r.events, recorded{e, time.Now()})
			r.mu.Unlock()
		}
	}()
	go func() {
		for e := range p.UserEvents() {
			r.mu.Lock()
			r.user = append(r.user, e)
			r.mu.Unlock()
		}
	}()
}

// first returns the time of the first event of type t about node.
func (r *recorder) first(t EventType, node string) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.events {
		if e.Type == t && e.Member.Name == node {
			return e.at, true
		}
	}
	return time.Time{}, false
}

func (r *recorder) count(t EventType, node string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.events {
		if e.Type == t && e.Member.Name == node {
			n++
		}
	}
	return n
}

func (r *recorder) last(t EventType, node string) (MemberEvent, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.events) - 1; i >= 0; i-- {
		if e := r.events[i]; e.Type == t && e.Member.Name == node {
			return e.MemberEvent, true
		}
	}
	return MemberEvent{}, false
}

func (r *recorder) userEvents() []UserEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]UserEvent(nil), r.user...)
}

type testPool struct {
	*Pool
	rec *recorder
	log *testWriter
}

func (tp *testPool) addr() string { return tp.LocalMember().Address() }

// newPool starts a pool on 127.0.0.1 with a free port; it is shut down at
// the end of the test.
func newPool(t testing.TB, name string, mod func(*Config)) *testPool {
	t.Helper()
	tp, err := tryPool(t, name, mod)
	if err != nil {
		t.Fatal(err)
	}
	return tp
}

func tryPool(t testing.TB, name string, mod func(*Config)) (*testPool, error) {
	w := &testWriter{t: t}
	if _, bench := t.(*testing.B); bench && !testing.Verbose() {
		w.done = true // benchmarks print their log; keep it quiet
	}
	cfg := Config{
		NodeName:   name,
		Datacenter: "dc1",
		BindAddr:   "127.0.0.1",
		Tags:       map[string]string{"role": "node", "id": "id-" + name},
		Logger:     log.New(w, name+" ", log.Lmicroseconds),
	}
	if mod != nil {
		mod(&cfg)
	}
	p, err := Create(cfg)
	if err != nil {
		w.stop()
		return nil, err
	}
	tp := &testPool{Pool: p, rec: &recorder{}, log: w}
	tp.rec.drain(p)
	t.Cleanup(func() {
		p.Shutdown()
		w.stop()
	})
	return tp, nil
}

// cluster starts n pools named prefix0..prefixN-1, all joined through the
// first, and waits until each sees n alive members.
func cluster(t testing.TB, prefix string, n int, mod func(i int, c *Config)) []*testPool {
	t.Helper()
	ps := make([]*testPool, n)
	for i := range ps {
		ps[i] = newPool(t, fmt.Sprintf("%s%d", prefix, i), func(c *Config) {
			if mod != nil {
				mod(i, c)
			}
		})
		if i > 0 {
			if _, err := ps[i].Join([]string{ps[0].addr()}); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitFor(t, 10*time.Second, fmt.Sprintf("%d pools to see %d alive members", n, n), func() bool {
		for _, p := range ps {
			if aliveCount(p.Pool) != n {
				return false
			}
		}
		return true
	})
	return ps
}

func aliveCount(p *Pool) int {
	n := 0
	for _, m := range p.Members() {
		if m.Status == StatusAlive {
			n++
		}
	}
	return n
}

// queued is how many of serf's broadcasts (intents, user events, queries)
// wait to be gossiped.
func queued(p *Pool) int {
	n := 0
	for k, v := range p.serf.Stats() {
		if strings.HasSuffix(k, "_queue") {
			q, _ := strconv.Atoi(v)
			n += q
		}
	}
	return n
}

func statusOf(p *Pool, node string) (Status, bool) {
	m, ok := p.Member(node)
	return m.Status, ok
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The tests that run pools through failures run in parallel, more of them
// at once than there are CPUs: they mostly wait on memberlist's probe and
// suspicion timers (see testutil.RunWaitBound).
func TestMain(m *testing.M) { os.Exit(testutil.RunWaitBound(m)) }
