package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/consul/api"
)

const lockUsage = `
Usage: coredns-coord lock [options] PREFIX COMMAND [ARGS...]

  Acquires a lock (or, with -n greater than 1, a slot of a semaphore) under
  PREFIX in the key/value store, runs COMMAND while holding it, and releases
  it when COMMAND exits; the exit code is COMMAND's. The child finds
  CONSUL_LOCK_HELD=true in its environment; its stdout and stderr are ours.

  A single COMMAND argument is a shell script, run with /bin/sh -c (as
  'consul lock' does); several arguments are a program and its arguments,
  run without a shell. -shell=false never uses a shell.

  If the lock is lost while COMMAND runs (its session was invalidated, or the
  agent could not be reached -monitor-retry times), COMMAND's process group
  gets SIGTERM, then SIGKILL after 5s, and lock exits 1. SIGINT and SIGTERM
  sent to lock are passed on to COMMAND; the lock is released once it exits.

  With -n 1 the lock is the key PREFIX/.lock (the Go client's api.Lock); with
  -n N the semaphore's keys live under PREFIX (api.Semaphore). Every user of
  one PREFIX must agree on -n.

      $ coredns-coord lock service/backup/lock ./backup.sh
      $ coredns-coord lock -n 2 -timeout 30s jobs/encode 'encode --all'
`

const (
	// lockKillGrace is how long a child that has lost its lock may take to
	// exit after SIGTERM before it gets SIGKILL; it is well under the
	// default lock-delay (15s), so that it is gone before anyone else can
	// take the lock.
	lockKillGrace = 5 * time.Second

	// lockMonitorRetryTime is the pause between retries of a failed lock
	// monitoring query.
	lockMonitorRetryTime = time.Second

	// abandonWait bounds how long an interrupted or timed-out acquisition
	// may take to give up before lock exits anyway.
	abandonWait = time.Second
)

// holder is a lock or a semaphore, as Consul's Go client implements them.
type holder interface {
	acquire(stop <-chan struct{}) (<-chan struct{}, error)
	release() error
	destroy() error
}

type mutexHolder struct{ l *api.Lock }

func (h mutexHolder) acquire(stop <-chan struct{}) (<-chan struct{}, error) { return h.l.Lock(stop) }
func (h mutexHolder) release() error                                        { return h.l.Unlock() }
func (h mutexHolder) destroy() error                                        { return h.l.Destroy() }

type semaphoreHolder struct{ s *api.Semaphore }

func (h semaphoreHolder) acquire(stop <-chan struct{}) (<-chan struct{}, error) {
	return h.s.Acquire(stop)
}
func (h semaphoreHolder) release() error { return h.s.Release() }
func (h semaphoreHolder) destroy() error { return h.s.Destroy() }

type lockCmd struct {
	s       *streams
	verbose bool
}

func (c *lockCmd) logf(format string, a ...any) {
	if c.verbose {
		fmt.Fprintf(c.s.stderr, "lock: "+format+"\n", a...)
	}
}

