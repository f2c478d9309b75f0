// Package logging is coredns-coord's one log style: CoreDNS's
// "[LEVEL] name: message" lines on the standard logger, where each package
// names itself. Plugins log through clog.NewWithPlugin ("plugin/<name>:"),
// as CoreDNS's own do; every other package through New("<package>"). The
// libraries underneath (hashicorp/raft's hclog, memberlist) are brought
// into the same shape by Writer, so every line reaches the same place
// (and agent/monitor) and reads the same.
package logging

import (
	"bytes"
	"io"
	"log"
	"sync"

	clog "github.com/coredns/coredns/plugin/pkg/log"
)

// Logger logs as one package: "[LEVEL] name: message".
type Logger struct{ prefix string }

// New returns the logger of the package called name.
func New(name string) Logger { return Logger{prefix: name + ": "} }

// Debugf logs only when debug lines are wanted (DebugEnabled).
func (l Logger) Debugf(format string, args ...any) {
	if DebugEnabled() {
		log.Printf("[DEBUG] "+l.prefix+format, args...)
	}
}

func (l Logger) Infof(format string, args ...any)    { clog.Infof(l.prefix+format, args...) }
func (l Logger) Warningf(format string, args ...any) { clog.Warningf(l.prefix+format, args...) }
func (l Logger) Errorf(format string, args ...any)   { clog.Errorf(l.prefix+format, args...) }

// levels maps the level tags libraries write to CoreDNS's.
var levels = []struct{ from, to []byte }{
	{[]byte("[WARN]"), []byte("[WARNING]")},
	{[]byte("[ERR]"), []byte("[ERROR]")},
	{[]byte("[TRACE]"), []byte("[DEBUG]")},
}

// Writer returns an io.Writer for a library's own logger (hclog with
// DisableTime, memberlist's *log.Logger without flags): each line gets
// CoreDNS's level tag and goes to the standard logger, which stamps the
// time once, as for every other line.
func Writer() io.Writer { return &levelWriter{} }

type levelWriter struct {
	mu      sync.Mutex
	partial []byte
}

func (w *levelWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		log.Print(string(Retag(bytes.TrimLeft(w.partial[:i], " "))))
		w.partial = w.partial[i+1:]
	}
}

// Retag replaces a leading library level tag ([WARN], [ERR], [TRACE]) with
// CoreDNS's and squeezes the padding hclog puts after it.
func Retag(line []byte) []byte {
	for _, l := range levels {
		if bytes.HasPrefix(line, l.from) {
			rest := bytes.TrimLeft(line[len(l.from):], " ")
			return append(append(append([]byte{}, l.to...), ' '), rest...)
		}
	}
	return line
}
