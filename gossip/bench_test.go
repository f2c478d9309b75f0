package gossip

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"
)

// BenchmarkFailureDetection measures, with the default LAN tuning, how long
// after a member of a 10-member pool stops (no Leave) every other member
// has declared it failed. GOSSIP_BENCH_MEMBERS changes the pool size;
// GOSSIP_BENCH_TUNING=memberlist uses memberlist's own LAN defaults, for
// comparison.
//
//	go test -run '^$' -bench FailureDetection -benchtime 5x ./gossip/
func BenchmarkFailureDetection(b *testing.B) {
	size := 10
	if s, err := strconv.Atoi(os.Getenv("GOSSIP_BENCH_MEMBERS")); err == nil && s > 1 {
		size = s
	}
	var first, all, worst time.Duration
	falseFailures := 0
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		ps := cluster(b, fmt.Sprintf("b%d-", i), size, func(_ int, c *Config) {
			if os.Getenv("GOSSIP_BENCH_TUNING") == "memberlist" {
				c.Tuning = memberlistLANTuning()
			}
		})
		// Let the pool settle (push/pull, initial gossip) before the kill.
		waitFor(b, 10*time.Second, "queues to drain", func() bool {
			for _, p := range ps {
				if queued(p.Pool) != 0 {
					return false
				}
			}
			return true
		})
		b.StartTimer()
		victim := ps[size-1]
		start := time.Now()
		victim.Shutdown()
		times := waitFailed(b, ps[:size-1], victim.LocalNodeName(), start, 30*time.Second)
		b.StopTimer()
		lo, hi := times[0], times[0]
		for _, d := range times {
			lo, hi = min(lo, d), max(hi, d)
		}
		first += lo
		all += hi
		worst = max(worst, hi)
		for _, p := range ps[:size-1] {
			for _, q := range ps[:size-1] {
				falseFailures += p.rec.count(EventFailed, q.LocalNodeName())
			}
		}
		for _, p := range ps {
			p.Shutdown()
			p.log.stop()
		}
	}
	b.ReportMetric(float64(first.Milliseconds())/float64(b.N), "ms-first-failed")
	b.ReportMetric(float64(all.Milliseconds())/float64(b.N), "ms-all-failed")
	b.ReportMetric(float64(worst.Milliseconds()), "ms-worst")
	b.ReportMetric(float64(falseFailures), "false-failures")
	b.ReportMetric(0, "ns/op")
}

// memberlistLANTuning is memberlist.DefaultLANConfig's timing.
func memberlistLANTuning() Tuning {
	return Tuning{
		ProbeInterval:           time.Second,
		ProbeTimeout:            500 * time.Millisecond,
		SuspicionMult:           4,
		SuspicionMaxTimeoutMult: 6,
		GossipInterval:          200 * time.Millisecond,
	}
}
