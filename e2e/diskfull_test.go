package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/coredns-coord/coredns-coord/internal/testutil"
)

// Disk full on a server makes writes fail with an error to the client and
// loses nothing already acknowledged; once space is back, writes resume
// without a restart. The server's data_dir is on a real, size-limited tmpfs
// (in a mount namespace of its own) that the test fills with a filler
// file. raft-wal preallocates its 64 MiB segments, so writes fail when the
// tail segment is full: "full" fills the file system to ENOSPC (the write
// that seals the segment goes past its preallocated end; snapshots, every
// 16 entries, fail too); "no room for a segment" leaves a few MiB free, so
// the sealing write succeeds and creating the next segment fails. Then the
// space is freed, and at the end the server is killed and restarted.
func TestDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process, root-only (a tmpfs in a mount namespace of its own): runs in make test, as root")
	}
	t.Run("full", func(t *testing.T) {
		diskFull(t, 0, "snapshot_threshold 16\n        snapshot_interval 100ms")
	})
	t.Run("no room for a segment", func(t *testing.T) {
		diskFull(t, 4<<20, "")
	})
}

// diskFull runs the scenario with headroom bytes left free after the fill
// and extra in the server's coordcatalog block.
func diskFull(t *testing.T, headroom int64, extra string) {
	ns := newTmpfsNS(t, 200)
	n := newNode(t)
	n.DataDir = filepath.Join(ns.dir, "data")
	n.Wrap = ns.wrap()
	n.Extra = extra
	var outputs []*proc
	defer func() { logServerLines(t, outputs) }()
	p := start(t, n)
	outputs = append(outputs, p)
	ns.checkIsServer(t, p)
	kv := longClient(t, n).KV()
	rec := newKVRecord()

	// 1. Acknowledged writes with room to spare: small unique keys and big
	// values on a few keys that are overwritten (so the state, and each
	// snapshot, stays a few MiB while the log grows by ~0.5 MiB a write).
	const bigSize = 500 << 10
	const bigKeys = 8
	write := func(i int) (bigErr, smallErr error, bigDur, smallDur time.Duration) {
		key := fmt.Sprintf("big/%d", i%bigKeys)
		bigDur, bigErr = rec.put(kv, key, bigValue(key, i, bigSize))
		small := fmt.Sprintf("small/%03d", i)
		smallDur, smallErr = rec.put(kv, small, []byte(fmt.Sprintf("v%d@%d", i, time.Now().UnixNano())))
		return
	}
	const before = 10
	for i := 0; i < before; i++ {
		if e1, e2, _, _ := write(i); e1 != nil || e2 != nil {
			t.Fatalf("write %d with free space: %v / %v", i, e1, e2)
		}
	}
	t.Logf("after %d acknowledged writes: %s", len(rec.acked), ns.usage(t))

	// 2. Fill the file system.
	filled := fillUp(t, ns.path("filler"), headroom)
	t.Logf("filler: %d MiB; %s", filled>>20, ns.usage(t))
	leaderChanges0 := metricValue(t, n, "coredns_coord_raft_leader_changes_total")

	// 3. Keep writing until writes fail; then a few more attempts to see
	// what the client gets while the disk stays full.
	const maxWrites = 400
	type failure struct {
		i   int
		key string
		err error
		dur time.Duration
	}
	var fails []failure
	okAfterFail := 0
	fullStart := time.Now()
	i := before
	for ; i < maxWrites && len(fails) < 2; i++ {
		e1, e2, d1, d2 := write(i)
		for _, r := range []struct {
			key string
			err error
			dur time.Duration
		}{{fmt.Sprintf("big/%d", i%bigKeys), e1, d1}, {fmt.Sprintf("small/%03d", i), e2, d2}} {
			switch {
			case r.err != nil:
				fails = append(fails, failure{i, r.key, r.err, r.dur})
				t.Logf("write %d (%s) failed after %s: %v", i, r.key, r.dur.Round(time.Millisecond), r.err)
			case len(fails) > 0:
				okAfterFail++
				t.Logf("write %d (%s) acknowledged after %s although an earlier write failed", i, r.key, r.dur.Round(time.Millisecond))
			}
		}
		if exitedNow(p) {
			break
		}
		if len(fails) > 0 {
			time.Sleep(300 * time.Millisecond)
		}
	}
	t.Logf("disk full: %d writes attempted, %d failed, %d acknowledged after the first failure, in %s; %s",
		i, len(fails), okAfterFail, time.Since(fullStart).Round(time.Millisecond), ns.usage(t))
	if len(fails) == 0 {
		t.Fatalf("no write failed in %d writes (~%d MiB) on a full file system: %s", maxWrites, maxWrites*bigSize>>20, ns.usage(t))
	}
	for _, f := range fails {
		msg := f.err.Error()
		if f.dur > 20*time.Second {
			t.Errorf("write %d (%s) took %s to fail", f.i, f.key, f.dur)
		}
		// The official client reports a 5xx as "Unexpected response
		// code: 500 (<body>)": the body must say something.
		if !strings.Contains(msg, "500") || !strings.Contains(msg, "(") || strings.HasSuffix(msg, "()") {
			t.Errorf("write %d (%s): the error says nothing useful: %q", f.i, f.key, msg)
		}
	}
	if exitedNow(p) {
		t.Fatalf("the server exited on a full disk:\n%s", p.out.String())
	} else {
		t.Logf("the server is still running; leader changes while full: %v",
			metricValue(t, n, "coredns_coord_raft_leader_changes_total")-leaderChanges0)
	}

	// 4. While full, every acknowledged key reads back exactly (stale
	// reads, from the local state); a consistent read needs the leader.
	if !exitedNow(p) {
		rec.verify(t, kv, &api.QueryOptions{AllowStale: true}, "stale, disk full")
		start := time.Now()
		_, _, err := kv.Get("small/000", &api.QueryOptions{RequireConsistent: true})
		t.Logf("consistent read while full: %v after %s", err, time.Since(start).Round(time.Millisecond))
		if err == nil {
			rec.verify(t, kv, &api.QueryOptions{RequireConsistent: true}, "consistent, disk full")
		}
	}

	// 5. Free the space: writes should work again.
	if err := os.Remove(ns.path("filler")); err != nil {
		t.Fatal(err)
	}
	t.Logf("filler removed: %s", ns.usage(t))
	resumed := false
	if !exitedNow(p) {
		freed := time.Now()
		for j := 0; time.Since(freed) < 20*time.Second && !exitedNow(p); j++ {
			key := fmt.Sprintf("resume/%03d", j)
			d, err := rec.put(kv, key, []byte(key))
			if err == nil {
				t.Logf("writes resumed %s after the space was freed, without a restart", time.Since(freed).Round(time.Millisecond))
				resumed = true
				break
			}
			t.Logf("%s after freeing: write failed after %s: %v", time.Since(freed).Round(time.Millisecond), d.Round(time.Millisecond), err)
			time.Sleep(time.Second)
		}
		if !resumed {
			t.Fatalf("writes did not resume within 20s of freeing the space; %s", ns.usage(t))
		}
	}

	// 6. kill -9 and restart on the same tmpfs: everything acknowledged is
	// there, and writes work.
	p.kill()
	ns.checkNoServer(t, p)
	p = launch(t, n)
	outputs = append(outputs, p)
	p.waitReady()
	ns.checkIsServer(t, p)
	restarted := time.Now()
	var err error
	for j := 0; j < 30; j++ {
		key := fmt.Sprintf("restart/%03d", j)
		if _, err = rec.put(kv, key, []byte(key)); err == nil {
			break
		}
		t.Logf("write after restart failed: %v", err)
		time.Sleep(time.Second)
	}
	if err != nil {
		t.Fatalf("writes fail after the space was freed and the server restarted: %v", err)
	}
	t.Logf("writes work %s after the restart", time.Since(restarted).Round(time.Millisecond))
	// The log is usable again past its current segment: write until a new
	// one is created.
	segments := func() int { m, _ := filepath.Glob(ns.path("data/raft/wal/*.wal")); return len(m) }
	before0, j := segments(), 0
	for ; j < 200 && segments() == before0; j++ {
		key := fmt.Sprintf("big/%d", j%bigKeys)
		if d, err := rec.put(kv, key, bigValue(key, 1000+j, bigSize)); err != nil {
			t.Fatalf("write %d after the restart failed after %s: %v", j, d, err)
		}
	}
	if segments() == before0 {
		t.Fatalf("no new log segment after %d writes (~%d MiB) after the restart: %s", j, j*bigSize>>20, ns.usage(t))
	}
	t.Logf("%d more writes after the restart, the log went from %d to %d segments", j, before0, segments())
	rec.verify(t, kv, &api.QueryOptions{RequireConsistent: true}, "consistent, after restart")
	t.Logf("after the restart: %d acknowledged keys verified; %s", len(rec.acked), ns.usage(t))
}

