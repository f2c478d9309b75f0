package httpapi_test

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
)

// newSession creates a session without checks and with lockDelay.
func (s *testServer) newSession(t testing.TB, name string, lockDelay time.Duration) string {
	t.Helper()
	id, _, err := s.client.Session().CreateNoChecks(&api.SessionEntry{Name: name, LockDelay: lockDelay}, nil)
	if err != nil {
		t.Fatalf("create session %s: %v", name, err)
	}
	return id
}

func TestKVAcquireRelease(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	kv := s.client.KV()
	a := s.newSession(t, "a", time.Second)
	b := s.newSession(t, "b", time.Second)

	acquire := func(key, session, value string) bool {
		t.Helper()
		ok, _, err := kv.Acquire(&api.KVPair{Key: key, Session: session, Value: []byte(value), Flags: 7}, nil)
		if err != nil {
			t.Fatalf("acquire %s by %s: %v", key, session, err)
		}
		return ok
	}
	release := func(key, session string) bool {
		t.Helper()
		ok, _, err := kv.Release(&api.KVPair{Key: key, Session: session, Value: []byte("released"), Flags: 7}, nil)
		if err != nil {
			t.Fatalf("release %s by %s: %v", key, session, err)
		}
		return ok
	}
	get := func(key string) *api.KVPair {
		t.Helper()
		p, _, err := kv.Get(key, nil)
		if err != nil || p == nil {
			t.Fatalf("get %s: %+v, %v", key, p, err)
		}
		return p
	}

	if !acquire("lock", a, "held by a") {
		t.Fatal("a could not acquire a free key")
	}
	p := get("lock")
	if p.Session != a || p.LockIndex != 1 || string(p.Value) != "held by a" || p.Flags != 7 {
		t.Fatalf("after acquire by a: %+v", p)
	}
	// Acquiring again with the holding session is fine and no new lock.
	if !acquire("lock", a, "again") {
		t.Fatal("a could not re-acquire its own key")
	}
	if p := get("lock"); p.LockIndex != 1 || p.Session != a {
		t.Fatalf("after re-acquire by a: %+v", p)
	}
	if acquire("lock", b, "held by b") {
		t.Fatal("b acquired a key a holds")
	}
	if release("lock", b) {
		t.Fatal("b released a key a holds")
	}
	if p := get("lock"); p.Session != a {
		t.Fatalf("after b's attempts: %+v", p)
	}
	if !release("lock", a) {
		t.Fatal("a could not release its key")
	}
	p = get("lock")
	if p.Session != "" || p.LockIndex != 1 {
		t.Fatalf("after release: %+v", p)
	}
	// An explicit release has no lock-delay: b may take it at once.
	if !acquire("lock", b, "held by b") {
		t.Fatal("b could not acquire a released key")
	}
	if p := get("lock"); p.Session != b || p.LockIndex != 2 {
		t.Fatalf("after acquire by b: %+v (LockIndex must count acquisitions)", p)
	}

	t.Run("unknown session", func(t *testing.T) {
		resp, body := s.do(t, "PUT", "/v1/kv/other?acquire=5c8e4a0e-0000-4000-8000-000000000000", strings.NewReader("x"))
		if resp.StatusCode != 200 || strings.TrimSpace(string(body)) != "false" {
			t.Fatalf("acquire with unknown session: %d %q", resp.StatusCode, body)
		}
		if reason := resp.Header.Get("X-Consul-Lock-Refused"); reason == "" {
			t.Fatal("no X-Consul-Lock-Refused header on a refused acquire")
		}
		if p, _, err := kv.Get("other", nil); err != nil || p != nil {
			t.Fatalf("refused acquire wrote the key: %+v, %v", p, err)
		}
	})

	t.Run("lock-delay after invalidation", func(t *testing.T) {
		if _, err := s.client.Session().Destroy(b, nil); err != nil {
			t.Fatal(err)
		}
		destroyed := time.Now()
		if p := get("lock"); p.Session != "" {
			t.Fatalf("destroyed session still holds the key: %+v", p)
		}
		resp, body := s.do(t, "PUT", "/v1/kv/lock?acquire="+a, strings.NewReader("x"))
		if strings.TrimSpace(string(body)) != "false" || resp.Header.Get("X-Consul-Lock-Refused") == "" {
			t.Fatalf("acquire during lock-delay: %d %q, reason %q", resp.StatusCode, body, resp.Header.Get("X-Consul-Lock-Refused"))
		}
		for !acquire("lock", a, "after delay") {
			if time.Since(destroyed) > 5*time.Second {
				t.Fatal("lock-delay of 1s still in effect after 5s")
			}
			time.Sleep(100 * time.Millisecond)
		}
		if d := time.Since(destroyed); d < 900*time.Millisecond {
			t.Fatalf("acquired %v after the holder's session was destroyed, before its 1s lock-delay", d)
		}
		if p := get("lock"); p.Session != a || p.LockIndex != 3 {
			t.Fatalf("after acquire past lock-delay: %+v", p)
		}
	})

	t.Run("bad parameters", func(t *testing.T) {
		s.expect(t, "PUT", "/v1/kv/k?acquire=", "x", 400, "Missing session")
		s.expect(t, "PUT", "/v1/kv/k?release", "x", 400, "Missing session")
		s.expect(t, "PUT", "/v1/kv/k?acquire="+a+"&release="+a, "x", 400, "Conflicting flags")
		s.expect(t, "PUT", "/v1/kv/k?cas=0&acquire="+a, "x", 400, "Conflicting flags")
	})
}

