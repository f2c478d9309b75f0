package httpapi

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-bexpr"
	"github.com/hashicorp/go-memdb"
)

// Blocking query limits, as Consul's.
const (
	defaultWait    = 5 * time.Minute
	maxWait        = 10 * time.Minute
	jitterFraction = 16
)

// queryOptions are the query parameters every read endpoint shares.
type queryOptions struct {
	// MinIndex (?index) makes the read a blocking query: it returns when
	// the result's index exceeds MinIndex or Wait has passed.
	MinIndex uint64
	// Wait (?wait) is the longest a blocking query waits, before jitter.
	Wait       time.Duration
	Stale      bool
	Consistent bool
	// Filter is the ?filter expression, compiled by the endpoints that
	// filter (compileFilter); others ignore it, as Consul does.
	Filter string
	// NodeMeta holds the ?node-meta=key:value pairs, all of which a node
	// must carry.
	NodeMeta map[string]string
	// Tags holds the ?tag values, all of which an instance must carry.
	Tags []string
}

// parseQuery reads the shared query parameters. dc is the agent's
// datacenter: another ?dc is unreachable until WAN federation exists.
func parseQuery(q url.Values, dc string) (*queryOptions, error) {
	if err := checkDatacenter(q, dc); err != nil {
		return nil, err
	}
	opts := &queryOptions{Wait: defaultWait}
	if raw := q.Get("wait"); raw != "" {
		d, err := time.ParseDuration(raw)
		if err != nil || d < 0 {
			return nil, badRequest("Invalid wait time %q", raw)
		}
		if d > 0 {
			opts.Wait = min(d, maxWait)
		}
	}
	if raw := q.Get("index"); raw != "" {
		idx, err := strconv.ParseUint(raw, 10, 64)
		if err != nil {
			return nil, badRequest("Invalid index %q", raw)
		}
		opts.MinIndex = idx
	}
	_, opts.Stale = q["stale"]
	_, opts.Consistent = q["consistent"]
	if opts.Stale && opts.Consistent {
		return nil, badRequest("Cannot specify ?stale with ?consistent, conflicting semantics.")
	}
	opts.Filter = q.Get("filter")
	if pairs, ok := q["node-meta"]; ok {
		opts.NodeMeta = make(map[string]string, len(pairs))
		for _, pair := range pairs {
			key, value, _ := strings.Cut(pair, ":")
			opts.NodeMeta[key] = value
		}
	}
	if tags, ok := q["tag"]; ok {
		opts.Tags = tags
	}
	return opts, nil
}

// checkDatacenter refuses a ?dc other than ours.
func checkDatacenter(q url.Values, dc string) error {
	return checkDC(q.Get("dc"), dc)
}

// checkDC refuses a datacenter other than ours; empty means ours.
func checkDC(want, dc string) error {
	if want != "" && !strings.EqualFold(want, dc) {
		return errorf(http.StatusNotFound, "No path to datacenter")
	}
	return nil
}

// boolParam reads a flag the way Consul does: absent is false, present
// without a value is true, otherwise it must parse as a bool.
func boolParam(q url.Values, key string) (bool, error) {
	if _, ok := q[key]; !ok {
		return false, nil
	}
	v := q.Get(key)
	if v == "" {
		return true, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, badRequest("Invalid value for ?%s", key)
	}
	return b, nil
}

// uintParam reads an optional unsigned integer parameter (?cas, ?flags).
func uintParam(q url.Values, key string) (uint64, bool, error) {
	if _, ok := q[key]; !ok {
		return 0, false, nil
	}
	raw := q.Get(key)
	v, err := strconv.ParseUint(raw, 10, 64)
	if err != nil {
		return 0, false, badRequest("Invalid %s %q: must be an unsigned integer", key, raw)
	}
	return v, true, nil
}

// query parses the request's query options.
func (s *server) query(r *http.Request) (*queryOptions, error) {
	return parseQuery(r.URL.Query(), s.agent.Config().Datacenter)
}

// filteredQuery parses the query options of a list endpoint and compiles
// its ?filter (nil without one).
func (s *server) filteredQuery(r *http.Request) (*queryOptions, *bexpr.Filter, error) {
	opts, err := s.query(r)
	if err != nil {
		return nil, nil, err
	}
	filter, err := opts.compileFilter()
	if err != nil {
		return nil, nil, err
	}
	return opts, filter, nil
}

// checkWriteDatacenter refuses a write aimed at another datacenter.
func (s *server) checkWriteDatacenter(r *http.Request) error {
	return checkDatacenter(r.URL.Query(), s.agent.Config().Datacenter)
}

// queryFunc reads from the state store, adding what it read to ws, and
// returns the index the result is current as of.
type queryFunc[T any] func(ws memdb.WatchSet) (uint64, T, error)