func runLock(ctx context.Context, s *streams, args []string) int {
	var (
		hf           httpFlags
		limit        int
		name         string
		timeout      time.Duration
		monitorRetry int
		passStdin    bool
		shell        bool
		c            = &lockCmd{s: s}
	)
	fs := newFlagSet(s, "lock", lockUsage)
	fs.IntVar(&limit, "n", 1, "Number of holders allowed at once: 1 is a lock, more a semaphore.")
	fs.StringVar(&name, "name", "", "Name of the lock's session. Default: made from the command and PREFIX.")
	fs.DurationVar(&timeout, "timeout", 0, "Give up acquiring the lock after this long (exit 1); 0 waits forever.")
	fs.DurationVar(&timeout, "try", 0, "Deprecated: the same as -timeout (as in consul lock).")
	fs.IntVar(&monitorRetry, "monitor-retry", 3, "Failed queries (1s apart) tolerated while watching a held lock before it counts as lost.")
	fs.BoolVar(&passStdin, "pass-stdin", false, "Give the child our standard input (default: none).")
	fs.BoolVar(&shell, "shell", true, "Run a single-argument COMMAND with /bin/sh -c.")
	fs.Bool("child-exit-code", true, "Accepted for compatibility with consul lock; the child's exit code is always passed on.")
	fs.BoolVar(&c.verbose, "verbose", false, "Report each step on stderr.")
	hf.register(fs, false)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}

	if fs.NArg() < 2 {
		return usageError(s, fs, "Key prefix and child command must be specified")
	}
	if limit < 1 {
		return usageError(s, fs, "-n must be at least 1")
	}
	if timeout < 0 {
		return usageError(s, fs, "-timeout must not be negative")
	}
	if monitorRetry < 0 {
		return usageError(s, fs, "-monitor-retry must not be negative")
	}
	prefix := strings.Trim(fs.Arg(0), "/")
	if prefix == "" {
		return usageError(s, fs, "PREFIX must not be empty")
	}
	argv := fs.Args()[1:]
	if name == "" {
		name = fmt.Sprintf("%s lock for %q at %s", progName, strings.Join(argv, " "), prefix)
	}

	client, closeIdle, err := hf.client()
	if err != nil {
		return failure(s, "%v", err)
	}
	defer closeIdle()
	var h holder
	if limit == 1 {
		key := prefix + "/" + api.DefaultSemaphoreKey
		c.logf("setting up lock at key %s", key)
		l, err := client.LockOpts(&api.LockOptions{
			Key:              key,
			SessionName:      name,
			MonitorRetries:   monitorRetry,
			MonitorRetryTime: lockMonitorRetryTime,
			LockTryOnce:      timeout > 0,
			LockWaitTime:     timeout,
		})
		if err != nil {
			return failure(s, "Lock setup failed: %v", err)
		}
		h = mutexHolder{l}
	} else {
		c.logf("setting up semaphore (limit %d) at prefix %s", limit, prefix)
		sem, err := client.SemaphoreOpts(&api.SemaphoreOptions{
			Prefix:            prefix,
			Limit:             limit,
			SessionName:       name,
			MonitorRetries:    monitorRetry,
			MonitorRetryTime:  lockMonitorRetryTime,
			SemaphoreTryOnce:  timeout > 0,
			SemaphoreWaitTime: timeout,
		})
		if err != nil {
			return failure(s, "Semaphore setup failed: %v", err)
		}
		h = semaphoreHolder{sem}
	}

	sigCh := make(chan os.Signal, 4)
	signal.Notify(sigCh, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigCh)

	lost, code, ok := c.acquire(ctx, h, sigCh, timeout, hf.displayAddr())
	if !ok {
		return code
	}
	c.logf("lock acquired")

	return c.runChild(ctx, h, lost, sigCh, argv, shell, passStdin)
}

// acquire takes the lock. It gives up on a signal, on ctx, or once timeout
// has passed; then ok is false and code is the exit code.
func (c *lockCmd) acquire(ctx context.Context, h holder, sigCh <-chan os.Signal, timeout time.Duration, addr string) (lost <-chan struct{}, code int, ok bool) {
	type result struct {
		lost <-chan struct{}
		err  error
	}
	stop := make(chan struct{})
	resCh := make(chan result, 1)
	c.logf("attempting lock acquisition")
	go func() {
		l, err := h.acquire(stop)
		resCh <- result{l, err}
	}()

	// The client gives up on its own once timeout has passed (it waits in
	// blocking queries bounded by it, plus the server's jitter of up to
	// wait/16); this timer is only a backstop against a server that does
	// not honour the wait.
	var backstop <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout + timeout/16 + 2*time.Second)
		defer t.Stop()
		backstop = t.C
	}

	var why string
	select {
	case r := <-resCh:
		switch {
		case r.err != nil:
			msg := r.err.Error()
			if errors.Is(r.err, api.ErrLockConflict) || errors.Is(r.err, api.ErrSemaphoreConflict) {
				msg += " (the prefix is in use by a lock with a different -n, or by other data)"
			}
			return nil, failure(c.s, "Lock acquisition failed (agent at %s): %s", addr, msg), false
		case r.lost == nil:
			return nil, failure(c.s, "lock acquisition timed out after %v", timeout), false
		}
		// Acquired; but if we were told to stop meanwhile, give it back.
		select {
		case sig := <-sigCh:
			why = "received " + sig.String()
		case <-ctx.Done():
			why = "cancelled"
		default:
			return r.lost, 0, true
		}
		c.releaseAndDestroy(h)
		return nil, failure(c.s, "Shutdown triggered during lock acquisition (%s)", why), false
	case sig := <-sigCh:
		why = "Shutdown triggered during lock acquisition (received " + sig.String() + ")"
	case <-ctx.Done():
		why = "Shutdown triggered during lock acquisition (cancelled)"
	case <-backstop:
		why = fmt.Sprintf("lock acquisition timed out after %v", timeout)
	}

	// Give up: ask the client to stop, and wait a little for it to notice
	// (it checks between queries). If it still wins the lock later, give
	// the lock back at once.
	close(stop)
	select {
	case r := <-resCh:
		if r.lost != nil {
			c.releaseAndDestroy(h)
		}
	case <-time.After(abandonWait):
		go func() {
			if r := <-resCh; r.lost != nil {
				c.releaseAndDestroy(h)
			}
		}()
	}
	return nil, failure(c.s, "%s", why), false
}

