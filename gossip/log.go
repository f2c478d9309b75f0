package gossip

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"strings"

	"github.com/coredns-coord/coredns-coord/internal/logging"
)

// levelFilter passes memberlist's log lines through to out, dropping
// [DEBUG] and [INFO] lines unless asked to keep them. Memberlist writes one
// line per Write.
type levelFilter struct {
	out       io.Writer
	keepInfo  bool
	keepDebug bool
}

func (f *levelFilter) Write(p []byte) (int, error) {
	switch {
	case bytes.Contains(p, []byte("[DEBUG]")):
		if !f.keepDebug {
			return len(p), nil
		}
	case bytes.Contains(p, []byte("[INFO]")):
		if !f.keepInfo {
			return len(p), nil
		}
	}
	if _, err := f.out.Write(logging.Retag(p)); err != nil {
		return 0, err
	}
	return len(p), nil
}

func newMemberlistLogger(cfg Config) *log.Logger {
	f := &levelFilter{out: cfg.Logger.Writer(), keepInfo: cfg.LogMemberlistInfo || cfg.LogMemberlistDebug, keepDebug: cfg.LogMemberlistDebug}
	return log.New(f, cfg.Logger.Prefix(), cfg.Logger.Flags())
}

func (p *Pool) logf(level, format string, args ...any) {
	msg := strings.TrimPrefix(fmt.Sprintf(format, args...), "gossip: ")
	p.logger.Printf("[%s] gossip: %s: %s", level, p.cfg.PoolName, msg)
}

func (p *Pool) infof(format string, args ...any)  { p.logf("INFO", format, args...) }
func (p *Pool) warnf(format string, args ...any)  { p.logf("WARNING", format, args...) }
func (p *Pool) errorf(format string, args ...any) { p.logf("ERROR", format, args...) }
