package checks

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// runFunc performs one run of a check within ctx, which carries the check's
// timeout and is cancelled by Stop, and returns the raw result.
type runFunc func(ctx context.Context) (status, output string)

// intervalCheck runs a runFunc every interval. It holds no goroutine between
// runs: a time.AfterFunc timer hands each run to a pooled worker (runners),
// and the run re-arms the timer when it has finished and reported, so runs
// never overlap and the interval counts from the end of the previous run. The first run comes
// after a random stagger in [0, interval), so that checks registered
// together do not all fire together.
type intervalCheck struct {
	interval time.Duration
	timeout  time.Duration
	run      runFunc
	closeFn  func() // releases what run holds (a gRPC connection), on Stop
	handler  *statusHandler
	gate     *gate
	duration prometheus.Observer

	mu      sync.Mutex
	started bool
	stopped bool
	timer   *time.Timer
	cancel  context.CancelFunc // the run in flight, if any
}

func newInterval(kind string, interval, timeout time.Duration, run runFunc, closeFn func(), g *gate, h *statusHandler) *intervalCheck {
	return &intervalCheck{
		interval: interval,
		timeout:  timeout,
		run:      run,
		closeFn:  closeFn,
		handler:  h,
		gate:     g,
		duration: checkDuration.WithLabelValues(kind),
	}
}

func (c *intervalCheck) Start() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started || c.stopped {
		return
	}
	c.started = true
	c.timer = time.AfterFunc(rand.N(c.interval), c.due)
}

// due is the timer's callback: it hands the run to a worker.
func (c *intervalCheck) due() { runners.submit(c.fire) }

// fire is one run, on a worker.
func (c *intervalCheck) fire() {
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	c.cancel = cancel
	c.mu.Unlock()

	start := time.Now()
	status, output := c.run(ctx)
	c.duration.Observe(time.Since(start).Seconds())
	cancel()

	c.mu.Lock()
	c.cancel = nil
	stopped := c.stopped
	c.mu.Unlock()
	if stopped {
		return
	}
	// Report before re-arming, so that one check's reports stay in order
	// however slow Notify is. A Stop racing with this report is settled by
	// the gate: either the report is delivered before Stop returns or it is
	// dropped.
	c.handler.update(status, output)

	c.mu.Lock()
	if !c.stopped {
		c.timer.Reset(c.interval)
	}
	c.mu.Unlock()
}

func (c *intervalCheck) Stop() {
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return
	}
	c.stopped = true
	if c.timer != nil {
		c.timer.Stop()
	}
	if c.cancel != nil {
		c.cancel()
	}
	c.mu.Unlock()
	c.gate.close()
	if c.closeFn != nil {
		c.closeFn()
	}
}

// runners runs the checks' runs. A run on the timer's own goroutine would
// start on a fresh, small stack and grow it (copying it two or three times)
// through the dialer and the HTTP client, every run; a worker keeps its
// grown stack from run to run. A worker is idle between runs and exits
// after workerIdle without work, so the pool follows the number of runs in
// flight: a few for quick checks, more while targets hang (a hanging run
// holds its worker, never the others: a run with no idle worker gets a new
// one).
var runners = &workerPool{work: make(chan func()), idle: workerIdle}

const workerIdle = 30 * time.Second

type workerPool struct {
	work chan func()
	idle time.Duration
}

// submit runs f on an idle worker, or on a new one if none is idle.
func (p *workerPool) submit(f func()) {
	select {
	case p.work <- f:
	default:
		go p.worker(f)
	}
}

func (p *workerPool) worker(f func()) {
	idle := time.NewTimer(p.idle)
	defer idle.Stop()
	for {
		f()
		idle.Reset(p.idle)
		select {
		case f = <-p.work:
		case <-idle.C:
			return
		}
	}
}