// A follower's disk fills up: the leader keeps committing with the other
// follower, nothing acknowledged is lost, and the follower catches up once
// the space is freed.
func TestDiskFullFollower(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process, root-only (a tmpfs in a mount namespace of its own): runs in make test, as root")
	}
	ns := newTmpfsNS(t, 200)
	c := &cluster{t: t, procs: map[*node]*proc{}}
	for i := 0; i < 3; i++ {
		n := newNode(t)
		n.Name = fmt.Sprintf("s%d", i+1)
		n.Bind = fmt.Sprintf("127.0.0.%d", 10+i)
		n.DataDir = filepath.Join(t.TempDir(), "data")
		n.Expect = 3
		c.servers = append(c.servers, n)
	}
	full := c.servers[2]
	full.DataDir = filepath.Join(ns.dir, "data")
	full.Wrap = ns.wrap()
	for _, n := range c.servers {
		for _, s := range c.servers {
			if s != n {
				n.Join = append(n.Join, s.serfAddr())
			}
		}
	}
	var outputs []*proc
	defer func() { logServerLines(t, outputs) }()
	for _, n := range c.servers {
		c.procs[n] = launch(t, n)
		outputs = append(outputs, c.procs[n])
	}
	for _, n := range c.servers {
		c.procs[n].waitReady()
	}
	ns.checkIsServer(t, c.procs[full])
	leader := c.leader()
	if leader == full {
		// The full disk must be a follower's: move the leadership away.
		c.kill(full)
		leader = c.leader()
		c.restart(full)
		outputs = append(outputs, c.procs[full])
	}
	t.Logf("leader %s; the disk of %s fills up", leader.Name, full.Name)
	kv := longClient(t, leader).KV()
	rec := newKVRecord()
	const bigSize = 500 << 10
	write := func(i int) {
		t.Helper()
		key := fmt.Sprintf("big/%d", i%8)
		if d, err := rec.put(kv, key, bigValue(key, i, bigSize)); err != nil {
			t.Fatalf("write %d (%s) failed after %s: %v", i, key, d, err)
		}
		small := fmt.Sprintf("small/%03d", i)
		if d, err := rec.put(kv, small, []byte(small)); err != nil {
			t.Fatalf("write %d (%s) failed after %s: %v", i, small, d, err)
		}
	}
	for i := 0; i < 10; i++ {
		write(i)
	}
	waitFor(t, full.Name+" has the first writes", func() bool {
		p, _, err := full.client(t).KV().Get("small/009", &api.QueryOptions{AllowStale: true})
		return err == nil && p != nil
	})
	t.Logf("filler: %d MiB; %s", fillUp(t, ns.path("filler"), 0)>>20, ns.usage(t))

	// Enough writes to need more than the follower's segment: every one is
	// acknowledged by the leader and the other follower.
	start := time.Now()
	const writes = 160
	for i := 10; i < writes; i++ {
		write(i)
	}
	t.Logf("%d writes acknowledged with %s's disk full in %s; %s", writes-10, full.Name,
		time.Since(start).Round(time.Millisecond), ns.usage(t))
	if exitedNow(c.procs[full]) {
		t.Fatalf("%s exited on a full disk", full.Name)
	}
	if l := c.leader(); l != leader {
		t.Logf("leadership moved from %s to %s while %s's disk was full", leader.Name, l.Name, full.Name)
		leader = l
	}
	last := fmt.Sprintf("small/%03d", writes-1)
	behind := func() bool { return lacks(t, full, last) }
	waitFor(t, full.Name+" reports that it cannot store the log", func() bool {
		return strings.Contains(c.procs[full].out.String(), "failed to append to logs")
	})
	t.Logf("%s behind the leader while full: %v", full.Name, behind())
	for _, n := range c.followers(leader) {
		if n != full {
			waitFor(t, n.Name+" has every write", func() bool { return !lacks(t, n, last) })
		}
	}

	if err := os.Remove(ns.path("filler")); err != nil {
		t.Fatal(err)
	}
	freed := time.Now()
	caughtUp := false
	for time.Since(freed) < 20*time.Second {
		if !behind() {
			caughtUp = true
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !caughtUp {
		t.Fatalf("%s had not caught up 20s after the space was freed", full.Name)
	}
	t.Logf("%s caught up %s after the space was freed", full.Name, time.Since(freed).Round(time.Millisecond))
	rec.verify(t, full.client(t).KV(), &api.QueryOptions{AllowStale: true}, full.Name+", stale, after catching up")
	rec.verify(t, kv, &api.QueryOptions{RequireConsistent: true}, leader.Name+", consistent")
	t.Logf("%s", ns.usage(t))
}

// lacks reports whether n's local state lacks key.
func lacks(t *testing.T, n *node, key string) bool {
	p, _, err := n.client(t).KV().Get(key, &api.QueryOptions{AllowStale: true})
	return err != nil || p == nil
}

// tmpfsNS is a mount namespace, kept by a sleeping process, in which a
// size-limited tmpfs is mounted over dir (a directory that stays empty
// outside it).
type tmpfsNS struct {
	pid int
	dir string
}

func newTmpfsNS(t *testing.T, sizeMiB int) *tmpfsNS {
	t.Helper()
	// Not a skip: without root (CI runs as root) the requirement would go
	// untested while the run looked green.
	if os.Geteuid() != 0 {
		t.Fatal("needs root: a mount namespace with a tmpfs")
	}
	dir := t.TempDir()
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c",
		fmt.Sprintf("mount -t tmpfs -o size=%dm tmpfs %s && echo ready && exec sleep 3600", sizeMiB, dir))
	out := &testutil.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "ready\n") {
		select {
		case <-exited:
			t.Fatalf("mount namespace with a tmpfs: %s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("mount namespace not ready in 10s: %s", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return &tmpfsNS{pid: cmd.Process.Pid, dir: dir}
}

// wrap runs a command in the namespace. Without -p nsenter does not fork:
// it execs the command, so the pid launch starts is the server's own.
func (ns *tmpfsNS) wrap() []string {
	return []string{"nsenter", "-t", strconv.Itoa(ns.pid), "-m", "--"}
}

// path is rel inside the tmpfs, as the test process reaches it.
func (ns *tmpfsNS) path(rel string) string {
	return filepath.Join(fmt.Sprintf("/proc/%d/root", ns.pid), ns.dir, rel)
}

// checkIsServer checks that the pid launch started (and kill signals) is
// coredns-coord itself, in the namespace, not an nsenter parent.
func (ns *tmpfsNS) checkIsServer(t *testing.T, p *proc) {
	t.Helper()
	pid := p.cmd.Process.Pid
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil || filepath.Base(exe) != "coredns-coord" {
		t.Fatalf("pid %d is %q (%v), not coredns-coord", pid, exe, err)
	}
	mine, err1 := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", pid))
	holder, err2 := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", ns.pid))
	if err1 != nil || err2 != nil || mine != holder {
		t.Fatalf("coredns-coord in mount namespace %q, the tmpfs in %q (%v, %v)", mine, holder, err1, err2)
	}
}

// checkNoServer checks that no process of the namespace but the holder is
// left after p was killed.
func (ns *tmpfsNS) checkNoServer(t *testing.T, p *proc) {
	t.Helper()
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", p.cmd.Process.Pid)); err == nil {
		t.Fatalf("pid %d still exists after kill", p.cmd.Process.Pid)
	}
	holder, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", ns.pid))
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == ns.pid {
			continue
		}
		if m, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", pid)); m == holder {
			cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
			t.Fatalf("pid %d (%q) still runs in the namespace", pid, bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '}))
		}
	}
}

