package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
)

// A leader cut off from its followers appends writes it cannot commit; the
// servers it was cut off from elect a new leader, and when the old one
// comes back, Raft clears the conflicting suffix from its log. The server
// must then still restart on its data directory: with raft-wal v0.4.0 it
// could not (hashicorp/raft-wal#31: the truncated tail segment was marked
// sealed without an index block, and reading it after a restart failed
// with "sealed segment has no index block").
func TestDeposedLeaderClearsLogSuffixAndRestarts(t *testing.T) {
	multiProcess(t)
	c := newCluster(t, 3, 0, "")
	old := c.leader()
	followers := c.followers(old)
	if len(followers) != 2 {
		t.Fatalf("followers of %s: %d, want 2", old.Name, len(followers))
	}
	for i := 0; i < 3; i++ {
		key := fmt.Sprintf("before/%d", i)
		if _, err := old.client(t).KV().Put(&api.KVPair{Key: key, Value: []byte("committed")}, nil); err != nil {
			t.Fatalf("put %s on the leader %s: %v", key, old.Name, err)
		}
	}

	signal := func(n *node, sig syscall.Signal) {
		t.Helper()
		if err := syscall.Kill(c.procs[n].cmd.Process.Pid, sig); err != nil {
			t.Fatalf("%v to %s: %v", sig, n.Name, err)
		}
	}
	// A failure with a server stopped still ends the test: the launch
	// cleanups SIGKILL every process, stopped or not.

	// The leader alone. Its writes reach its log, but not necessarily
	// only there: the kernel still queues what it sends to a stopped
	// follower, and Raft keeps up to two AppendEntries in flight to each,
	// so the first writes may reach the followers when they resume and be
	// committed by the new leader. The later ones stay on the old leader
	// alone: that is the suffix Raft clears when it comes back. So the
	// writes go in waves, each its own request, all before the leader's
	// lease (250 ms) runs out and it steps down. Their outcome does not
	// matter.
	for _, f := range followers {
		signal(f, syscall.SIGSTOP)
	}
	stoppedAt := time.Now()
	const waves = 5
	alone := boundedClient(t, old, 2*time.Second).KV()
	var wg sync.WaitGroup
	defer wg.Wait()
	for i := 0; i < waves; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			alone.Put(&api.KVPair{Key: fmt.Sprintf("alone/%d", i), Value: []byte("isolated")}, nil)
		}()
		time.Sleep(25 * time.Millisecond)
	}
	time.Sleep(500*time.Millisecond - time.Since(stoppedAt))

	// The old leader stopped, the followers back: they elect one of
	// themselves and commit a write through it.
	signal(old, syscall.SIGSTOP)
	for _, f := range followers {
		signal(f, syscall.SIGCONT)
	}
	var newLeader *node
	eventually(t, "the two followers agree on a new leader among themselves", 15*time.Second, func() (bool, string) {
		newLeader = nil
		var leaders []string
		for _, f := range followers {
			l, err := boundedClient(t, f, time.Second).Status().Leader()
			if err != nil {
				return false, fmt.Sprintf("%s: %v", f.Name, err)
			}
			leaders = append(leaders, l)
		}
		why := fmt.Sprintf("%s reports leader %q, %s reports %q", followers[0].Name, leaders[0], followers[1].Name, leaders[1])
		if leaders[0] != leaders[1] {
			return false, why
		}
		for _, f := range followers {
			if f.serverAddr() == leaders[0] {
				newLeader = f
			}
		}
		return newLeader != nil, why
	})
	t.Logf("old leader %s stopped; new leader %s", old.Name, newLeader.Name)
	eventually(t, "a write committed through the new leader "+newLeader.Name, 15*time.Second, func() (bool, string) {
		kv := boundedClient(t, newLeader, 3*time.Second).KV()
		if _, err := kv.Put(&api.KVPair{Key: "after", Value: []byte("new")}, nil); err != nil {
			return false, err.Error()
		}
		p, _, err := kv.Get("after", &api.QueryOptions{RequireConsistent: true})
		if err != nil || p == nil || string(p.Value) != "new" {
			return false, fmt.Sprintf("consistent read: %+v, %v", p, err)
		}
		return true, ""
	})

	// The old leader back: it becomes a follower, the entries only it has
	// conflict with the new leader's log, and Raft deletes them.
	signal(old, syscall.SIGCONT)
	eventually(t, "the old leader "+old.Name+" caught up with the new write", 15*time.Second, func() (bool, string) {
		p, _, err := boundedClient(t, old, time.Second).KV().Get("after", &api.QueryOptions{AllowStale: true})
		if err != nil || p == nil || string(p.Value) != "new" {
			return false, fmt.Sprintf("stale read: %+v, %v", p, err)
		}
		return true, ""
	})
	eventually(t, "the old leader "+old.Name+" to log that it cleared a log suffix", 5*time.Second, func() (bool, string) {
		out := c.procs[old].out.String()
		return strings.Contains(out, "clearing log suffix"), "its output ends:\n" + tailLines(out, 30)
	})
	wg.Wait()
	// What the cluster committed, the old leader has, and nothing else.
	var committed string
	eventually(t, "the old leader's keys equal to the new leader's", 10*time.Second, func() (bool, string) {
		committed = kvDump(t, newLeader, &api.QueryOptions{RequireConsistent: true})
		local := kvDump(t, old, &api.QueryOptions{AllowStale: true})
		return local == committed, fmt.Sprintf("%s has %s, %s has %s", old.Name, local, newLeader.Name, committed)
	})
	// Which of the isolated leader's writes are there depends on what
	// reached the followers and on whether the agent re-sends a write that
	// lost its leader (then the cleared ones are committed again, later,
	// through the new leader); either way every server agrees.
	t.Logf("after the suffix was cleared: %s", committed)

	// kill -9 and a restart on the same data directory: the log, with its
	// truncated segment, must open and replay.
	c.kill(old)
	c.restart(old) // fails the test with the output if it exits or is not ready in 30s
	eventually(t, "the restarted "+old.Name+" serves what the cluster committed", 15*time.Second, func() (bool, string) {
		committed = kvDump(t, newLeader, &api.QueryOptions{RequireConsistent: true})
		local := kvDump(t, old, &api.QueryOptions{AllowStale: true})
		return local == committed, fmt.Sprintf("%s has %s, %s has %s", old.Name, local, newLeader.Name, committed)
	})
	if !strings.Contains(committed, "after=new") {
		t.Fatalf("the new write is missing: %s", committed)
	}
	if out := c.procs[old].out.String(); strings.Contains(out, "no index block") {
		t.Fatalf("the restarted %s reports a broken log:\n%s", old.Name, tailLines(out, 40))
	}
}

