package checks

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coredns-coord/coredns-coord/internal/testutil"
	"github.com/coredns-coord/coredns-coord/structs"
)

// benchTargetsEnv makes the test binary, instead of testing, serve that many
// HTTP and that many TCP listeners on 127.0.0.1, print their addresses and
// serve until its stdin closes. The benchmarks run their targets this way so
// that the CPU and memory they measure are the checks' alone.
const benchTargetsEnv = "CHECKS_BENCH_TARGETS"

func serveBenchTargets(arg string) {
	n, err := strconv.Atoi(arg)
	if err != nil || n < 1 {
		fmt.Fprintf(os.Stderr, "%s=%q: want a positive count\n", benchTargetsEnv, arg)
		os.Exit(2)
	}
	listen := func() net.Listener {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return ln
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok "+r.URL.Path)
	})
	var httpAddrs, tcpAddrs []string
	for range n {
		ln := listen()
		httpAddrs = append(httpAddrs, ln.Addr().String())
		go (&http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}).Serve(ln)

		tl := listen()
		tcpAddrs = append(tcpAddrs, tl.Addr().String())
		testutil.AcceptAndClose(tl)
	}
	fmt.Printf("http %s\ntcp %s\n", strings.Join(httpAddrs, " "), strings.Join(tcpAddrs, " "))
	io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

// benchTargets starts the target process and returns its HTTP and TCP
// addresses and its pid; it ends with the benchmark.
func benchTargets(b *testing.B, n int) (httpAddrs, tcpAddrs []string, pid int) {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^$")
	cmd.Env = append(os.Environ(), benchTargetsEnv+"="+strconv.Itoa(n), "GOMAXPROCS=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for range 2 {
		if !sc.Scan() {
			b.Fatalf("target process: %v", sc.Err())
		}
		kind, addrs, _ := strings.Cut(sc.Text(), " ")
		switch kind {
		case "http":
			httpAddrs = strings.Fields(addrs)
		case "tcp":
			tcpAddrs = strings.Fields(addrs)
		}
	}
	if len(httpAddrs) != n || len(tcpAddrs) != n {
		b.Fatalf("target process gave %d http and %d tcp addresses, want %d", len(httpAddrs), len(tcpAddrs), n)
	}
	return httpAddrs, tcpAddrs, cmd.Process.Pid
}

// The run benchmarks rotate over benchListeners targets: a run closes its
// connection, and every close leaves a TIME_WAIT entry for a minute, which
// against a single address would soon crowd the ephemeral ports and make
// connect itself the thing measured.
const benchListeners = 64

func BenchmarkHTTPCheckRun(b *testing.B) {
	httpAddrs, _, _ := benchTargets(b, benchListeners)
	var hs []*httpCheck
	for _, addr := range httpAddrs {
		h, err := newHTTP(&structs.CheckType{HTTP: "http://" + addr + "/health"})
		if err != nil {
			b.Fatal(err)
		}
		hs = append(hs, h)
	}
	ctx := context.Background()
	b.ReportAllocs()
	ru0 := rusage(b)
	i := 0
	for b.Loop() {
		if status, out := hs[i%len(hs)].run(ctx); status != structs.HealthPassing {
			b.Fatalf("%s %q", status, out)
		}
		i++
	}
	reportCPUPerOp(b, ru0)
}

func BenchmarkTCPCheckRun(b *testing.B) {
	_, tcpAddrs, _ := benchTargets(b, benchListeners)
	var cs []*tcpCheck
	for _, addr := range tcpAddrs {
		cs = append(cs, newTCP(&structs.CheckType{TCP: addr}))
	}
	ctx := context.Background()
	b.ReportAllocs()
	ru0 := rusage(b)
	i := 0
	for b.Loop() {
		if status, out := cs[i%len(cs)].run(ctx); status != structs.HealthPassing {
			b.Fatalf("%s %q", status, out)
		}
		i++
	}
	reportCPUPerOp(b, ru0)
}

// reportCPUPerOp reports this process's CPU time per run (user and system)
// since ru0: what a run costs the agent, as opposed to its latency.
func reportCPUPerOp(b *testing.B, ru0 syscall.Rusage) {
	ru1 := rusage(b)
	b.ReportMetric(float64(cpuTime(ru1)-cpuTime(ru0))/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(ru1.Stime.Nano()-ru0.Stime.Nano())/float64(b.N), "sys-ns/op")
}

