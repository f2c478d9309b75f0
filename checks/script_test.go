package checks

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coredns-coord/coredns-coord/structs"
)

// writeScript writes a /bin/sh script and returns the ScriptArgs that run
// it. The script is run through /bin/sh rather than executed itself, so a
// concurrent fork holding the file open for writing cannot make exec fail
// with "text file busy".
func writeScript(t *testing.T, name, body string) []string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return []string{"/bin/sh", path}
}

var scriptsOn = Options{EnableScripts: true}

func TestScriptExitCodes(t *testing.T) {
	cases := []struct {
		code   int
		status string
	}{
		{0, structs.HealthPassing},
		{1, structs.HealthWarning},
		{2, structs.HealthCritical},
		{127, structs.HealthCritical},
	}
	for _, tc := range cases {
		args := writeScript(t, "exit.sh", "echo to stdout\necho to stderr >&2\nexit "+strconv.Itoa(tc.code)+"\n")
		var r recorder
		start(t, "s"+strconv.Itoa(tc.code), &structs.CheckType{ScriptArgs: args, Interval: ms(50), Timeout: ms(5000)}, &r, scriptsOn)
		waitLast(t, &r, tc.status, equals("to stdout\nto stderr\n"))
	}
}

func TestScriptNotFound(t *testing.T) {
	var r recorder
	start(t, "missing", &structs.CheckType{ScriptArgs: []string{filepath.Join(t.TempDir(), "no-such-script")}, Interval: ms(50)}, &r, scriptsOn)
	waitLast(t, &r, structs.HealthCritical, contains("no such file"))
}

func TestScriptOutputKeepsTail(t *testing.T) {
	// 10,000 bytes of digits, then a final line: the tail is what matters.
	args := writeScript(t, "loud.sh", "i=0\nwhile [ $i -lt 1000 ]; do printf 0123456789; i=$((i+1)); done\necho\necho the end\n")
	var r recorder
	start(t, "loud", &structs.CheckType{ScriptArgs: args, Interval: ms(50), Timeout: ms(5000), OutputMaxSize: 100}, &r, scriptsOn)
	got := waitLast(t, &r, structs.HealthPassing, nil)
	head, tail, ok := strings.Cut(got.output, "\n...\n")
	if !ok || head != "Captured 100 of 10009 bytes" || len(tail) != 100 || !strings.HasSuffix(tail, "0123456789\nthe end\n") {
		t.Fatalf("output %q", got.output)
	}
}

// A script still running at its timeout is killed with everything in its
// process group, and the check is critical.
func TestScriptTimeoutKillsGroup(t *testing.T) {
	dir := t.TempDir()
	pids := filepath.Join(dir, "pids")
	args := writeScript(t, "hang.sh", "echo $$ > "+pids+"\nsleep 30 &\necho $! >> "+pids+"\necho started\nwait\n")
	var r recorder
	begin := time.Now()
	c := start(t, "hang", &structs.CheckType{ScriptArgs: args, Interval: structs.Duration(time.Hour), Timeout: ms(300)}, &r, scriptsOn)
	// An hour's interval: make the first run come now rather than after a
	// random stagger of up to an hour.
	c.(*intervalCheck).timer.Reset(0)

	got := waitLast(t, &r, structs.HealthCritical, nil)
	if d := time.Since(begin); d > 5*time.Second {
		t.Fatalf("critical only after %s", d)
	}
	if got.output != "Timed out (300ms) running check\n\nstarted\n" {
		t.Fatalf("output %q", got.output)
	}
	b, err := os.ReadFile(pids)
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(string(b))
	if len(fields) != 2 {
		t.Fatalf("pid file %q", b)
	}
	for _, f := range fields {
		pid, _ := strconv.Atoi(f)
		waitFor(t, 5*time.Second, "process "+f+" to be gone", func() bool { return processGone(pid) })
	}
}

// processGone says a process has exited: no longer in /proc, or a zombie
// waiting for a parent (PID 1 here) that may never reap it.
func processGone(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	// The state follows the parenthesised command name.
	i := strings.LastIndexByte(string(b), ')')
	return i > 0 && len(b) > i+2 && b[i+2] == 'Z'
}

func TestScriptsDisabled(t *testing.T) {
	_, err := New("s", "", &structs.CheckType{ScriptArgs: []string{"/bin/true"}, Interval: ms(50)}, func(string, string, string) {}, Options{})
	if !errors.Is(err, ErrScriptsDisabled) {
		t.Fatalf("got %v, want ErrScriptsDisabled", err)
	}
}

func TestTailBuffer(t *testing.T) {
	b := newTailBuffer(5)
	for _, s := range []string{"ab", "cd", "efg", "h", "ijklmnop", "q"} {
		b.Write([]byte(s))
	}
	if got := b.String(); got != "Captured 5 of 17 bytes\n...\nmnopq" {
		t.Fatalf("got %q", got)
	}
	b = newTailBuffer(5)
	b.Write([]byte("abc"))
	if got := b.String(); got != "abc" {
		t.Fatalf("got %q", got)
	}
	b.Write([]byte("de"))
	if got := b.String(); got != "abcde" {
		t.Fatalf("got %q", got)
	}
	b.Write([]byte("fgh"))
	if got := b.String(); got != "Captured 5 of 8 bytes\n...\ndefgh" {
		t.Fatalf("got %q", got)
	}
}
