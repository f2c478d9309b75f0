package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
)

// percentile of sorted durations.
func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[min(len(d)-1, int(float64(len(d))*p))]
}

func reportDurations(b *testing.B, name string, d []time.Duration) {
	slices.Sort(d)
	b.ReportMetric(float64(percentile(d, 0.5).Microseconds())/1000, name+"-p50-ms")
	b.ReportMetric(float64(percentile(d, 0.99).Microseconds())/1000, name+"-p99-ms")
	b.ReportMetric(float64(d[len(d)-1].Microseconds())/1000, name+"-max-ms")
}

// BenchmarkClusterFailover: kill -9 of the leader of three servers, until
// every surviving server reports the same new leader (one cluster per
// iteration; the LAN Raft timings are in raftstore.lanTimings).
func BenchmarkClusterFailover(b *testing.B) {
	var d []time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		c := newCluster(b, 3, 0, "")
		old := c.leader()
		b.StartTimer()
		c.kill(old)
		t0 := time.Now()
		c.leader()
		d = append(d, time.Since(t0))
		b.StopTimer()
	}
	reportDurations(b, "failover", d)
}

// BenchmarkClusterDeadClient: kill -9 of a client agent until its instance
// is gone from DNS on every other agent (3 servers, 2 clients).
func BenchmarkClusterDeadClient(b *testing.B) {
	var d []time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		c := newCluster(b, 3, 2, "")
		victim := c.clients[1]
		if err := victim.client(b).Agent().ServiceRegister(&api.AgentServiceRegistration{Name: "api", Port: 1}); err != nil {
			b.Fatal(err)
		}
		rest := []*node{c.servers[0], c.servers[1], c.servers[2], c.clients[0]}
		waitAll(b, "api answered", rest, 10*time.Second, func(n *node) bool { return len(dnsA(b, n, "api.service.consul.")) == 1 })
		b.StartTimer()
		c.kill(victim)
		gone := waitAll(b, "api gone", rest, 20*time.Second, func(n *node) bool { return len(dnsA(b, n, "api.service.consul.")) == 0 })
		b.StopTimer()
		var worst time.Duration
		for _, g := range gone {
			worst = max(worst, g)
		}
		d = append(d, worst)
	}
	reportDurations(b, "out-of-dns", d)
}

// BenchmarkClusterRegistrationToDNS: a service registered on a client's
// agent API until DNS on every agent (3 servers, 2 clients) answers it,
// polled every millisecond. Each iteration registers a new service.
func BenchmarkClusterRegistrationToDNS(b *testing.B) {
	c := newCluster(b, 3, 2, "")
	reg := c.clients[0].client(b).Agent()
	var d []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		name := fmt.Sprintf("svc%d", i)
		t0 := time.Now()
		if err := reg.ServiceRegister(&api.AgentServiceRegistration{Name: name, Port: 80}); err != nil {
			b.Fatal(err)
		}
		registered := time.Since(t0)
		seen := waitAll(b, name, c.all(), 10*time.Second, func(n *node) bool { return len(dnsA(b, n, name+".service.consul.")) == 1 })
		var worst time.Duration
		for _, s := range seen {
			worst = max(worst, s)
		}
		d = append(d, registered+worst)
	}
	b.StopTimer()
	reportDurations(b, "every-agent", d)
}

// BenchmarkClusterKVWrite16: 16 concurrent writers spread over the three
// servers' HTTP APIs (writes to followers are forwarded to the leader).
func BenchmarkClusterKVWrite16(b *testing.B) {
	kvWrite16(b, newCluster(b, 3, 0, ""))
}

// BenchmarkClusterKVWrite16TLS is BenchmarkClusterKVWrite16 with mutual
// TLS on the server port (verify_incoming, verify_outgoing,
// verify_server_hostname): forwards and Raft replication run over TLS,
// the writers still use plain HTTP, so the difference is mTLS's cost on
// RPC and Raft.
func BenchmarkClusterKVWrite16TLS(b *testing.B) {
	kvWrite16(b, newTLSCluster(b, 3, 0).cluster)
}

func kvWrite16(b *testing.B, c *cluster) {
	kvs := make([]*api.KV, 3)
	for i, s := range c.servers {
		kvs[i] = s.client(b).KV()
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			kv := kvs[w%3]
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				if _, err := kv.Put(&api.KVPair{Key: fmt.Sprintf("bench/%d", i), Value: []byte("v")}, nil); err != nil {
					b.Error(err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
}

// BenchmarkClusterDNSQPS runs dnsperf against a server and a client of the
// same cluster for the same names: both answer from their own memory, so
// the QPS should match.
func BenchmarkClusterDNSQPS(b *testing.B) {
	if _, err := exec.LookPath("dnsperf"); err != nil {
		b.Skip("dnsperf not installed (make bench installs it)")
	}
	c := newCluster(b, 1, 1, "")
	registerService(b, c.servers[0].client(b), "web", 3, "v1")
	waitFor(b, "web on the client", func() bool { return len(dnsA(b, c.clients[0], "web.service.consul.")) == 3 })
	queries := filepath.Join(b.TempDir(), "queries")
	if err := os.WriteFile(queries, []byte("web.service.consul A\n_web._v1.service.consul SRV\ns1.node.consul A\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	re := regexp.MustCompile(`Queries per second:\s+([0-9.]+)`)
	qps := func(n *node) float64 {
		out, err := exec.Command("dnsperf", "-s", "127.0.0.1", "-p", strconv.Itoa(n.DNS), "-d", queries,
			"-c", "4", "-T", "1", "-q", "64", "-l", "3", "-e").CombinedOutput()
		if err != nil {
			b.Fatalf("dnsperf: %v\n%s", err, out)
		}
		m := re.FindSubmatch(out)
		if m == nil {
			b.Fatalf("dnsperf output:\n%s", out)
		}
		v, _ := strconv.ParseFloat(string(m[1]), 64)
		return v
	}
	b.ResetTimer()
	var server, client []float64
	for i := 0; i < b.N; i++ {
		server = append(server, qps(c.servers[0]))
		client = append(client, qps(c.clients[0]))
	}
	sort.Float64s(server)
	sort.Float64s(client)
	b.ReportMetric(server[len(server)-1], "server-qps")
	b.ReportMetric(client[len(client)-1], "client-qps")
	b.ReportMetric(client[len(client)-1]/server[len(server)-1], "client/server")
}