// blockingQuery runs fn once, or, with ?index, until the result's index
// passes the client's: it waits on the watch set of the last run, for at
// most the wait time plus up to 1/16 of it as jitter. On timeout it runs fn
// once more and returns that. A client that disconnects frees its waiter at
// once (errClientGone).
func blockingQuery[T any](ctx context.Context, s *server, opts *queryOptions, fn queryFunc[T]) (uint64, T, error) {
	return blockUntil(ctx, s, opts, fn, func(idx uint64) bool { return idx > opts.MinIndex })
}

// blockUntil is blockingQuery with its own idea of a changed result: done
// reports whether the result's index means the wait is over. Indexes that
// are not monotonic (event/list's) compare for inequality.
func blockUntil[T any](ctx context.Context, s *server, opts *queryOptions, fn queryFunc[T], done func(idx uint64) bool) (uint64, T, error) {
	run := func(ws memdb.WatchSet) (uint64, T, error) {
		var err error
		switch {
		case opts.Consistent:
			err = s.consistentRead(ctx)
		case !opts.Stale:
			// A default-mode read never shows less than what was
			// acknowledged before this agent (re)started.
			err = s.agent.WaitCaughtUp(ctx)
		}
		if err != nil {
			var zero T
			return 0, zero, err
		}
		return fn(ws)
	}
	ws := memdb.NewWatchSet()
	idx, res, err := run(ws)
	if err != nil || opts.MinIndex == 0 || done(idx) {
		return idx, res, err
	}

	// The result has not changed yet: wait for it to.
	timeout, cancel := context.WithTimeout(ctx, jittered(opts.Wait))
	defer cancel()
	defer blocking()()
	for {
		if werr := ws.WatchCtx(timeout); werr != nil {
			if ctx.Err() != nil {
				var zero T
				return 0, zero, errClientGone
			}
			return run(memdb.NewWatchSet())
		}
		ws = memdb.NewWatchSet()
		idx, res, err = run(ws)
		if err != nil || done(idx) {
			return idx, res, err
		}
	}
}

// consistentRead makes sure this server is still the leader before a
// ?consistent read; failing that, the read is a 500.
func (s *server) consistentRead(ctx context.Context) error {
	if err := s.agent.ConsistentRead(ctx); err != nil {
		return errorf(http.StatusInternalServerError, errNoLeader)
	}
	return nil
}

// setMeta sets the headers every read carries: X-Consul-Index (never 0,
// so that a client never spins on index 0), X-Consul-KnownLeader,
// X-Consul-LastContact (ms) and X-Consul-Effective-Consistency.
func (s *server) setMeta(w http.ResponseWriter, opts *queryOptions, idx uint64) {
	if idx == 0 {
		idx = 1
	}
	w.Header().Set("X-Consul-Index", strconv.FormatUint(idx, 10))
	leader := s.setLeaderMeta(w)
	w.Header().Set("X-Consul-Effective-Consistency", s.consistency(opts, leader))
}

// setLeaderMeta sets X-Consul-KnownLeader and X-Consul-LastContact, the
// headers of a read that has no index (a read-only transaction), and
// returns the leader's address.
func (s *server) setLeaderMeta(w http.ResponseWriter) string {
	leader := s.agent.Leader()
	h := w.Header()
	h.Set("X-Consul-KnownLeader", strconv.FormatBool(leader != ""))
	h.Set("X-Consul-LastContact", strconv.FormatInt(s.agent.LastContact().Milliseconds(), 10))
	return leader
}

// consistency names the mode the read was served in. Default-mode reads
// are served from local state: "leader" when this server leads (so local
// state is the leader's), "stale" otherwise.
func (s *server) consistency(opts *queryOptions, leader string) string {
	switch {
	case opts.Consistent:
		return "consistent"
	case opts.Stale:
		return "stale"
	case leader != "" && leader == s.raftAddr():
		return "leader"
	default:
		return "stale"
	}
}

// raftAddr is the address this server's Raft advertises.
func (s *server) raftAddr() string {
	cfg := s.agent.Config()
	return cfg.RaftAddr()
}

// serveQuery is the whole read path of a JSON endpoint: blocking query,
// response headers, JSON body.
func serveQuery[T any](s *server, w http.ResponseWriter, r *http.Request, opts *queryOptions, fn queryFunc[T]) error {
	idx, res, err := blockingQuery(r.Context(), s, opts, fn)
	if err != nil {
		return err
	}
	s.setMeta(w, opts, idx)
	return writeJSON(w, r, http.StatusOK, res)
}

// jittered is a blocking query's wait plus up to 1/16 of it, as Consul
// adds, so that many clients woken together do not return together.
func jittered(wait time.Duration) time.Duration {
	if j := int64(wait / jitterFraction); j > 0 {
		wait += time.Duration(rand.Int64N(j))
	}
	return wait
}

// blocking counts a blocking query in flight until the returned func runs.
func blocking() (done func()) {
	blockingInFlight.Inc()
	return blockingInFlight.Dec
}
