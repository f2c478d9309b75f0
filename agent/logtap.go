package agent

import (
	"io"
	"log"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coredns-coord/coredns-coord/internal/logging"
)

// DefaultLogBuffer is how many log entries a subscriber may fall behind
// before entries are dropped for it (Consul's monitor buffers 512).
const DefaultLogBuffer = 512

// LogEntry is one write to the process log: a log.Printf (the std logger,
// CoreDNS's clog, the gossip logger), without its trailing newline. An
// entry whose message spans lines stays one entry.
type LogEntry struct {
	Time time.Time
	Text string
}

// logTap sits between the std logger and its output: every entry still
// goes out as before, and a copy goes to each subscriber (agent/monitor).
// Logging never waits for a subscriber: one whose buffer is full loses
// the entry, which is counted.
type logTap struct {
	mu   sync.RWMutex
	out  io.Writer
	subs map[*LogSubscription]struct{}
}

// tap is process-wide, as the std logger is: every agent in the process
// shares it (one in production; tests run several).
var (
	tap       = &logTap{out: io.Discard, subs: map[*LogSubscription]struct{}{}}
	installMu sync.Mutex
)

// installLogTap puts the tap in front of the std logger's output. It is
// idempotent; if something replaced the output since (CoreDNS sets it
// at start), the tap wraps the new one.
func installLogTap() {
	installMu.Lock()
	defer installMu.Unlock()
	w := log.Writer()
	if w == io.Writer(tap) {
		return
	}
	tap.mu.Lock()
	tap.out = logging.Filter(w) // coordcatalog's log_level
	tap.mu.Unlock()
	log.SetOutput(tap)
}

func (t *logTap) Write(p []byte) (int, error) {
	t.mu.RLock()
	out := t.out
	var e LogEntry
	if len(t.subs) > 0 {
		e = LogEntry{Time: time.Now(), Text: strings.TrimRight(string(p), "\n")}
	}
	for s := range t.subs {
		s.offer(e)
	}
	t.mu.RUnlock()
	return out.Write(p)
}

// LogSubscription receives the process log from the moment it was made
// until Close.
type LogSubscription struct {
	tap     *logTap
	ch      chan LogEntry
	dropped atomic.Uint64
	once    sync.Once
}

// SubscribeLogs taps the process log; buffer bounds how far the reader may
// fall behind (DefaultLogBuffer if not positive). The agent's own logging
// is tapped from its start; entries written before the subscription are
// not replayed.
func SubscribeLogs(buffer int) *LogSubscription {
	installLogTap()
	return tap.subscribe(buffer)
}

func (t *logTap) subscribe(buffer int) *LogSubscription {
	if buffer <= 0 {
		buffer = DefaultLogBuffer
	}
	s := &LogSubscription{tap: t, ch: make(chan LogEntry, buffer)}
	t.mu.Lock()
	t.subs[s] = struct{}{}
	t.mu.Unlock()
	return s
}

// Entries delivers the entries; it is never closed, so select on it with
// the reader's own end (a request's context).
func (s *LogSubscription) Entries() <-chan LogEntry { return s.ch }

// TakeDropped returns how many entries were dropped since the last call
// because the reader was behind.
func (s *LogSubscription) TakeDropped() uint64 { return s.dropped.Swap(0) }

// Close ends the subscription; it is safe to call more than once.
func (s *LogSubscription) Close() {
	s.once.Do(func() {
		s.tap.mu.Lock()
		delete(s.tap.subs, s)
		s.tap.mu.Unlock()
	})
}

func (s *LogSubscription) offer(e LogEntry) {
	select {
	case s.ch <- e:
	default:
		s.dropped.Add(1)
	}
}
