package cli

import (
	"encoding/base64"
	"slices"
	"strings"
	"testing"

	"github.com/coredns-coord/coredns-coord/gossip"
	"github.com/coredns-coord/coredns-coord/internal/testagent"
)

func TestKeygen(t *testing.T) {
	var ta *testAgent // keygen needs no agent
	seen := map[string]bool{}
	for range 2 {
		r := ta.cli(t, "keygen")
		expectCode(t, r, exitOK)
		key := strings.TrimSuffix(r.stdout, "\n")
		if raw, err := base64.StdEncoding.DecodeString(key); err != nil || len(raw) != 32 || key+"\n" != r.stdout {
			t.Fatalf("keygen printed %q: want one base64 32-byte key and a newline (%v)", r.stdout, err)
		}
		if _, err := gossip.DecodeKey(key); err != nil {
			t.Fatalf("keygen key refused by the agent's decoder: %v", err)
		}
		if seen[key] {
			t.Fatalf("keygen printed %q twice", key)
		}
		seen[key] = true
	}
	r := ta.cli(t, "keygen", "extra")
	expectCode(t, r, exitUsage)
	r = ta.cli(t, "keygen", "-h")
	expectCode(t, r, exitOK)
	if !strings.Contains(r.stderr, "Usage: coredns-coord keygen") {
		t.Errorf("keygen -h: stderr %q", r.stderr)
	}
}

func newKey(t *testing.T) string {
	t.Helper()
	k, err := gossip.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestKeyringWithoutEncryption(t *testing.T) {
	t.Parallel()
	ta := startAgent(t)
	r := ta.cli(t, "keyring", "-list")
	expectCode(t, r, exitFail)
	if r.stdout != "==> Gathering installed encryption keys...\n" || !strings.Contains(r.stderr, "400") || !strings.Contains(r.stderr, "encryption is not enabled") {
		t.Errorf("-list: stdout %q stderr %q", r.stdout, r.stderr)
	}
	r = ta.cli(t, "keyring", "-install", newKey(t))
	expectCode(t, r, exitFail)
	if r.stdout != "==> Installing new gossip encryption key...\n" || !strings.Contains(r.stderr, "400") || !strings.Contains(r.stderr, "encryption is not enabled") {
		t.Errorf("-install: stdout %q stderr %q", r.stdout, r.stderr)
	}
}

func TestKeyringRotation(t *testing.T) {
	t.Parallel()
	key1, key2 := newKey(t), newKey(t)
	cfg := testagent.DevConfig(t, "cli-keys", "127.0.0.1:0")
	cfg.Encrypt = key1
	ta := startAgentConfig(t, cfg)

	list := func(flag string, keys ...string) {
		t.Helper()
		r := ta.cli(t, "keyring", flag)
		expectCode(t, r, exitOK)
		what := "installed"
		if flag == "-list-primary" {
			what = "primary"
		}
		slices.Sort(keys)
		want := "==> Gathering " + what + " encryption keys...\n\ndc1 (LAN):\n"
		for _, k := range keys {
			want += "  " + k + " [1/1]\n"
		}
		if r.stdout != want {
			t.Fatalf("keyring %s printed\n%s\nwant\n%s", flag, r.stdout, want)
		}
	}
	change := func(flag, key, banner string, code int) result {
		t.Helper()
		r := ta.cli(t, "keyring", flag, key)
		expectCode(t, r, code)
		if r.stdout != banner+"\n" {
			t.Fatalf("keyring %s: stdout %q, want %q", flag, r.stdout, banner)
		}
		return r
	}
	const (
		installing = "==> Installing new gossip encryption key..."
		changing   = "==> Changing primary gossip encryption key..."
		removing   = "==> Removing gossip encryption key..."
	)

	list("-list", key1)
	list("-list-primary", key1)
	change("-install", key2, installing, exitOK)
	list("-list", key1, key2)
	list("-list-primary", key1)
	change("-use", key2, changing, exitOK)
	list("-list-primary", key2)

	// The primary key cannot be removed; the agent says why.
	r := change("-remove", key2, removing, exitFail)
	if !strings.Contains(r.stderr, "primary") {
		t.Errorf("remove primary: stderr %q", r.stderr)
	}
	change("-remove", key1, removing, exitOK)
	list("-list", key2)

	// A key that is not one: the agent's 400.
	r = change("-install", "not-a-key", installing, exitFail)
	if !strings.Contains(r.stderr, "400") {
		t.Errorf("install bad key: stderr %q", r.stderr)
	}
	r = change("-use", key1, changing, exitFail) // no longer installed
	if r.stderr == "" {
		t.Errorf("use removed key: no error message")
	}
	list("-list", key2)

	for _, args := range [][]string{
		{},
		{"-list", "-list-primary"},
		{"-list", "-install", key1},
		{"-install", key1, "-remove", key2},
		{"-install", ""},
		{"-list", "-relay-factor", "6"},
		{"-list", "extra"},
	} {
		r := ta.cli(t, append([]string{"keyring"}, args...)...)
		expectCode(t, r, exitUsage)
		if r.stdout != "" || !strings.Contains(r.stderr, "Error!") {
			t.Errorf("keyring %v: stdout %q stderr %q", args, r.stdout, r.stderr)
		}
	}
	list("-list", key2)
	r = ta.cli(t, "keyring", "-list", "-relay-factor", "2")
	expectCode(t, r, exitOK)
}
