package httpapi

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-memdb"
)

// source is a fake query: each fetch returns the next index and watches a
// channel the test closes to announce a change.
type source struct {
	mu      sync.Mutex
	index   uint64
	change  chan struct{}
	fail    bool
	fetched chan uint64 // receives the index of every fetch after the first
}

func newSource() *source {
	return &source{change: make(chan struct{}), fetched: make(chan uint64, 16)}
}

func (s *source) fetch(ws memdb.WatchSet) (uint64, any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ws.Add(s.change)
	s.index++
	if s.index > 1 {
		s.fetched <- s.index
	}
	if s.fail && s.index > 1 {
		return 0, nil, errors.New("state unreadable")
	}
	return s.index, fmt.Sprintf("answer %d", s.index), nil
}

// changed announces a change, and whether the next fetches fail.
func (s *source) changed(fail bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = fail
	close(s.change)
	s.change = make(chan struct{})
}

func newTestCache(t *testing.T) (*responseCache, chan struct{}) {
	stop := make(chan struct{})
	var c responseCache
	c.init(stop)
	t.Cleanup(func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
	})
	return &c, stop
}

func (c *responseCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// A change to what an entry was read from makes its refresh read it again;
// a blocking get returns the new answer as a hit.
func TestCacheRefreshesOnChange(t *testing.T) {
	c, _ := newTestCache(t)
	src := newSource()
	ctx := context.Background()
	res, err := c.get(ctx, "k", &queryOptions{}, src.fetch)
	if err != nil || res.hit || res.index != 1 || res.value != "answer 1" {
		t.Fatalf("first get: %+v, %v", res, err)
	}
	src.changed(false)
	res, err = c.get(ctx, "k", &queryOptions{MinIndex: 1, Wait: time.Minute}, src.fetch)
	if err != nil || !res.hit || res.index != 2 || res.value != "answer 2" || res.age != 0 {
		t.Fatalf("blocking get after a change: %+v, %v", res, err)
	}
}

// When the refresh cannot read, the entry keeps its last answer and its
// age counts from the failure; the next good read clears it.
func TestCacheAgeCountsFromFailure(t *testing.T) {
	t.Parallel()
	c, _ := newTestCache(t)
	src := newSource()
	ctx := context.Background()
	if _, err := c.get(ctx, "k", &queryOptions{}, src.fetch); err != nil {
		t.Fatal(err)
	}
	src.changed(true)
	<-src.fetched // the failed read
	<-src.fetched // its retry: the failure is recorded by now
	res, err := c.get(ctx, "k", &queryOptions{}, src.fetch)
	if err != nil || !res.hit || res.value != "answer 1" || res.age <= 0 {
		t.Fatalf("get while the refresh fails: %+v, %v", res, err)
	}
	src.mu.Lock()
	src.fail = false
	src.mu.Unlock()
	res, err = c.get(ctx, "k", &queryOptions{MinIndex: 1, Wait: time.Minute}, src.fetch)
	if err != nil || res.index <= 1 || res.age != 0 {
		t.Fatalf("get after the refresh recovered: %+v, %v", res, err)
	}
}

// A failed first read is returned and not cached.
func TestCacheDoesNotKeepErrors(t *testing.T) {
	c, _ := newTestCache(t)
	calls := 0
	bad := func(memdb.WatchSet) (uint64, any, error) {
		calls++
		return 0, nil, errors.New("no")
	}
	for i := 0; i < 2; i++ {
		if _, err := c.get(context.Background(), "k", &queryOptions{}, bad); err == nil {
			t.Fatal("error not returned")
		}
	}
	if calls != 2 || c.len() != 0 {
		t.Fatalf("%d reads, %d entries: an error was cached", calls, c.len())
	}
}

// A full cache drops the entry read least recently; stopping the agent
// ends every refresh and empties the cache.
func TestCacheEvictionAndStop(t *testing.T) {
	c, stop := newTestCache(t)
	ctx := context.Background()
	for i := 0; i < cacheMaxEntries; i++ {
		if _, err := c.get(ctx, fmt.Sprint(i), &queryOptions{}, newSource().fetch); err != nil {
			t.Fatal(err)
		}
	}
	// Read "0" again so that "1" is now the oldest.
	if res, err := c.get(ctx, "0", &queryOptions{}, newSource().fetch); err != nil || !res.hit {
		t.Fatalf("re-read of 0: %+v, %v", res, err)
	}
	if _, err := c.get(ctx, "new", &queryOptions{}, newSource().fetch); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	_, has0 := c.entries["0"]
	_, has1 := c.entries["1"]
	n := len(c.entries)
	c.mu.Unlock()
	if n != cacheMaxEntries || !has0 || has1 {
		t.Fatalf("%d entries, 0 kept %v, 1 kept %v: want %d, the least recently read (1) dropped", n, has0, has1, cacheMaxEntries)
	}

	close(stop)
	for deadline := time.Now().Add(10 * time.Second); c.len() > 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d entries left after the agent stopped", c.len())
		}
	}
	// After the stop a read still answers, uncached.
	res, err := c.get(ctx, "late", &queryOptions{}, newSource().fetch)
	if err != nil || res.hit || c.len() != 0 {
		t.Fatalf("read after stop: %+v, %v, %d entries", res, err, c.len())
	}
}
