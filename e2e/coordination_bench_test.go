package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
)

// BenchmarkLockCycle: one acquire→release cycle of a held-session lock
// through the official client, on a durable server.
func BenchmarkLockCycle(b *testing.B) {
	n := newNode(b)
	n.DataDir = b.TempDir()
	start(b, n)
	c := n.client(b)
	id, _, err := c.Session().Create(&api.SessionEntry{LockDelay: time.Millisecond}, nil)
	if err != nil {
		b.Fatal(err)
	}
	pair := &api.KVPair{Key: "bench/lock", Session: id}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if ok, _, err := c.KV().Acquire(pair, nil); err != nil || !ok {
			b.Fatalf("acquire: %v %v", ok, err)
		}
		if ok, _, err := c.KV().Release(pair, nil); err != nil || !ok {
			b.Fatalf("release: %v %v", ok, err)
		}
	}
}

// BenchmarkKVPutDurable16: KV PUT throughput with 16 concurrent writers on
// one server with the durable store (raft-wal, fsync per batch).
func BenchmarkKVPutDurable16(b *testing.B) {
	n := newNode(b)
	n.DataDir = b.TempDir()
	start(b, n)
	// The client's default pool keeps 3 idle connections per host; 16
	// writers would measure connection churn instead of the server.
	c, err := api.NewClient(&api.Config{Address: fmt.Sprintf("127.0.0.1:%d", n.HTTP),
		Transport: &http.Transport{MaxIdleConnsPerHost: 32}})
	if err != nil {
		b.Fatal(err)
	}
	var mu sync.Mutex
	next := 0
	b.SetParallelism((16 + 1) / 2) // GOMAXPROCS=2 here: 16 writers
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		mu.Lock()
		w := next
		next++
		mu.Unlock()
		i := 0
		for pb.Next() {
			i++
			if _, err := c.KV().Put(&api.KVPair{Key: fmt.Sprintf("bench/w%d/%d", w, i%100), Value: []byte("value")}, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "puts/s")
}

func rssKiB(b *testing.B, pid int) int {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.Atoi(f[1])
			return kb
		}
	}
	b.Fatal("no VmRSS")
	return 0
}

// BenchmarkBlockingFanout parks 1,000 and 10,000 blocking KV queries on one key of
// the server (another process), writes the key, and measures how long each
// waiter takes to see the write, and the server's memory per waiter. An
// unrelated write first must wake none of them.
func BenchmarkBlockingFanout(b *testing.B) {
	for _, waiters := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("waiters=%d", waiters), func(b *testing.B) { blockingFanout(b, waiters) })
	}
}

func blockingFanout(b *testing.B, waiters int) {
	n := newNode(b)
	// Every waiter holds a connection from 127.0.0.1: raise the per-client
	// cap (default 200) to what the benchmark opens.
	n.Extra = fmt.Sprintf("http_max_conns_per_client %d", waiters+64)
	p := start(b, n)
	c := n.client(b)
	if _, err := c.KV().Put(&api.KVPair{Key: "fanout/watched", Value: []byte("0")}, nil); err != nil {
		b.Fatal(err)
	}
	transport := &http.Transport{MaxIdleConnsPerHost: waiters, MaxConnsPerHost: 0, IdleConnTimeout: time.Minute}
	defer transport.CloseIdleConnections()
	hc := &http.Client{Transport: transport, Timeout: 2 * time.Minute}
	base := fmt.Sprintf("http://127.0.0.1:%d/v1/kv/fanout/watched", n.HTTP)

	for i := 0; i < b.N; i++ {
		pair, meta, err := c.KV().Get("fanout/watched", nil)
		if err != nil || pair == nil {
			b.Fatal(err)
		}
		idle := rssKiB(b, p.cmd.Process.Pid)
		woke := make([]time.Time, waiters)
		var wg sync.WaitGroup
		var parked sync.WaitGroup
		parked.Add(waiters)
		for w := 0; w < waiters; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s?index=%d&wait=2m", base, meta.LastIndex), nil)
				parked.Done()
				resp, err := hc.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				woke[w] = time.Now()
			}(w)
		}
		parked.Wait()
		// Let every request reach the server and park.
		time.Sleep(3 * time.Second)
		loaded := rssKiB(b, p.cmd.Process.Pid)
		if _, err := c.KV().Put(&api.KVPair{Key: "fanout/other", Value: []byte("x")}, nil); err != nil {
			b.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
		early := 0
		for _, t := range woke {
			if !t.IsZero() {
				early++
			}
		}
		written := time.Now()
		if _, err := c.KV().Put(&api.KVPair{Key: "fanout/watched", Value: []byte(strconv.Itoa(i + 1))}, nil); err != nil {
			b.Fatal(err)
		}
		wg.Wait()
		lat := make([]time.Duration, 0, waiters)
		for _, t := range woke {
			if !t.IsZero() {
				lat = append(lat, t.Sub(written))
			}
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		if len(lat) != waiters {
			b.Fatalf("%d of %d waiters came back", len(lat), waiters)
		}
		b.ReportMetric(float64(early), "woken-by-other-key")
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-wake-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-wake-ms")
		b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-wake-ms")
		b.ReportMetric(float64(loaded-idle)*1024/float64(waiters), "server-B/waiter")
	}
}