func TestLockContention(t *testing.T) {
	t.Parallel()
	s := startServer(t)

	newLock := func(session string) *api.Lock {
		t.Helper()
		l, err := s.client.LockOpts(&api.LockOptions{
			Key: "service/leader", Session: session, LockWaitTime: time.Second,
		})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	sessA := s.newSession(t, "a", time.Second)
	sessB := s.newSession(t, "b", time.Second)
	a, b := newLock(sessA), newLock(sessB)

	lostA, err := a.Lock(nil)
	if err != nil || lostA == nil {
		t.Fatalf("a.Lock: %v", err)
	}
	type result struct {
		lost <-chan struct{}
		err  error
		at   time.Time
	}
	contend := func(l *api.Lock) <-chan result {
		ch := make(chan result, 1)
		go func() {
			lost, err := l.Lock(nil)
			ch <- result{lost, err, time.Now()}
		}()
		return ch
	}
	gotB := contend(b)
	select {
	case r := <-gotB:
		t.Fatalf("b got the lock while a holds it: %+v", r)
	case <-time.After(500 * time.Millisecond):
	}
	released := time.Now()
	if err := a.Unlock(); err != nil {
		t.Fatal(err)
	}
	var lostB <-chan struct{}
	select {
	case r := <-gotB:
		if r.err != nil || r.lost == nil {
			t.Fatalf("b.Lock after a's unlock: %+v", r)
		}
		lostB = r.lost
		t.Logf("b acquired %v after a's unlock", r.at.Sub(released))
	case <-time.After(5 * time.Second):
		t.Fatal("b did not get the lock within 5s of a's unlock")
	}

	// Now a waits, and b's session is destroyed: b loses the lock, and a
	// gets it, but only once b's 1s lock-delay has passed.
	gotA := contend(a)
	select {
	case r := <-gotA:
		t.Fatalf("a got the lock while b holds it: %+v", r)
	case <-time.After(300 * time.Millisecond):
	}
	destroyed := time.Now()
	if _, err := s.client.Session().Destroy(sessB, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case <-lostB:
	case <-time.After(5 * time.Second):
		t.Fatal("b was not told it lost the lock when its session was destroyed")
	}
	select {
	case r := <-gotA:
		if r.err != nil || r.lost == nil {
			t.Fatalf("a.Lock after b's session was destroyed: %+v", r)
		}
		if d := r.at.Sub(destroyed); d < time.Second {
			t.Fatalf("a acquired %v after b's session was destroyed, within b's 1s lock-delay", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a did not get the lock within 10s of b's session being destroyed")
	}
	if err := a.Unlock(); err != nil {
		t.Fatal(err)
	}
}

func TestSemaphore(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	const contenders, limit = 3, 2

	var holding, most atomic.Int32
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, contenders)
	acquired := make(chan int, contenders*4)
	for i := range contenders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem, err := s.client.SemaphoreOpts(&api.SemaphoreOptions{
				Prefix: "service/workers", Limit: limit, SemaphoreWaitTime: time.Second,
			})
			if err != nil {
				errs <- err
				return
			}
			for round := 0; round < 2; round++ {
				lost, err := sem.Acquire(stop)
				if err != nil {
					errs <- err
					return
				}
				if lost == nil { // stopped
					return
				}
				n := holding.Add(1)
				for {
					m := most.Load()
					if n <= m || most.CompareAndSwap(m, n) {
						break
					}
				}
				acquired <- i
				time.Sleep(300 * time.Millisecond)
				holding.Add(-1)
				if err := sem.Release(); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		close(stop)
		<-done
		t.Fatalf("contenders did not each hold the semaphore twice within 10s (%d acquisitions)", len(acquired))
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if m := most.Load(); m > limit {
		t.Fatalf("%d contenders held a semaphore of limit %d at once", m, limit)
	}
	if m := most.Load(); m < limit {
		t.Logf("at most %d held at once (limit %d)", m, limit)
	}
	if n := len(acquired); n != contenders*2 {
		t.Fatalf("%d acquisitions, want %d", n, contenders*2)
	}
}
