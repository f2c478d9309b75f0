package testutil

import (
	"flag"
	"runtime"
	"strconv"
	"testing"
)

// WaitBoundParallel is how many tests RunWaitBound runs at once.
const WaitBoundParallel = 8

// RunWaitBound runs a package's tests from its TestMain with up to
// WaitBoundParallel of its t.Parallel tests at a time, rather than go
// test's default of one per CPU, unless the command line sets -parallel.
// For packages whose tests spend their time waiting, not computing: on a
// real agent's Raft election and catch-up (about a second each), lock
// delays, blocking queries, check intervals, gossip probe and suspicion
// timers. On 2 CPUs eight such tests at a time take about a quarter of the
// time two do. Tests that read or set process-wide state (the default
// Prometheus registry, the standard logger, environment variables) do not
// call t.Parallel: go test runs them before any parallel test starts.
func RunWaitBound(m *testing.M) int {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set && runtime.GOMAXPROCS(0) < WaitBoundParallel {
		if err := flag.Set("test.parallel", strconv.Itoa(WaitBoundParallel)); err != nil {
			panic(err)
		}
	}
	return m.Run()
}