// kvDump is every key in n's KV store with its value and modify index,
// sorted, or the error.
func kvDump(t testing.TB, n *node, q *api.QueryOptions) string {
	ps, _, err := boundedClient(t, n, 5*time.Second).KV().List("", q)
	if err != nil {
		return "error: " + err.Error()
	}
	var out []string
	for _, p := range ps {
		out = append(out, fmt.Sprintf("%s=%s@%d", p.Key, p.Value, p.ModifyIndex))
	}
	return "[" + strings.Join(out, " ") + "]"
}

// dialNoLinger connects with SO_LINGER 0: closing the connection resets
// it instead of leaving it in TIME_WAIT, so that thousands of one-request
// connections a minute (the fault suite's clients) do not use up the
// ephemeral ports, which slows every connect down.
func dialNoLinger(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if tcp, ok := c.(*net.TCPConn); ok {
		tcp.SetLinger(0)
	}
	return c, err
}

// boundedClient is a consul client whose requests give up after timeout,
// for servers that may be stopped (SIGSTOP), where a request would hang.
func boundedClient(t testing.TB, n *node, timeout time.Duration) *api.Client {
	t.Helper()
	c, err := api.NewClient(&api.Config{
		Address:    fmt.Sprintf("127.0.0.1:%d", n.HTTP),
		HttpClient: &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true, DialContext: dialNoLinger}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// eventually polls cond every 50 ms until it holds, and fails the test
// after limit with the last reason cond gave.
func eventually(t testing.TB, what string, limit time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s: %s", limit, what, why)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// tailLines is the last n lines of s.
func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
