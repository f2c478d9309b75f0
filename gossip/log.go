package gossip

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"strings"

	"github.com/coredns-coord/coredns-coord/internal/logging"
)

// levelFilter passes serf's or memberlist's log lines through to out with
// CoreDNS's level tags, dropping [DEBUG] lines, and [INFO] ones when
// dropInfo is set. The libraries write one line per Write.
type levelFilter struct {
	out      io.Writer
	dropInfo bool
}

func (f *levelFilter) Write(p []byte) (int, error) {
	// Serf tells every reconnect attempt (one every few seconds per failed
	// member, for ReconnectTimeout): debug chatter, as memberlist's info.
	if bytes.Contains(p, []byte("[DEBUG]")) || bytes.Contains(p, []byte("serf: attempting reconnect")) ||
		f.dropInfo && bytes.Contains(p, []byte("[INFO]")) {
		return len(p), nil
	}
	if _, err := f.out.Write(logging.Retag(p)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// newLibraryLogger is the logger handed to serf (its [INFO] lines are its
// member events: kept) or to memberlist (its [INFO] chatter: dropped).
func newLibraryLogger(cfg Config, memberlist bool) *log.Logger {
	f := &levelFilter{out: cfg.Logger.Writer(), dropInfo: memberlist}
	return log.New(f, cfg.Logger.Prefix(), cfg.Logger.Flags())
}

func (p *Pool) logf(level, format string, args ...any) {
	msg := strings.TrimPrefix(fmt.Sprintf(format, args...), "gossip: ")
	p.cfg.Logger.Printf("[%s] gossip: %s: %s", level, p.cfg.poolName(), msg)
}

func (p *Pool) infof(format string, args ...any) { p.logf("INFO", format, args...) }
func (p *Pool) warnf(format string, args ...any) { p.logf("WARNING", format, args...) }
