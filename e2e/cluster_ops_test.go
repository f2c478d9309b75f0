package e2e

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/coredns-coord/coredns-coord/gossip"
)

// Snapshot save on one cluster and restore into a fresh one gives the same
// KV and catalog; a corrupt archive is refused and changes nothing.
func TestClusterSnapshotSaveRestore(t *testing.T) {
	multiProcess(t)
	a := newCluster(t, 3, 1, "")
	ac := a.clients[0].client(t)
	for i := 0; i < 50; i++ {
		if _, err := ac.KV().Put(&api.KVPair{Key: fmt.Sprintf("app/%02d", i), Value: []byte(fmt.Sprint(i)), Flags: uint64(i)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	registerService(t, ac, "ext", 5, "blue")
	snap, meta, err := a.servers[1].client(t).Snapshot().Save(nil)
	if err != nil {
		t.Fatal(err)
	}
	archive, err := io.ReadAll(snap)
	snap.Close()
	if err != nil || meta.LastIndex == 0 {
		t.Fatalf("save: %d bytes, index %d, %v", len(archive), meta.LastIndex, err)
	}

	b := newCluster(t, 1, 1, "")
	bc := b.clients[0].client(t)
	if _, err := bc.KV().Put(&api.KVPair{Key: "only-in-b", Value: []byte("x")}, nil); err != nil {
		t.Fatal(err)
	}
	corrupt := bytes.Clone(archive)
	corrupt[len(corrupt)/2] ^= 0xff
	if err := bc.Snapshot().Restore(nil, bytes.NewReader(corrupt)); err == nil || !strings.Contains(err.Error(), "400") {
		t.Fatalf("restore of a corrupt archive: %v", err)
	}
	if p, _, _ := bc.KV().Get("only-in-b", nil); p == nil {
		t.Fatal("a refused restore changed the state")
	}
	if err := bc.Snapshot().Restore(nil, bytes.NewReader(archive)); err != nil {
		t.Fatal(err)
	}
	// Every agent of the new cluster, client included, has A's KV and
	// external services; B's own key is gone.
	want, _, err := ac.KV().List("app/", &api.QueryOptions{RequireConsistent: true})
	if err != nil || len(want) != 50 {
		t.Fatalf("source KV: %d, %v", len(want), err)
	}
	for _, n := range b.all() {
		got, _, err := n.client(t).KV().List("", &api.QueryOptions{RequireConsistent: true})
		if err != nil || len(got) != len(want) {
			t.Fatalf("%s after restore: %d keys, %v", n.Name, len(got), err)
		}
		for i := range want {
			if got[i].Key != want[i].Key || !bytes.Equal(got[i].Value, want[i].Value) || got[i].Flags != want[i].Flags {
				t.Fatalf("%s key %d = %+v, want %+v", n.Name, i, got[i], want[i])
			}
		}
		waitFor(t, n.Name+" answers ext from the restored catalog", func() bool {
			return len(dnsA(t, n, "blue.ext.service.consul.")) == 5
		})
	}
	// The restored cluster keeps working: its own agents are back in the
	// catalog (the leader re-registers members) and writes go through.
	waitFor(t, "B's nodes re-registered", func() bool { return serfStatus(t, b.servers[0], b.clients[0].Name) == api.HealthPassing })
	if _, err := bc.KV().Put(&api.KVPair{Key: "after", Value: []byte("y")}, nil); err != nil {
		t.Fatal(err)
	}
}

// Gossip key rotation on a running encrypted cluster: install, use, remove,
// with no member ever seen failed; an agent with another key, another
// datacenter or a taken name is refused with a clear log line.
func TestClusterKeyRotationAndRefusals(t *testing.T) {
	multiProcess(t)
	k1, _ := gossip.GenerateKey()
	k2, _ := gossip.GenerateKey()
	c := newCluster(t, 3, 1, "encrypt "+k1)

	var flapped atomic.Value
	stop := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			select {
			case <-stop:
				return
			default:
			}
			for _, n := range c.all() {
				for name, st := range members(t, n) {
					if st != 1 {
						flapped.Store(fmt.Sprintf("%s saw %s in status %d", n.Name, name, st))
					}
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	op := c.clients[0].client(t).Operator()
	steps := []struct {
		what string
		do   func() error
	}{
		{"install", func() error { return op.KeyringInstall(k2, nil) }},
		{"use", func() error { return op.KeyringUse(k2, nil) }},
		{"remove", func() error { return op.KeyringRemove(k1, nil) }},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.what, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	list, err := op.KeyringList(nil)
	if err != nil || len(list) != 1 || len(list[0].Keys) != 1 || list[0].Keys[k2] != 4 || list[0].NumNodes != 4 {
		t.Fatalf("keyring after rotation: %+v, %v", list, err)
	}
	close(stop)
	<-watched
	if f := flapped.Load(); f != nil {
		t.Fatalf("a member was not alive during the rotation: %v", f)
	}
	// Writes and DNS still work under the new key.
	if _, err := c.clients[0].client(t).KV().Put(&api.KVPair{Key: "rotated", Value: []byte("1")}, nil); err != nil {
		t.Fatal(err)
	}

	refused := func(what, extra, name, wantLog string) {
		t.Helper()
		n := newNode(t)
		n.Name, n.Bind, n.Client = name, "127.0.0.40", true
		n.DataDir = filepath.Join(t.TempDir(), "data")
		n.Join = []string{c.servers[0].serfAddr()}
		n.Extra = extra
		p := launch(t, n)
		waitFor(t, what+" refusal logged", func() bool { return strings.Contains(p.out.String(), wantLog) })
		p.kill()
		for name := range members(t, c.servers[0]) {
			if name == n.Name && n.Name != "c1" {
				t.Fatalf("%s: %s became a member", what, n.Name)
			}
		}
	}
	refused("wrong key", "encrypt "+k1, "intruder", "gossip encryption")
	refused("no key", "", "plain", "encryption is configured on one side only")
	refused("other datacenter", "encrypt "+k2+"\n        datacenter dc2", "remote", "another datacenter")
	refused("taken name", "encrypt "+k2, "c1", "is already in use")
	if st := members(t, c.servers[0])["c1"]; st != 1 {
		t.Fatalf("the real c1 is %d after an impostor tried its name", st)
	}
}

// A corrupt Raft snapshot on disk is detected when the server restarts:
// the server reports it and recovers from an older snapshot and the log,
// or, with nothing sound to load, refuses to start; it never serves a
// state loaded from the corrupt file.
func TestCorruptRaftSnapshotDetected(t *testing.T) {
	multiProcess(t)
	n := newNode(t)
	n.DataDir = filepath.Join(t.TempDir(), "data")
	n.Extra = "snapshot_threshold 16\n        snapshot_interval 100ms"
	p := start(t, n)
	kv := n.client(t).KV()
	write := func(from, to int) {
		for i := from; i < to; i++ {
			if _, err := kv.Put(&api.KVPair{Key: fmt.Sprintf("k/%03d", i), Value: []byte(fmt.Sprint(i))}, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Complete snapshots (raft writes into a .tmp directory and renames
	// it), oldest first: names are term-index-millis, compared as numbers.
	snapshots := func() []string {
		m, _ := filepath.Glob(filepath.Join(n.DataDir, "raft", "snapshots", "*", "state.bin"))
		m = slices.DeleteFunc(m, func(p string) bool { return strings.HasSuffix(filepath.Dir(p), ".tmp") })
		slices.SortFunc(m, func(a, b string) int { return slices.Compare(snapshotOrder(a), snapshotOrder(b)) })
		return m
	}
	write(0, 40)
	waitFor(t, "a first snapshot", func() bool { return len(snapshots()) >= 1 })
	write(40, 80)
	waitFor(t, "a second snapshot", func() bool { return len(snapshots()) >= 2 })
	p.kill()

	// Flip a byte in the middle of the newest snapshot.
	snaps := snapshots()
	newest := snaps[len(snaps)-1]
	b, err := os.ReadFile(newest)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(newest, b, 0o600); err != nil {
		t.Fatal(err)
	}
	p = launch(t, n)
	waitFor(t, "the corruption reported", func() bool {
		out := strings.ToLower(p.out.String())
		return strings.Contains(out, "crc") || strings.Contains(out, "checksum") || strings.Contains(out, "corrupt")
	})
	p.waitReady()
	keys, _, err := kv.Keys("k/", "", &api.QueryOptions{RequireConsistent: true})
	if err != nil || len(keys) != 80 {
		t.Fatalf("after recovering from the older snapshot: %d keys, %v", len(keys), err)
	}

	// Corrupt every snapshot: nothing sound to start from, so it refuses.
	p.kill()
	for _, s := range snapshots() {
		b, err := os.ReadFile(s)
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)/3] ^= 0xff // not len/2: that would undo the first flip
		os.WriteFile(s, b, 0o600)
	}
	p = launch(t, n)
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		t.Fatal("the server started from corrupt snapshots")
	}
	if out := p.out.String(); !strings.Contains(out, "snapshot") {
		t.Fatalf("exit without a word about the snapshots:\n%s", out)
	}
}

// snapshotOrder is a raft snapshot directory's term, index and time.
func snapshotOrder(stateFile string) []uint64 {
	var order []uint64
	for _, f := range strings.Split(filepath.Base(filepath.Dir(stateFile)), "-") {
		v, _ := strconv.ParseUint(f, 10, 64)
		order = append(order, v)
	}
	return order
}

// The Raft log's tail on restart: a write a crash cut short is discarded
// and reported (nothing acknowledged is lost); an entry damaged on disk
// stops the server with a message instead of being loaded.
func TestDamagedRaftLogDetected(t *testing.T) {
	multiProcess(t)
	n := newNode(t)
	n.DataDir = filepath.Join(t.TempDir(), "data")
	p := start(t, n)
	kv := n.client(t).KV()
	for i := range 20 {
		if _, err := kv.Put(&api.KVPair{Key: fmt.Sprintf("k/%02d", i), Value: []byte(fmt.Sprintf("value-%02d", i))}, nil); err != nil {
			t.Fatal(err)
		}
	}
	p.kill()
	segs, _ := filepath.Glob(filepath.Join(n.DataDir, "raft", "wal", "*.wal"))
	if len(segs) != 1 {
		t.Fatalf("wal segments: %v", segs)
	}
	rewrite := func(fn func(b []byte)) {
		t.Helper()
		b, err := os.ReadFile(segs[0])
		if err != nil {
			t.Fatal(err)
		}
		fn(b)
		if err := os.WriteFile(segs[0], b, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	// A crash in the middle of the next write: the header of an entry
	// frame and a few bytes of it reached the disk, no commit frame.
	rewrite(func(b []byte) {
		end := len(b) - 1
		for end >= 0 && b[end] == 0 {
			end--
		}
		end = (end + 8) &^ 7
		copy(b[end:], []byte{1, 0, 0, 0, 200, 0, 0, 0, 't', 'o', 'r', 'n'})
	})
	p = start(t, n)
	if out := p.out.String(); !strings.Contains(out, "discarding an unfinished write") || !strings.Contains(out, "no commit frame") {
		t.Fatalf("torn tail not reported:\n%s", out)
	}
	pairs, _, err := kv.List("k/", &api.QueryOptions{RequireConsistent: true})
	if err != nil || len(pairs) != 20 {
		t.Fatalf("after the torn tail: %d keys, %v", len(pairs), err)
	}
	for i, kp := range pairs {
		if string(kp.Value) != fmt.Sprintf("value-%02d", i) {
			t.Fatalf("%s = %q", kp.Key, kp.Value)
		}
	}
	if _, err := kv.Put(&api.KVPair{Key: "after", Value: []byte("1")}, nil); err != nil {
		t.Fatalf("write after the torn tail: %v", err)
	}
	p.kill()

	// A bit flipped in an acknowledged entry: refuse to start.
	rewrite(func(b []byte) {
		i := bytes.Index(b, []byte(`"k/07"`))
		if i < 0 {
			t.Fatal("k/07 not in the log")
		}
		b[i+4] ^= 0x01
	})
	p = launch(t, n)
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		t.Fatal("the server started on a damaged log")
	}
	out := p.out.String()
	if !strings.Contains(out, "is damaged") || !strings.Contains(out, "fails its checksum") {
		t.Fatalf("exit without a word about the log:\n%s", out)
	}
	for _, l := range splitLines(out) {
		if strings.Contains(l, "is damaged") {
			t.Log(l)
		}
	}
}
