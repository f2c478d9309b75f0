package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coredns-coord/coredns-coord/agent"
)

func TestParseLogLine(t *testing.T) {
	for _, tc := range []struct {
		in              string
		level           logLevel
		module, message string
	}{
		{"[INFO] plugin/coordhealth: synced service \"web\"", levelInfo, "plugin/coordhealth", "synced service \"web\""},
		{"[WARNING] coordcatalog: retry_join attempt 1: refused", levelWarn, "coordcatalog", "retry_join attempt 1: refused"},
		{"2009/11/10 23:00:00 [ERR] memberlist: failed", levelError, "memberlist", "failed"},
		{"2026-12-06T07:28:54.900Z [WARN]  raft: heartbeat timeout", levelWarn, "raft", "heartbeat timeout"},
		{"[DEBUG] plain message", levelDebug, "", "plain message"},
		{"[TRACE] x: y", levelTrace, "x", "y"},
		{"consul.:8600 on 127.0.0.1", levelInfo, "", "consul.:8600 on 127.0.0.1"},
		{"maxprocs: Leaving GOMAXPROCS=2", levelInfo, "maxprocs", "Leaving GOMAXPROCS=2"},
		{"[NOTALEVEL] a: b", levelInfo, "", "[NOTALEVEL] a: b"},
		{"a b c [ERROR] too late to be a level", levelInfo, "", "a b c [ERROR] too late to be a level"},
		{"", levelInfo, "", ""},
		{"[]", levelInfo, "", "[]"},
	} {
		got := parseLogLine(tc.in)
		if got.level != tc.level || got.module != tc.module || got.message != tc.message {
			t.Errorf("parseLogLine(%q) = %+v, want level %d module %q message %q", tc.in, got, tc.level, tc.module, tc.message)
		}
	}
}

func TestParseLogLevel(t *testing.T) {
	for in, want := range map[string]logLevel{
		"": levelInfo, "trace": levelTrace, "DEBUG": levelDebug, "Info": levelInfo,
		"warn": levelWarn, "warning": levelWarn, "err": levelError, "ERROR": levelError,
	} {
		if got, err := parseLogLevel(in); err != nil || got != want {
			t.Errorf("parseLogLevel(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"fatal", "loud", "info ", "1"} {
		if _, err := parseLogLevel(in); !isBadRequest(err) {
			t.Errorf("parseLogLevel(%q) = %v, want a 400", in, err)
		}
	}
}

func isBadRequest(err error) bool {
	var he *httpError
	return errors.As(err, &he) && he.code == http.StatusBadRequest
}

// FuzzMonitorLogLine: any log entry and ?loglevel either is refused as the
// client's error or streams as exactly one line; a JSON line decodes to
// the entry's level and message, and a text line is the entry itself.
func FuzzMonitorLogLine(f *testing.F) {
	for _, seed := range [][2]string{
		{"[INFO] coordcatalog: x leads the cluster", "info"},
		{"2009/11/10 23:00:00 [DEBUG] memberlist: a\nb", "debug"},
		{"[ERROR] plugin/coordhealth: \"q\" \x00 \xff", "warn"},
		{"no level at all", "trace"},
		{"[WARN]", "ERR"},
		{"", ""},
		{"[INFO] a: b", "nonsense"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, text, level string) {
		from, err := parseLogLevel(level)
		if err != nil {
			if !isBadRequest(err) {
				t.Fatalf("loglevel %q refused with %v", level, err)
			}
			return
		}
		// Entries are written without their trailing newline.
		text = strings.TrimRight(text, "\n")
		e := agent.LogEntry{Time: time.Unix(1, 0), Text: text}
		for _, asJSON := range []bool{false, true} {
			var buf bytes.Buffer
			if !formatLogEntry(&buf, e, from, asJSON) {
				if parseLogLine(text).level >= from {
					t.Fatalf("%q at %q dropped", text, level)
				}
				continue
			}
			out := buf.String()
			if !strings.HasSuffix(out, "\n") {
				t.Fatalf("line %q does not end the line", out)
			}
			if !asJSON {
				if out != text+"\n" {
					t.Fatalf("text line %q, want %q", out, text)
				}
				continue
			}
			if strings.Count(out, "\n") != 1 {
				t.Fatalf("JSON entry spans lines: %q", out)
			}
			var got jsonLogLine
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("not JSON: %q: %v", out, err)
			}
			l := parseLogLine(text)
			if got.Level != levelNames[l.level] || got.Message != asJSONString(l.message) || got.Module != asJSONString(l.module) {
				t.Fatalf("JSON %+v for %q (%+v)", got, text, l)
			}
		}
	})
}

// asJSONString is s as it comes back from JSON: invalid UTF-8 replaced.
func asJSONString(s string) string {
	b, _ := json.Marshal(s)
	var out string
	json.Unmarshal(b, &out)
	return out
}