// usage describes the tmpfs: free space and the biggest files.
func (ns *tmpfsNS) usage(t *testing.T) string {
	var st syscall.Statfs_t
	if err := syscall.Statfs(ns.path(""), &st); err != nil {
		return err.Error()
	}
	type file struct {
		name string
		size int64
	}
	var files []file
	root := ns.path("")
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if info, err := d.Info(); err == nil {
			// Allocated bytes, not the apparent size.
			size := info.Size()
			if s, ok := info.Sys().(*syscall.Stat_t); ok {
				size = s.Blocks * 512
			}
			rel, _ := filepath.Rel(root, p)
			files = append(files, file{rel, size})
		}
		return nil
	})
	sort.Slice(files, func(i, j int) bool { return files[i].size > files[j].size })
	var b strings.Builder
	fmt.Fprintf(&b, "free %.1f MiB of %.1f MiB; %d files", float64(st.Bavail*uint64(st.Bsize))/(1<<20),
		float64(st.Blocks*uint64(st.Bsize))/(1<<20), len(files))
	for _, f := range files[:min(len(files), 6)] {
		fmt.Fprintf(&b, ", %s %.1f MiB", f.name, float64(f.size)/(1<<20))
	}
	return b.String()
}

// fillUp writes path until the file system is full (ENOSPC), then gives
// headroom bytes back, and returns the filler's size.
func fillUp(t *testing.T, path string, headroom int64) int64 {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := bytes.Repeat([]byte{0xa5}, 1<<20)
	var total int64
	for _, chunk := range []int{1 << 20, 4096} {
		for total < 4<<30 {
			n, err := f.Write(buf[:chunk])
			total += int64(n)
			if errors.Is(err, syscall.ENOSPC) {
				break
			}
			if err != nil {
				t.Fatalf("fill %s: %v", path, err)
			}
		}
	}
	if total >= 4<<30 {
		t.Fatalf("wrote 4 GiB to %s without filling it", path)
	}
	if headroom > 0 {
		total = max(0, total-headroom)
		if err := f.Truncate(total); err != nil {
			t.Fatal(err)
		}
	}
	return total
}

