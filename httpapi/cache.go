package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/go-memdb"
)

// ?cached reads are served from an agent-side cache, as Consul's agent
// cache serves them: the first read of a query fetches it (X-Cache: MISS)
// and keeps the answer; from then on a goroutine keeps the entry current
// with a blocking query of its own on the state store, so later reads are
// hits (X-Cache: HIT) that cost no query and are as current as the agent's
// state. Age is 0 while that refresh works and counts from its first
// failure otherwise, as in Consul. An entry nobody reads for cacheIdleTTL
// is dropped, and so is the least recently read one when the cache is
// full.
//
// Only successful answers are cached: an error (a bad filter, no leader)
// is returned and forgotten. Cached reads are stale reads, as Consul's
// are, and refuse ?consistent.

const (
	// cacheIdleTTL is how long an entry lives unread. Consul keeps entries
	// for 72 h; each entry here costs a goroutine and a re-read on every
	// change to what it covers, and a client reading less than hourly
	// gains nothing from it.
	cacheIdleTTL = time.Hour
	// cacheMaxEntries bounds the cache: keys include ?filter, which the
	// client chooses freely.
	cacheMaxEntries = 1024
	// Backoff of a refresh whose read failed.
	cacheRetryMin = 100 * time.Millisecond
	cacheRetryMax = 30 * time.Second
)

// responseCache is the cache; its zero value is ready, and it starts its
// refreshes on first use with the agent's stop signal.
type responseCache struct {
	once    sync.Once
	base    context.Context // ends when the agent stops
	mu      sync.Mutex
	entries map[string]*cacheEntry
}

// cacheEntry is one cached query: its latest answer, kept current by its
// refresh goroutine until it is dropped (cancel).
type cacheEntry struct {
	key    string
	fetch  queryFunc[any]
	cancel context.CancelFunc

	mu      sync.Mutex
	index   uint64
	value   any
	lastGet time.Time
	readers int // reads in progress (blocking ones may last minutes)
	// failing is when the refresh started failing; zero while it works.
	failing time.Time
	// changed is closed (and replaced) at every new value.
	changed chan struct{}
}

// cacheResult is what a cached read answers with.
type cacheResult struct {
	index uint64
	value any
	hit   bool
	age   time.Duration
}

func (c *responseCache) init(stopping <-chan struct{}) {
	c.once.Do(func() {
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			<-stopping
			cancel()
		}()
		c.base = ctx
		c.entries = map[string]*cacheEntry{}
	})
}

// cacheKey names a query by everything that shapes its answer.
func cacheKey(parts ...any) string {
	b, err := json.Marshal(parts)
	if err != nil {
		// Only strings, string slices and string maps come here.
		panic(fmt.Sprintf("httpapi: cache key: %v", err))
	}
	return string(b)
}

// get answers from the entry for key, creating it with fetch on a miss.
// With opts.MinIndex it waits, as a blocking query does, for the entry to
// pass that index.
func (c *responseCache) get(ctx context.Context, key string, opts *queryOptions, fetch queryFunc[any]) (cacheResult, error) {
	e, hit := c.lookup(key)
	if !hit {
		ws := memdb.NewWatchSet()
		idx, v, err := fetch(ws)
		if err != nil {
			return cacheResult{}, err
		}
		e = c.insert(key, fetch, idx, v, ws)
	}
	defer e.done()
	res := e.result(hit)
	if opts.MinIndex == 0 || res.index > opts.MinIndex {
		return res, nil
	}

	timer := time.NewTimer(jittered(opts.Wait))
	defer timer.Stop()
	defer blocking()()
	for {
		e.mu.Lock()
		changed := e.changed
		e.mu.Unlock()
		res = e.result(hit)
		if res.index > opts.MinIndex {
			return res, nil
		}
		select {
		case <-ctx.Done():
			return cacheResult{}, errClientGone
		case <-timer.C:
			return res, nil
		case <-changed:
		}
	}
}

// lookup returns the entry for key, marked as being read, if there is one.
func (c *responseCache) lookup(key string) (*cacheEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if ok {
		e.begin()
	}
	return e, ok
}

// insert adds an entry holding a first answer, marked as being read, and
// starts its refresh. If another read inserted the key meanwhile, that
// entry is returned instead (it is as current as this answer). Once the
// agent stops, the entry only answers the read that made it.
func (c *responseCache) insert(key string, fetch queryFunc[any], idx uint64, v any, ws memdb.WatchSet) *cacheEntry {
	e := &cacheEntry{key: key, fetch: fetch, index: idx, value: v, changed: make(chan struct{})}
	c.mu.Lock()
	defer c.mu.Unlock()
	if other, taken := c.entries[key]; taken {
		other.begin()
		return other
	}
	e.begin()
	if c.base.Err() != nil {
		return e
	}
	if len(c.entries) >= cacheMaxEntries {
		c.evictLocked()
	}
	var ctx context.Context
	ctx, e.cancel = context.WithCancel(c.base)
	c.entries[key] = e
	go c.refresh(ctx, e, ws)
	return e
}

