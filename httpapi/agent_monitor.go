package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/coredns-coord/coredns-coord/agent"
	"github.com/coredns-coord/coredns-coord/internal/logging"
)

// Log levels, lowest first, as the agent's log lines spell them: CoreDNS
// and our own lines say [INFO], [WARNING], [ERROR]; memberlist and hclog
// say [WARN], [ERR].
type logLevel int

const (
	levelTrace logLevel = iota
	levelDebug
	levelInfo
	levelWarn
	levelError
)

var logLevels = map[string]logLevel{
	"TRACE": levelTrace, "DEBUG": levelDebug, "INFO": levelInfo,
	"WARN": levelWarn, "WARNING": levelWarn, "ERR": levelError, "ERROR": levelError, "FATAL": levelError,
}

// levelNames are the JSON @level values, hclog's.
var levelNames = [...]string{"trace", "debug", "info", "warn", "error"}

// parseLogLevel reads ?loglevel: Consul's names (trace, debug, info,
// warn, err, error) in any case, and warning; empty is info.
func parseLogLevel(s string) (logLevel, error) {
	if s == "" {
		return levelInfo, nil
	}
	l, ok := logLevels[strings.ToUpper(s)]
	if !ok || strings.EqualFold(s, "FATAL") {
		return 0, badRequest("Unknown log level: %s", s)
	}
	return l, nil
}

// logLine is one log entry taken apart: the level in its "[LEVEL]" tag
// (info when it has none), the module before the first ": " after it, and
// the message.
type logLine struct {
	level   logLevel
	module  string
	message string
}

// parseLogLine finds the level tag among the line's first words (a
// timestamp may come first). It never fails: a line it cannot read is an
// info message as a whole.
func parseLogLine(text string) logLine {
	out := logLine{level: levelInfo, message: text}
	rest := text
	for range 3 {
		rest = strings.TrimLeft(rest, " ")
		word, after, _ := strings.Cut(rest, " ")
		if len(word) > 2 && word[0] == '[' && word[len(word)-1] == ']' {
			if l, ok := logLevels[word[1:len(word)-1]]; ok {
				out.level, out.message = l, strings.TrimLeft(after, " ")
				break
			}
		}
		if after == "" {
			break
		}
		rest = after
	}
	if mod, msg, ok := strings.Cut(out.message, ": "); ok && mod != "" && !strings.ContainsAny(mod, " \t") {
		out.module, out.message = mod, msg
	}
	return out
}

// jsonLogLine is an entry as ?logjson streams it, in hclog's field names.
type jsonLogLine struct {
	Level     string `json:"@level"`
	Message   string `json:"@message"`
	Module    string `json:"@module,omitempty"`
	Timestamp string `json:"@timestamp"`
}

// formatLogEntry appends e as one line of the stream, or reports false if
// it is below the level asked for.
func formatLogEntry(buf *bytes.Buffer, e agent.LogEntry, from logLevel, asJSON bool) bool {
	l := parseLogLine(e.Text)
	if l.level < from {
		return false
	}
	if !asJSON {
		buf.WriteString(e.Text)
		buf.WriteByte('\n')
		return true
	}
	b, err := json.Marshal(jsonLogLine{
		Level:     levelNames[l.level],
		Message:   l.message,
		Module:    l.module,
		Timestamp: e.Time.Format("2006-01-02T15:04:05.000000Z07:00"),
	})
	if err != nil {
		// Strings always encode; keep the stream going regardless.
		return false
	}
	buf.Write(b)
	buf.WriteByte('\n')
	return true
}

// agentMonitor streams the agent's log as it is written, one entry a
// line, from ?loglevel up (default info); ?logjson makes each line a JSON
// object. It ends when the client goes away or the agent stops. A reader
// that falls behind loses entries, never the agent's time: the stream
// says how many.
func (s *server) agentMonitor(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	from, err := parseLogLevel(q.Get("loglevel"))
	if err != nil {
		return err
	}
	asJSON, err := boolParam(q, "logjson")
	if err != nil {
		return err
	}
	sub := agent.SubscribeLogs(agent.DefaultLogBuffer)
	defer sub.Close()
	if from <= levelDebug {
		defer logging.WatchDebug()()
	}

	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", contentText)
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		return nil // the client is gone, or the writer cannot stream
	}
	var buf bytes.Buffer
	for {
		select {
		case <-r.Context().Done():
			return nil
		case <-s.agent.Stopping():
			return nil
		case e := <-sub.Entries():
			buf.Reset()
			formatLogEntry(&buf, e, from, asJSON)
			// Take what else is waiting, so that a burst is one write.
			for more := true; more && buf.Len() < 64*1024; {
				select {
				case e := <-sub.Entries():
					formatLogEntry(&buf, e, from, asJSON)
				default:
					more = false
				}
			}
			if n := sub.TakeDropped(); n > 0 {
				formatLogEntry(&buf, agent.LogEntry{
					Time: time.Now(),
					Text: fmt.Sprintf("[WARNING] httpapi: monitor: %d log entries dropped: this reader is behind", n),
				}, levelTrace, asJSON)
			}
			if buf.Len() == 0 {
				continue
			}
			if _, err := w.Write(buf.Bytes()); err != nil {
				return nil
			}
			if err := rc.Flush(); err != nil {
				return nil
			}
		}
	}
}
