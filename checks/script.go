package checks

import (
	"context"
	"errors"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/coredns-coord/coredns-coord/structs"
)

// scriptWaitDelay bounds how long a run waits, after the script has exited
// or been killed, for the output pipe to close: a process that left the
// script's process group may still hold it.
const scriptWaitDelay = time.Second

// scriptCheck runs ScriptArgs without a shell, in a process group of its
// own. Exit 0 is passing, 1 warning, anything else critical; a script still
// running at the timeout is killed with its whole process group and the
// check is critical. Its stdout and stderr together are the output, of
// which the last OutputMaxSize bytes are kept, as in Consul.
type scriptCheck struct {
	id      string
	args    []string
	timeout time.Duration
	maxOut  int
}

func newScript(id string, ct *structs.CheckType) *scriptCheck {
	return &scriptCheck{
		id:      id,
		args:    append([]string(nil), ct.ScriptArgs...),
		timeout: checkTimeout(ct),
		maxOut:  outputMaxSize(ct),
	}
}

func (s *scriptCheck) run(ctx context.Context) (string, string) {
	out := newTailBuffer(s.maxOut)
	cmd := exec.CommandContext(ctx, s.args[0], s.args[1:]...)
	cmd.Stdout = out
	cmd.Stderr = out // the same writer: exec gives both one pipe
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		// The group's id is the script's pid (Setpgid with Pgid 0).
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	cmd.WaitDelay = scriptWaitDelay
	err := cmd.Run()

	output := out.String()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		log.Warningf("check %q: script timed out after %s; killed its process group", s.id, s.timeout)
		msg := "Timed out (" + s.timeout.String() + ") running check"
		if output != "" {
			msg += "\n\n" + output
		}
		return structs.HealthCritical, msg
	}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return structs.HealthPassing, output
	case errors.As(err, &exitErr):
		if exitErr.ExitCode() == 1 {
			return structs.HealthWarning, output
		}
		return structs.HealthCritical, output
	default:
		// It did not start, or its output could not be read.
		if output != "" {
			return structs.HealthCritical, err.Error() + "\n\n" + output
		}
		return structs.HealthCritical, err.Error()
	}
}

// tailBuffer keeps the last size bytes written to it and counts them all.
type tailBuffer struct {
	mu    sync.Mutex
	buf   []byte // grows up to size, then is written round
	size  int
	next  int // where the next byte goes once buf is full
	total int64
}

func newTailBuffer(size int) *tailBuffer { return &tailBuffer{size: size} }

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(p)
	b.total += int64(n)
	if n >= b.size {
		b.buf = append(b.buf[:0], p[n-b.size:]...)
		b.next = 0
		return n, nil
	}
	if room := b.size - len(b.buf); room > 0 {
		k := min(room, len(p))
		b.buf = append(b.buf, p[:k]...)
		p = p[k:]
	}
	for len(p) > 0 {
		k := copy(b.buf[b.next:], p)
		p = p[k:]
		b.next = (b.next + k) % b.size
	}
	return n, nil
}

// String is what was kept, oldest first, with Consul's note when bytes were
// dropped.
func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := string(b.buf[b.next:]) + string(b.buf[:b.next])
	if b.total > int64(len(b.buf)) {
		s = "Captured " + strconv.Itoa(len(b.buf)) + " of " + strconv.FormatInt(b.total, 10) + " bytes\n...\n" + s
	}
	return s
}
