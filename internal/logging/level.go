package logging

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync/atomic"

	clog "github.com/coredns/coredns/plugin/pkg/log"
)

// Level is a log level, lowest first.
type Level int32

const (
	LevelDebug Level = iota
	LevelInfo
	LevelWarn
	LevelError
)

var levelNames = [...]string{"DEBUG", "INFO", "WARN", "ERROR"}

func (l Level) String() string {
	if l >= 0 && int(l) < len(levelNames) {
		return levelNames[l]
	}
	return fmt.Sprintf("Level(%d)", int32(l))
}

// tags maps every level tag a log line may carry (ours and CoreDNS's, the
// libraries' before Retag, TRACE as debug) to its level.
var tags = map[string]Level{
	"TRACE": LevelDebug, "DEBUG": LevelDebug, "INFO": LevelInfo,
	"WARN": LevelWarn, "WARNING": LevelWarn, "ERR": LevelError, "ERROR": LevelError, "FATAL": LevelError,
}

// ParseLevel reads a level name as the Corefile's log_level takes it:
// DEBUG, INFO, WARN (or WARNING), ERROR (or ERR), in any case.
func ParseLevel(s string) (Level, error) {
	l, ok := tags[strings.ToUpper(s)]
	if !ok || strings.EqualFold(s, "TRACE") || strings.EqualFold(s, "FATAL") {
		return 0, fmt.Errorf("unknown log level %q (want DEBUG, INFO, WARN or ERROR)", s)
	}
	return l, nil
}

var (
	// level is the process's log level: lines below it are not written to
	// the log's output (monitors still get what they ask for).
	level atomic.Int32
	// debugWatchers counts monitors that stream debug lines, which are
	// then produced even when the level is higher.
	debugWatchers atomic.Int32
)

func init() { level.Store(int32(LevelInfo)) }

// SetLevel sets the process's log level (coordcatalog's log_level, at
// every startup, so a Corefile reload changes it).
func SetLevel(l Level) { level.Store(int32(l)) }

// CurrentLevel is the process's log level.
func CurrentLevel() Level { return Level(level.Load()) }

// DebugEnabled reports whether debug lines are produced: the level is
// DEBUG, CoreDNS's debug plugin is on, or a monitor streams them. Callers
// that build an expensive message check it first.
func DebugEnabled() bool {
	return CurrentLevel() == LevelDebug || debugWatchers.Load() > 0 || clog.D.Value()
}

// WatchDebug makes debug lines be produced until release is called.
func WatchDebug() (release func()) {
	debugWatchers.Add(1)
	var once atomic.Bool
	return func() {
		if once.CompareAndSwap(false, true) {
			debugWatchers.Add(-1)
		}
	}
}

// LineLevel is the level of a log line: its "[LEVEL]" tag among the first
// words (a timestamp may come first), INFO when it has none.
func LineLevel(line []byte) Level {
	rest := line
	for range 3 {
		rest = bytes.TrimLeft(rest, " ")
		word, after, _ := bytes.Cut(rest, []byte(" "))
		if len(word) > 2 && word[0] == '[' && word[len(word)-1] == ']' {
			if l, ok := tags[string(word[1:len(word)-1])]; ok {
				return l
			}
		}
		if len(after) == 0 {
			break
		}
		rest = after
	}
	return LevelInfo
}

// Filter returns w with the lines below the process's level left out.
// Debug lines pass while CoreDNS's debug plugin is on, as they always did.
// Each Write is one log entry (the standard logger writes whole entries).
func Filter(w io.Writer) io.Writer { return levelFilter{w} }

type levelFilter struct{ out io.Writer }

func (f levelFilter) Write(p []byte) (int, error) {
	l := LineLevel(p)
	if l < CurrentLevel() && !(l == LevelDebug && clog.D.Value()) {
		return len(p), nil
	}
	return f.out.Write(p)
}
