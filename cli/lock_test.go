package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLockUsageErrors(t *testing.T) {
	var ta *testAgent
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"lock"}, "Key prefix and child command must be specified"},
		{[]string{"lock", "prefix"}, "Key prefix and child command must be specified"},
		{[]string{"lock", "-n", "0", "p", "true"}, "-n must be at least 1"},
		{[]string{"lock", "-timeout", "-1s", "p", "true"}, "-timeout must not be negative"},
		{[]string{"lock", "-timeout", "soon", "p", "true"}, "invalid value"},
		{[]string{"lock", "/", "true"}, "PREFIX must not be empty"},
	} {
		r := ta.cli(t, tc.args...)
		if !r.handled || r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%q: handled %v, code %d, stderr %q; want 2 and %q", tc.args, r.handled, r.code, r.stderr, tc.want)
		}
	}
}

// waitScript is a child that says "started", then waits (at most 20s) for
// the file to exist.
func waitScript(file string) string {
	return `echo started; i=0; while [ ! -e ` + file + ` ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done; echo done`
}

func release(t *testing.T, file string) {
	t.Helper()
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestLockRunsChildWithLockHeld(t *testing.T) {
	t.Parallel()
	ta := startAgent(t)

	// One argument: a shell script.
	r := ta.cli(t, "lock", "locks/a", "echo $CONSUL_LOCK_HELD")
	expectCode(t, r, exitOK)
	if r.stdout != "true\n" {
		t.Fatalf("child printed %q, want true (stderr %q)", r.stdout, r.stderr)
	}
	// Several arguments: a program and its arguments.
	r = ta.cli(t, "lock", "locks/a", "sh", "-c", "echo held=$CONSUL_LOCK_HELD; echo to-stderr >&2")
	expectCode(t, r, exitOK)
	if r.stdout != "held=true\n" || r.stderr != "to-stderr\n" {
		t.Fatalf("stdout %q stderr %q", r.stdout, r.stderr)
	}
	// The child's exit code is ours.
	expectCode(t, ta.cli(t, "lock", "locks/a", "exit 7"), 7)
	// A missing program: exit 1 with a message, and the lock is released.
	r = ta.cli(t, "lock", "locks/a", "/nonexistent/program", "arg")
	if r.code != exitFail || !strings.Contains(r.stderr, "Cannot start the child") {
		t.Fatalf("missing program: code %d stderr %q", r.code, r.stderr)
	}

	// While the child runs the lock key is held by a session; afterwards it
	// is gone.
	dir := t.TempDir()
	file := filepath.Join(dir, "go")
	bg := ta.start(t, nil, "lock", "locks/a", waitScript(file))
	waitFor(t, 10*time.Second, "the child to start", func() bool { return strings.Contains(bg.String(), "started") })
	p, _, err := ta.client.KV().Get("locks/a/.lock", nil)
	if err != nil || p == nil || p.Session == "" {
		t.Fatalf("lock key while held: %+v, %v", p, err)
	}
	release(t, file)
	if code := bg.wait(t, 10*time.Second); code != exitOK {
		t.Fatalf("exit %d; stderr %q", code, bg.stderr)
	}
	if ta.exists(t, "locks/a/.lock") {
		t.Error("lock key left behind after release")
	}
}

func TestLockTimeoutWhileHeld(t *testing.T) {
	t.Parallel()
	ta := startAgent(t)
	file := filepath.Join(t.TempDir(), "go")
	first := ta.start(t, nil, "lock", "locks/b", waitScript(file))
	waitFor(t, 10*time.Second, "the first holder's child", func() bool { return strings.Contains(first.String(), "started") })

	start := time.Now()
	r := ta.cli(t, "lock", "-timeout", "1s", "locks/b", "echo should-not-run")
	took := time.Since(start)
	if r.code != exitFail || !strings.Contains(r.stderr, "lock acquisition timed out") {
		t.Fatalf("second lock: code %d stdout %q stderr %q; want 1 and a timeout", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout, "should-not-run") {
		t.Fatal("the second child ran without the lock")
	}
	if took < time.Second || took > 5*time.Second {
		t.Errorf("timed out after %v, want about 1s", took)
	}

	release(t, file)
	if code := first.wait(t, 10*time.Second); code != exitOK {
		t.Fatalf("first holder exit %d; stderr %q", code, first.stderr)
	}
	// Free again: a -timeout lock now gets it at once.
	r = ta.cli(t, "lock", "-timeout", "5s", "locks/b", "echo got-it")
	expectCode(t, r, exitOK)
	if r.stdout != "got-it\n" {
		t.Fatalf("stdout %q", r.stdout)
	}
}

func TestLockSemaphore(t *testing.T) {
	t.Parallel()
	ta := startAgent(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "go")
	a := ta.start(t, nil, "lock", "-n", "2", "sem/x", waitScript(file))
	b := ta.start(t, nil, "lock", "-n", "2", "sem/x", waitScript(file))
	waitFor(t, 10*time.Second, "two holders", func() bool {
		return strings.Contains(a.String(), "started") && strings.Contains(b.String(), "started")
	})
	r := ta.cli(t, "lock", "-n", "2", "-timeout", "1s", "sem/x", "echo third")
	if r.code != exitFail || !strings.Contains(r.stderr, "timed out") {
		t.Fatalf("third holder: code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	// A plain lock on a semaphore's prefix is a conflict, not a wait.
	r = ta.cli(t, "lock", "-timeout", "1s", "sem/x", "true")
	if r.code != exitFail {
		t.Fatalf("lock on a semaphore prefix: code %d stderr %q", r.code, r.stderr)
	}
	release(t, file)
	for _, h := range []*background{a, b} {
		if code := h.wait(t, 10*time.Second); code != exitOK {
			t.Fatalf("holder exit %d; stderr %q", code, h.stderr)
		}
	}
}

func TestLockLostTerminatesChild(t *testing.T) {
	t.Parallel()
	ta := startAgent(t)
	file := filepath.Join(t.TempDir(), "go")
	script := `trap 'echo got-term; exit 0' TERM; ` + waitScript(file)
	bg := ta.start(t, nil, "lock", "-monitor-retry", "0", "locks/c", script)
	waitFor(t, 10*time.Second, "the child to start", func() bool { return strings.Contains(bg.String(), "started") })

	p, _, err := ta.client.KV().Get("locks/c/.lock", nil)
	if err != nil || p == nil || p.Session == "" {
		t.Fatalf("lock key while held: %+v, %v", p, err)
	}
	if _, err := ta.client.Session().Destroy(p.Session, nil); err != nil {
		t.Fatalf("destroy session: %v", err)
	}
	if code := bg.wait(t, 15*time.Second); code != exitFail {
		t.Fatalf("exit %d after losing the lock, want 1; stderr %q", code, bg.stderr)
	}
	if !strings.Contains(bg.String(), "got-term") || strings.Contains(bg.String(), "done") {
		t.Errorf("child did not get SIGTERM: stdout %q", bg.String())
	}
	if !strings.Contains(bg.stderr.String(), "Lock lost") {
		t.Errorf("stderr %q", bg.stderr)
	}
}

func TestLockInterruptForwardsToChild(t *testing.T) {
	t.Parallel()
	ta := startAgent(t)
	file := filepath.Join(t.TempDir(), "go")
	script := `trap 'echo got-term; exit 5' TERM; ` + waitScript(file)
	bg := ta.start(t, nil, "lock", "locks/d", script)
	waitFor(t, 10*time.Second, "the child to start", func() bool { return strings.Contains(bg.String(), "started") })
	bg.cancel() // as SIGTERM to the lock command
	if code := bg.wait(t, 10*time.Second); code != 5 {
		t.Fatalf("exit %d, want the child's 5; stdout %q stderr %q", code, bg.String(), bg.stderr)
	}
	if !strings.Contains(bg.String(), "got-term") {
		t.Errorf("child did not get SIGTERM: %q", bg.String())
	}
	if ta.exists(t, "locks/d/.lock") {
		t.Error("lock not released after the interrupted child exited")
	}
}

func TestLockInterruptedWhileWaiting(t *testing.T) {
	t.Parallel()
	ta := startAgent(t)
	file := filepath.Join(t.TempDir(), "go")
	first := ta.start(t, nil, "lock", "locks/e", waitScript(file))
	waitFor(t, 10*time.Second, "the first holder's child", func() bool { return strings.Contains(first.String(), "started") })

	second := ta.start(t, nil, "lock", "locks/e", "echo second-ran")
	time.Sleep(300 * time.Millisecond) // let it block on the held lock
	start := time.Now()
	second.cancel()
	if code := second.wait(t, 5*time.Second); code != exitFail {
		t.Fatalf("interrupted waiter exit %d, want 1; stderr %q", code, second.stderr)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("interrupted waiter took %v to give up", took)
	}
	if !strings.Contains(second.stderr.String(), "Shutdown triggered during lock acquisition") || strings.Contains(second.String(), "second-ran") {
		t.Fatalf("stdout %q stderr %q", second, second.stderr)
	}

	// Once the holder is done, the lock is free for others: the abandoned
	// attempt does not keep it.
	release(t, file)
	if code := first.wait(t, 10*time.Second); code != exitOK {
		t.Fatalf("first holder exit %d; stderr %q", code, first.stderr)
	}
	r := ta.cli(t, "lock", "-timeout", "5s", "locks/e", "echo third")
	expectCode(t, r, exitOK)
}