// releaseAndDestroy gives the lock back and removes its key if no one else
// uses it; it returns the first error worth reporting.
func (c *lockCmd) releaseAndDestroy(h holder) error {
	if err := h.release(); err != nil && !errors.Is(err, api.ErrLockNotHeld) && !errors.Is(err, api.ErrSemaphoreNotHeld) {
		return fmt.Errorf("lock release failed: %w", err)
	}
	c.logf("lock released")
	if err := h.destroy(); err != nil {
		if errors.Is(err, api.ErrLockInUse) || errors.Is(err, api.ErrSemaphoreInUse) {
			c.logf("cleanup skipped: the lock is in use by others")
			return nil
		}
		return fmt.Errorf("lock cleanup failed: %w", err)
	}
	c.logf("lock cleaned up")
	return nil
}

// runChild runs the child while the lock is held and returns lock's exit
// code. The lock is released before it returns.
func (c *lockCmd) runChild(ctx context.Context, h holder, lost <-chan struct{}, sigCh <-chan os.Signal, argv []string, shell, passStdin bool) int {
	args := shellArgv(argv, shell)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), "CONSUL_LOCK_HELD=true")
	cmd.Stdout = c.s.stdout
	cmd.Stderr = c.s.stderr
	ownGroup := true
	if passStdin {
		cmd.Stdin = c.s.stdin
		// A child in its own process group cannot read from the
		// terminal, so one that is given a terminal stays in ours.
		if f, ok := c.s.stdin.(*os.File); ok {
			if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
				ownGroup = false
			}
		}
	}
	if ownGroup {
		setProcessGroup(cmd)
	}
	// Once the child has exited, stop copying output that a grandchild
	// left running may still be writing.
	cmd.WaitDelay = time.Second

	c.logf("starting child: %s", strings.Join(cmd.Args, " "))
	if err := cmd.Start(); err != nil {
		code := failure(c.s, "Cannot start the child: %v", err)
		if rerr := c.releaseAndDestroy(h); rerr != nil {
			fmt.Fprintf(c.s.stderr, "Error! %v\n", rerr)
		}
		return code
	}
	signalChild := func(sig os.Signal) {
		if err := signalProcess(cmd.Process, sig, ownGroup); err != nil && !errors.Is(err, os.ErrProcessDone) {
			fmt.Fprintf(c.s.stderr, "Warning: could not send %v to the child: %v\n", sig, err)
		}
	}
	waitCh := make(chan error, 1)
	go func() { waitCh <- cmd.Wait() }()

	var (
		lockLost bool
		killC    <-chan time.Time
		ctxDone  = ctx.Done()
		waitErr  error
	)
WAIT:
	for {
		select {
		case waitErr = <-waitCh:
			break WAIT
		case <-lost:
			lost = nil
			lockLost = true
			fmt.Fprintf(c.s.stderr, "Error! Lock lost while the child was running; terminating it\n")
			signalChild(syscall.SIGTERM)
			t := time.NewTimer(lockKillGrace)
			defer t.Stop()
			killC = t.C
		case <-killC:
			killC = nil
			c.logf("child still running %v after SIGTERM; killing it", lockKillGrace)
			signalChild(os.Kill)
		case sig := <-sigCh:
			c.logf("received %v; passing it on to the child", sig)
			signalChild(sig)
		case <-ctxDone:
			ctxDone = nil
			c.logf("cancelled; sending SIGTERM to the child")
			signalChild(syscall.SIGTERM)
		}
	}

	code := exitCode(cmd.ProcessState)
	if code < 0 {
		code = exitFail
	}
	c.logf("child exited (%v); releasing the lock", cmd.ProcessState)
	if waitErr != nil && cmd.ProcessState == nil {
		code = failure(c.s, "Waiting for the child failed: %v", waitErr)
	}
	rerr := c.releaseAndDestroy(h)
	if lockLost {
		return exitFail
	}
	if rerr != nil {
		fmt.Fprintf(c.s.stderr, "Error! %v\n", rerr)
		if code == 0 {
			code = exitFail
		}
	}
	return code
}