// evictLocked drops the entry read least recently, unless it is being read.
func (c *responseCache) evictLocked() {
	var (
		oldest   *cacheEntry
		oldestAt time.Time
	)
	for _, e := range c.entries {
		e.mu.Lock()
		idle, at := e.readers == 0, e.lastGet
		e.mu.Unlock()
		if idle && (oldest == nil || at.Before(oldestAt)) {
			oldest, oldestAt = e, at
		}
	}
	if oldest != nil {
		delete(c.entries, oldest.key)
		oldest.cancel()
	}
}

// remove drops e (if it is still the entry for its key) and stops its
// refresh.
func (c *responseCache) remove(e *cacheEntry) {
	c.mu.Lock()
	if c.entries[e.key] == e {
		delete(c.entries, e.key)
	}
	c.mu.Unlock()
	e.cancel()
}

// refresh keeps e current: it waits for a change to what the answer was
// read from (ws) and reads it again, until the entry goes idle, is evicted
// or the agent stops. A failed read keeps the last answer and is retried
// with backoff.
func (c *responseCache) refresh(ctx context.Context, e *cacheEntry, ws memdb.WatchSet) {
	defer c.remove(e)
	retry := cacheRetryMin
	for {
		if ws != nil {
			if !e.waitChange(ctx, ws) {
				return
			}
		} else {
			select {
			case <-ctx.Done():
				return
			case <-time.After(retry):
			}
			retry = min(2*retry, cacheRetryMax)
			if e.idleFor() >= cacheIdleTTL {
				return
			}
		}
		ws = memdb.NewWatchSet()
		idx, v, err := e.fetch(ws)
		if err != nil {
			e.fail()
			ws = nil
			continue
		}
		retry = cacheRetryMin
		e.set(idx, v)
	}
}

// waitChange blocks until a channel of ws fires (true), or until the entry
// has gone unread for the idle TTL or ctx ends (false).
func (e *cacheEntry) waitChange(ctx context.Context, ws memdb.WatchSet) bool {
	for {
		left := cacheIdleTTL - e.idleFor()
		if left <= 0 {
			return false
		}
		wctx, cancel := context.WithTimeout(ctx, left)
		err := ws.WatchCtx(wctx)
		cancel()
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		// The idle time ran out while waiting: look again, it may have
		// been read meanwhile.
	}
}

func (e *cacheEntry) begin() {
	e.mu.Lock()
	e.readers++
	e.lastGet = time.Now()
	e.mu.Unlock()
}

func (e *cacheEntry) done() {
	e.mu.Lock()
	e.readers--
	e.lastGet = time.Now()
	e.mu.Unlock()
}

// idleFor is how long the entry has gone unread; 0 while it is read.
func (e *cacheEntry) idleFor() time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.readers > 0 {
		return 0
	}
	return time.Since(e.lastGet)
}

func (e *cacheEntry) set(idx uint64, v any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.index, e.value, e.failing = idx, v, time.Time{}
	close(e.changed)
	e.changed = make(chan struct{})
}

func (e *cacheEntry) fail() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.failing.IsZero() {
		e.failing = time.Now()
	}
}

func (e *cacheEntry) result(hit bool) cacheResult {
	e.mu.Lock()
	defer e.mu.Unlock()
	res := cacheResult{index: e.index, value: e.value, hit: hit}
	if hit && !e.failing.IsZero() {
		res.age = time.Since(e.failing)
	}
	return res
}

// serveCached is serveQuery for a ?cached read: the answer comes from the
// cache, with X-Cache (and Age on a hit) besides the usual headers.
func serveCached[T any](s *server, w http.ResponseWriter, r *http.Request, opts *queryOptions, key string, fn queryFunc[T]) error {
	if opts.Consistent {
		return badRequest("Cannot specify ?cached with ?consistent, conflicting semantics.")
	}
	s.cache.init(s.agent.Stopping())
	res, err := s.cache.get(r.Context(), key, opts, func(ws memdb.WatchSet) (uint64, any, error) {
		return fn(ws)
	})
	if err != nil {
		return err
	}
	stale := *opts
	stale.Stale = true
	s.setMeta(w, &stale, res.index)
	if res.hit {
		w.Header().Set("X-Cache", "HIT")
		w.Header().Set("Age", strconv.FormatInt(int64(res.age.Round(time.Second)/time.Second), 10))
	} else {
		w.Header().Set("X-Cache", "MISS")
	}
	return writeJSON(w, r, http.StatusOK, res.value)
}
