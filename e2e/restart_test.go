package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/miekg/dns"

	"github.com/coredns-coord/coredns-coord/internal/testutil"
)

// busy keeps every CPU spinning until the test ends, as a loaded machine
// would: the restarted server replays its log slowly, and a read that
// comes in the middle must not show part of it.
func busy(t *testing.T) {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range runtime.NumCPU() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for x := 0; ; x++ {
				if x%4096 == 0 {
					select {
					case <-stop:
						return
					default:
					}
				}
			}
		}()
	}
	t.Cleanup(func() { close(stop); wg.Wait() })
}

// A server killed with kill -9 and restarted under CPU load never answers a
// default-mode read with less than what it acknowledged before: Raft
// restores its snapshot and applies the log after it only once it learns
// the commit index, so until it has caught up (ready says so), a read
// waits, DNS answers SERVFAIL, and only ?stale answers from what it has.
func TestRestartedServerNeverReadsLessThanAcknowledged(t *testing.T) {
	multiProcess(t)
	n := newNode(t)
	n.DataDir = t.TempDir()
	n.ReadyPort = testutil.FreePort(t)
	// A snapshot part-way, so that the restart restores one and replays
	// the log after it.
	n.Extra = "snapshot_threshold 64\n        snapshot_interval 1s"
	p := start(t, n)
	c := n.client(t)
	const keys = 300
	for i := range keys {
		if _, err := c.KV().Put(&api.KVPair{Key: fmt.Sprintf("cfg/%03d", i), Value: []byte("v")}, nil); err != nil {
			t.Fatal(err)
		}
		if i == 150 {
			time.Sleep(1500 * time.Millisecond) // let a snapshot be taken
		}
	}
	p.kill()

	busy(t)
	p = launch(t, n)
	hc := &http.Client{Timeout: 10 * time.Second}
	kvURL := fmt.Sprintf("http://127.0.0.1:%d/v1/kv/cfg/?recurse", n.HTTP)
	readyURL := fmt.Sprintf("http://127.0.0.1:%d/ready", n.ReadyPort)
	var full, early, servfail int
	deadline := time.Now().Add(30 * time.Second)
	for {
		if time.Now().After(deadline) {
			t.Fatalf("no complete read within 30s of the restart (%d refused early)", early)
		}
		select {
		case <-p.exited:
			t.Fatalf("the server exited:\n%s", p.out.String())
		default:
		}
		ready := false
		if resp, err := hc.Get(readyURL); err == nil {
			ready = resp.StatusCode == http.StatusOK
			resp.Body.Close()
		}
		if r, err := exchange(n, "udp", "consul.service.consul.", dns.TypeA); err == nil {
			if r.Rcode == dns.RcodeServerFailure {
				servfail++
			} else if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
				t.Fatalf("DNS after the restart: %s with %d answers", dns.RcodeToString[r.Rcode], len(r.Answer))
			}
		}
		resp, err := hc.Get(kvURL)
		if err != nil {
			time.Sleep(5 * time.Millisecond)
			continue
		}
		var pairs api.KVPairs
		status := resp.StatusCode
		if status == http.StatusOK {
			err = json.NewDecoder(resp.Body).Decode(&pairs)
		}
		resp.Body.Close()
		switch {
		case status == http.StatusOK && err == nil:
			if len(pairs) != keys {
				t.Fatalf("BUG: a read after the restart listed %d of %d acknowledged keys (ready: %v)", len(pairs), keys, ready)
			}
			full++
		case status == http.StatusInternalServerError:
			if ready {
				t.Fatalf("ready says ready, yet a read was refused")
			}
			early++
		default:
			t.Fatalf("read after the restart: status %d, %v", status, err)
		}
		if full >= 3 && ready {
			break
		}
	}
	t.Logf("after the restart: %d reads refused while catching up, %d DNS SERVFAIL, then complete reads", early, servfail)
}
