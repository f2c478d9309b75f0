package gossip

import (
	"encoding/base64"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func newKey(t testing.TB) []byte {
	t.Helper()
	s, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	k, err := DecodeKey(s)
	if err != nil || len(k) != 32 {
		t.Fatalf("GenerateKey gave %q: %v", s, err)
	}
	return k
}

func keyOp(p *testPool, op KeyOp, key []byte) error {
	_, err := p.KeyOperation(op, key)
	return err
}

func b64(k []byte) string { return base64.StdEncoding.EncodeToString(k) }

func TestKeyRotation(t *testing.T) {
	t.Parallel()
	k1, k2 := newKey(t), newKey(t)
	file := filepath.Join(t.TempDir(), "serf", "local.keyring")
	ps := cluster(t, "k", 3, func(i int, c *Config) {
		c.Keyring = [][]byte{k1}
		if i == 2 {
			c.KeyringFile = file
		}
	})
	step := 0
	expect := func(what string, keys, primaries map[string]int) {
		t.Helper()
		from := ps[step%len(ps)]
		step++
		r, err := from.KeyOperation(KeyList, nil)
		if err != nil {
			t.Fatalf("%s: list from %s: %v", what, from.LocalNodeName(), err)
		}
		if r.NumNodes != 3 || r.NumResp != 3 || r.NumErr != 0 || !maps.Equal(r.Keys, keys) || !maps.Equal(r.PrimaryKeys, primaries) {
			t.Fatalf("%s: %+v, want keys %v primaries %v", what, r, keys, primaries)
		}
	}
	expect("start", map[string]int{b64(k1): 3}, map[string]int{b64(k1): 3})

	if err := keyOp(ps[0], KeyInstall, k2); err != nil {
		t.Fatal(err)
	}
	expect("after install", map[string]int{b64(k1): 3, b64(k2): 3}, map[string]int{b64(k1): 3})

	if err := keyOp(ps[1], KeyUse, k2); err != nil {
		t.Fatal(err)
	}
	expect("after use", map[string]int{b64(k1): 3, b64(k2): 3}, map[string]int{b64(k2): 3})

	if err := keyOp(ps[1], KeyRemove, k2); err == nil || !strings.Contains(err.Error(), "primary") {
		t.Fatalf("removing the primary key: %v", err)
	}
	if err := keyOp(ps[2], KeyRemove, k1); err != nil {
		t.Fatal(err)
	}
	expect("after remove", map[string]int{b64(k2): 3}, map[string]int{b64(k2): 3})

	for _, p := range ps {
		for _, q := range ps {
			if n := p.rec.count(EventFailed, q.LocalNodeName()); n != 0 {
				t.Errorf("%s saw %s fail during the rotation", p.LocalNodeName(), q.LocalNodeName())
			}
		}
	}
	if keys, err := loadKeyringFile(file); err != nil || !slices.EqualFunc(keys, [][]byte{k2}, slices.Equal) {
		t.Fatalf("keyring file has %v (%v)", keys, err)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("keyring file mode: %v %v", fi, err)
	}

	// k2 restarts with its original configuration (the old key) and its
	// keyring file: it gets the rotated keyring and rejoins.
	if err := ps[2].Leave(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	ps[2].Shutdown()
	waitFor(t, 5*time.Second, "k2 left", func() bool { s, _ := statusOf(ps[0].Pool, "k2"); return s == StatusLeft })

	stale := newPool(t, "k2", func(c *Config) { c.Keyring = [][]byte{k1} })
	if n, err := stale.Join([]string{ps[0].addr()}); err == nil || n != 0 {
		t.Fatalf("a member with only the removed key joined: n=%d", n)
	} else {
		t.Logf("old key refused: %v", err)
	}
	stale.Shutdown()

	restarted := newPool(t, "k2", func(c *Config) {
		c.Keyring = [][]byte{k1}
		c.KeyringFile = file
	})
	if _, err := restarted.Join([]string{ps[0].addr()}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "k2 back", func() bool {
		s0, _ := statusOf(ps[0].Pool, "k2")
		s1, _ := statusOf(ps[1].Pool, "k2")
		return s0 == StatusAlive && s1 == StatusAlive && aliveCount(restarted.Pool) == 3
	})
	ps[2] = restarted
	expect("after restart", map[string]int{b64(k2): 3}, map[string]int{b64(k2): 3})
}

func TestEncryptionRefusals(t *testing.T) {
	k1, k2 := newKey(t), newKey(t)
	enc := cluster(t, "enc", 2, func(i int, c *Config) { c.Keyring = [][]byte{k1} })

	wrong := newPool(t, "wrongkey", func(c *Config) { c.Keyring = [][]byte{k2} })
	n, err := wrong.Join([]string{enc[0].addr()})
	if err == nil || n != 0 || !strings.Contains(err.Error(), "key") {
		t.Fatalf("join with the wrong key: n=%d err=%v", n, err)
	}
	t.Logf("wrong key: %v", err)

	plain := newPool(t, "nokey", nil)
	n, err = plain.Join([]string{enc[0].addr()})
	if err == nil || n != 0 || !strings.Contains(err.Error(), "encryption") {
		t.Fatalf("join without a key: n=%d err=%v", n, err)
	}
	t.Logf("no key into an encrypted pool: %v", err)

	n, err = enc[1].Join([]string{plain.addr()})
	if err == nil || n != 0 || !strings.Contains(err.Error(), "encryption") {
		t.Fatalf("join of an encrypted member into a plain pool: n=%d err=%v", n, err)
	}
	t.Logf("key into a plain pool: %v", err)

	for _, p := range enc {
		if len(p.Members()) != 2 {
			t.Fatalf("%s: %v", p.LocalNodeName(), p.Members())
		}
	}
	if _, err := plain.KeyOperation(KeyList, nil); !errors.Is(err, ErrNoEncryption) {
		t.Fatalf("ListKeys without encryption: %v", err)
	}
	if err := keyOp(enc[0], KeyInstall, []byte("short")); err == nil {
		t.Fatal("installed a 5-byte key")
	}
	if err := keyOp(enc[0], KeyUse, k2); err == nil {
		t.Fatal("used a key that is not installed")
	}
}

func TestKeyringFile(t *testing.T) {
	k1, k2 := newKey(t), newKey(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "keyring")
	if err := saveKeyringFile(path, [][]byte{k2, k1}); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if !strings.Contains(string(data), b64(k2)) || strings.Index(string(data), b64(k2)) > strings.Index(string(data), b64(k1)) {
		t.Fatalf("file: %s", data)
	}
	// The file wins over the configured key.
	p := newPool(t, "kf", func(c *Config) { c.Keyring = [][]byte{k1}; c.KeyringFile = path })
	if got := p.keyring.GetPrimaryKey(); !slices.Equal(got, k2) {
		t.Fatal("the keyring file was not used")
	}
	// A missing file is created from the configured keys.
	path2 := filepath.Join(dir, "sub", "new.keyring")
	newPool(t, "kf2", func(c *Config) { c.Keyring = [][]byte{k1}; c.KeyringFile = path2 })
	if keys, err := loadKeyringFile(path2); err != nil || len(keys) != 1 || !slices.Equal(keys[0], k1) {
		t.Fatalf("created file: %v %v", keys, err)
	}
	// A corrupt file is an error, not a silent fallback.
	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte(`["not base64!"]`), 0o600)
	if _, err := tryPool(t, "kf3", func(c *Config) { c.KeyringFile = bad }); err == nil {
		t.Fatal("started with a corrupt keyring file")
	}
	if _, err := tryPool(t, "kf4", func(c *Config) { c.Keyring = [][]byte{[]byte("short")} }); err == nil {
		t.Fatal("started with a bad key")
	}
	if _, err := DecodeKey("aGVsbG8="); err == nil {
		t.Fatal("decoded a 5-byte key")
	}
}

// serf rewrites the keyring file in place; a crash in that instant leaves
// part of it. The pool keeps a good copy and starts from it.
func TestKeyringFileDamagedByACrash(t *testing.T) {
	k1, k2 := newKey(t), newKey(t)
	path := filepath.Join(t.TempDir(), "serf", "local.keyring")
	p := newPool(t, "kc", func(c *Config) { c.Keyring = [][]byte{k1}; c.KeyringFile = path })
	if err := keyOp(p, KeyInstall, k2); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the good copy to hold both keys", func() bool {
		keys, err := loadKeyringFile(goodCopyPath(path))
		return err == nil && len(keys) == 2
	})
	if err := p.Shutdown(); err != nil {
		t.Fatal(err)
	}

	for name, damage := range map[string][]byte{"half": []byte(`["` + b64(k1)[:10]), "empty": nil} {
		if err := os.WriteFile(path, damage, 0o600); err != nil {
			t.Fatal(err)
		}
		again := newPool(t, "kc-"+name, func(c *Config) { c.KeyringFile = path })
		if got := again.keyring.GetKeys(); len(got) != 2 || !slices.Equal(got[0], k1) || !slices.Equal(got[1], k2) {
			t.Fatalf("%s file: started with %d keys, want k1 (primary) and k2", name, len(got))
		}
		if keys, err := loadKeyringFile(path); err != nil || len(keys) != 2 {
			t.Fatalf("%s file not rewritten whole: %v %v", name, keys, err)
		}
		again.Shutdown()
	}

	// Without a good copy a damaged file still stops the start.
	os.Remove(goodCopyPath(path))
	os.WriteFile(path, []byte(`["`), 0o600)
	if _, err := tryPool(t, "kc-nocopy", func(c *Config) { c.KeyringFile = path }); err == nil {
		t.Fatal("started from a damaged keyring file with no good copy")
	}
}