// BenchmarkTenThousandChecks runs 5,000 HTTP and 5,000 TCP checks at a 10s
// interval against targets in another process, lets every check run once,
// then measures three intervals: the CPU this process used (%core, of one
// core) and the memory it holds beyond what it held before the checks
// existed (MB of RSS; heapMB and sysMB from runtime.MemStats). Run it once:
//
//	go test -run '^$' -bench TenThousand -benchtime 1x ./checks/
//
// Every run closes a connection and every close leaves a TIME_WAIT entry
// for a minute on one side or the other: give the machine a minute between
// runs, and spread the targets (500 listeners of each kind), or connect
// starts colliding with old entries (a SYN retransmitted a second later)
// and the figures measure the kernel's port search.
func BenchmarkTenThousandChecks(b *testing.B) {
	const (
		checks    = 10000
		listeners = 500 // of each kind: 10 checks, one connection a second, per listener
		interval  = 10 * time.Second
		rounds    = 3
	)
	if tw := timeWait(); tw > 2000 {
		b.Logf("%d TCP connections in TIME_WAIT before the start (an earlier run's?); connects may be slowed", tw)
	}
	httpAddrs, tcpAddrs, targetPid := benchTargets(b, listeners)

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	rssBefore := rssMB(b)

	var passing, failing atomic.Int64
	var lastFailure atomic.Value
	notify := func(id, status, output string) {
		if status == structs.HealthPassing {
			passing.Add(1)
			return
		}
		failing.Add(1)
		lastFailure.Store(id + ": " + output)
	}
	all := make([]Check, 0, checks)
	for i := range checks {
		ct := &structs.CheckType{Interval: structs.Duration(interval), Timeout: structs.Duration(5 * time.Second)}
		if i%2 == 0 {
			ct.HTTP = fmt.Sprintf("http://%s/svc/%d", httpAddrs[i/2%listeners], i)
		} else {
			ct.TCP = tcpAddrs[i/2%listeners]
		}
		c, err := New("check-"+strconv.Itoa(i), "", ct, notify, Options{})
		if err != nil {
			b.Fatal(err)
		}
		c.Start()
		all = append(all, c)
	}
	defer func() {
		for _, c := range all {
			c.Stop()
		}
	}()

	// Warm up: every check runs once within the first interval.
	time.Sleep(interval)
	b.ResetTimer()
	ru0, t0, runs0, target0 := rusage(b), time.Now(), passing.Load()+failing.Load(), procCPU(targetPid)
	time.Sleep(rounds * interval)
	ru1, t1, runs1, target1 := rusage(b), time.Now(), passing.Load()+failing.Load(), procCPU(targetPid)
	b.StopTimer()

	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	rssAfter := rssMB(b)
	cpu := (cpuTime(ru1) - cpuTime(ru0)).Seconds() / t1.Sub(t0).Seconds()
	b.ReportMetric(100*cpu, "%core")
	b.ReportMetric(100*time.Duration(ru1.Stime.Nano()-ru0.Stime.Nano()).Seconds()/t1.Sub(t0).Seconds(), "%sys")
	// The targets' CPU, for scale: on one machine the two sides of
	// loopback TCP share the kernel's work between them, and a slow or
	// busy machine shows in both.
	b.ReportMetric(100*(target1-target0).Seconds()/t1.Sub(t0).Seconds(), "targets%core")
	b.ReportMetric(rssAfter-rssBefore, "MB")
	b.ReportMetric((float64(after.HeapInuse)-float64(before.HeapInuse))/(1<<20), "heapMB")
	b.ReportMetric((float64(after.Sys)-float64(before.Sys))/(1<<20), "sysMB")
	b.ReportMetric(float64(runs1-runs0)/t1.Sub(t0).Seconds(), "runs/s")
	b.ReportMetric(float64(runtime.NumGoroutine()), "goroutines")
	// What the checks hold, garbage aside.
	runtime.GC()
	var live runtime.MemStats
	runtime.ReadMemStats(&live)
	b.ReportMetric((float64(live.HeapAlloc)-float64(before.HeapAlloc))/checks, "B/check")
	b.ReportMetric(float64(failing.Load()), "failed")
	if n := failing.Load(); n > 0 {
		b.Errorf("%d runs failed; the last: %v", n, lastFailure.Load())
	}
	if want := float64(rounds * checks); float64(runs1-runs0) < 0.95*want {
		b.Errorf("%d runs in %d intervals, want about %.0f", runs1-runs0, rounds, want)
	}
}

func rusage(b *testing.B) syscall.Rusage {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru
}

func cpuTime(ru syscall.Rusage) time.Duration {
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rssMB is this process's resident set from /proc/self/status.
func rssMB(b *testing.B) float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb / 1024
		}
	}
	b.Fatal("no VmRSS in /proc/self/status")
	return 0
}

// timeWait is the number of TCP sockets in TIME_WAIT, from /proc/net/sockstat.
func timeWait() int {
	data, err := os.ReadFile("/proc/net/sockstat")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(line, "TCP:") {
			continue
		}
		f := strings.Fields(line)
		for i := 0; i+1 < len(f); i++ {
			if f[i] == "tw" {
				n, _ := strconv.Atoi(f[i+1])
				return n
			}
		}
	}
	return 0
}

// procCPU is the user+system CPU time of process pid, from /proc/pid/stat
// (in clock ticks of 10ms, USER_HZ 100 on Linux).
func procCPU(pid int) time.Duration {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	// After the command: state(0) ... utime(11) stime(12).
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}