// kvRecord is what the test wrote: for each key the last acknowledged value
// and the values of the writes that failed since (an error does not say the
// write was not applied).
type kvRecord struct {
	acked   map[string][]byte
	pending map[string][][]byte
}

func newKVRecord() *kvRecord {
	return &kvRecord{acked: map[string][]byte{}, pending: map[string][][]byte{}}
}

func (r *kvRecord) put(kv *api.KV, key string, val []byte) (time.Duration, error) {
	start := time.Now()
	_, err := kv.Put(&api.KVPair{Key: key, Value: val}, nil)
	d := time.Since(start)
	if err != nil {
		r.pending[key] = append(r.pending[key], val)
		return d, err
	}
	r.acked[key] = val
	delete(r.pending, key)
	return d, nil
}

// verify reads every key written and fails the test for an acknowledged
// value that is not there (or a value nobody wrote).
func (r *kvRecord) verify(t *testing.T, kv *api.KV, q *api.QueryOptions, what string) {
	t.Helper()
	keys := map[string]bool{}
	for k := range r.acked {
		keys[k] = true
	}
	for k := range r.pending {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	lost, failedButApplied := 0, 0
	for _, k := range sorted {
		pair, _, err := kv.Get(k, q)
		if err != nil {
			t.Errorf("%s: read %s: %v", what, k, err)
			lost++
			continue
		}
		want, acked := r.acked[k]
		switch {
		case pair == nil && !acked:
		case pair == nil:
			t.Errorf("%s: acknowledged key %s is missing", what, k)
			lost++
		case acked && bytes.Equal(pair.Value, want):
		case containsValue(r.pending[k], pair.Value):
			failedButApplied++
			t.Logf("%s: %s holds the value of a write that was reported failed", what, k)
		case acked:
			t.Errorf("%s: acknowledged key %s holds %d bytes (%.40q), want %d bytes (%.40q)", what, k, len(pair.Value), pair.Value, len(want), want)
			lost++
		default:
			t.Errorf("%s: key %s, never acknowledged, holds a value nobody wrote: %.40q", what, k, pair.Value)
		}
	}
	t.Logf("%s: %d keys read, %d acknowledged values missing or wrong, %d failed writes applied anyway", what, len(sorted), lost, failedButApplied)
}

func containsValue(vals [][]byte, v []byte) bool {
	for _, w := range vals {
		if bytes.Equal(w, v) {
			return true
		}
	}
	return false
}

// bigValue is size bytes, unique to key and i.
func bigValue(key string, i, size int) []byte {
	b := make([]byte, 0, size)
	b = fmt.Appendf(b, "%s#%d|", key, i)
	r := rand.New(rand.NewPCG(uint64(i), 0x5eed))
	for len(b) < size {
		b = append(b, byte(r.Uint32()))
	}
	return b
}

// longClient is a consul client whose requests give up after a minute, so
// a hung write fails the test instead of hanging it.
func longClient(t *testing.T, n *node) *api.Client {
	t.Helper()
	c, err := api.NewClient(&api.Config{Address: fmt.Sprintf("127.0.0.1:%d", n.HTTP), HttpClient: &http.Client{Timeout: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func exitedNow(p *proc) bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// logServerLines logs the warnings and errors the servers printed, each
// distinct line (timestamps cut) once with its count.
func logServerLines(t *testing.T, procs []*proc) {
	for k, p := range procs {
		counts := map[string]int{}
		var order []string
		for _, line := range splitLines(p.out.String()) {
			l := strings.ToLower(line)
			if !strings.Contains(l, "error") && !strings.Contains(l, "warn") && !strings.Contains(l, "fail") &&
				!strings.Contains(l, "panic") && !strings.Contains(l, "snapshot") && !strings.Contains(l, "leader") {
				continue
			}
			key := line
			if i := strings.Index(line, " ["); i > 0 && i < 40 {
				key = line[i+1:] // drop the timestamp
			}
			if counts[key] == 0 {
				order = append(order, key)
			}
			counts[key]++
		}
		t.Logf("server run %d: %d distinct warning/error lines", k+1, len(order))
		for _, l := range order {
			t.Logf("  %dx %s", counts[l], l)
		}
	}
}
