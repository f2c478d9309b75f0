package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestRunLeavesCoreDNSFlagsAlone(t *testing.T) {
	for _, args := range [][]string{nil, {}, {"-conf", "Corefile"}, {"-plugins"}, {"-dns.port", "53"}} {
		handled, _ := Run(args, os.Stdout, os.Stderr)
		if handled {
			t.Errorf("Run(%q) handled it; want it left to CoreDNS", args)
		}
	}
}

func TestKVUsageErrors(t *testing.T) {
	var ta *testAgent // no agent: none of these may reach one
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"kv"}, exitUsage, "Usage: coredns-coord kv"},
		{[]string{"kv", "frobnicate"}, exitUsage, "Unknown kv subcommand"},
		{[]string{"kv", "get"}, exitUsage, "Missing KEY argument"},
		{[]string{"kv", "get", "a", "b"}, exitUsage, "Too many arguments"},
		{[]string{"kv", "get", "-nosuchflag", "a"}, exitUsage, "flag provided but not defined"},
		{[]string{"kv", "put"}, exitUsage, "Missing KEY argument"},
		{[]string{"kv", "put", "a", "b", "c"}, exitUsage, "Too many arguments"},
		{[]string{"kv", "put", "-cas", "a", "b"}, exitUsage, "-modify-index"},
		{[]string{"kv", "put", "-modify-index", "3", "a", "b"}, exitUsage, "without -cas"},
		{[]string{"kv", "put", "-acquire", "a"}, exitUsage, "Missing -session"},
		{[]string{"kv", "put", "-flags", "x", "a"}, exitUsage, "invalid value"},
		{[]string{"kv", "delete"}, exitUsage, "Missing KEY argument"},
		{[]string{"kv", "delete", "-cas", "a"}, exitUsage, "-modify-index"},
		{[]string{"kv", "delete", "-cas", "-modify-index", "2", "-recurse", "a"}, exitUsage, "both -cas and -recurse"},
		{[]string{"kv", "export", "a", "b"}, exitUsage, "Too many arguments"},
		{[]string{"kv", "import", "a", "b"}, exitUsage, "Too many arguments"},
		{[]string{"kv", "get", "-h"}, exitOK, "Usage: coredns-coord kv get"},
	} {
		r := ta.cli(t, tc.args...)
		if !r.handled || r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%q: handled %v, code %d, stderr %q; want code %d and %q", tc.args, r.handled, r.code, r.stderr, tc.code, tc.want)
		}
	}
}

func TestKVUnreachableAgent(t *testing.T) {
	var none *testAgent
	r := none.cli(t, "kv", "get", "-http-addr", "127.0.0.1:1", "a")
	if r.code != exitFail || !strings.Contains(r.stderr, "127.0.0.1:1") {
		t.Fatalf("code %d, stderr %q; want 1 and the address", r.code, r.stderr)
	}
}

func TestKVPutGetDelete(t *testing.T) {
	t.Parallel()
	ta := startAgent(t)

	r := ta.cli(t, "kv", "put", "app/config", "max_conns=100")
	expectCode(t, r, exitOK)
	if r.stdout != "Success! Data written to: app/config\n" {
		t.Fatalf("put output %q", r.stdout)
	}
	r = ta.cli(t, "kv", "get", "app/config")
	expectCode(t, r, exitOK)
	if r.stdout != "max_conns=100\n" {
		t.Fatalf("get output %q", r.stdout)
	}
	// A leading slash is tolerated, as by Consul's CLI.
	if r = ta.cli(t, "kv", "get", "/app/config"); r.stdout != "max_conns=100\n" {
		t.Fatalf("get /app/config: %q", r.stdout)
	}
	if r = ta.cli(t, "kv", "get", "-base64", "app/config"); r.stdout != "bWF4X2Nvbm5zPTEwMA==\n" {
		t.Fatalf("get -base64: %q", r.stdout)
	}

	// Flags and -detailed.
	expectCode(t, ta.cli(t, "kv", "put", "-flags", "42", "app/flagged", "x"), exitOK)
	r = ta.cli(t, "kv", "get", "-detailed", "app/flagged")
	expectCode(t, r, exitOK)
	for _, want := range []string{"CreateIndex", "Flags            42", "Key              app/flagged", "LockIndex        0", "ModifyIndex", "Session          -", "Value            x"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("-detailed output lacks %q:\n%s", want, r.stdout)
		}
	}

	// Empty value: written, read back as an empty line.
	expectCode(t, ta.cli(t, "kv", "put", "app/empty"), exitOK)
	if r = ta.cli(t, "kv", "get", "app/empty"); r.code != 0 || r.stdout != "\n" {
		t.Fatalf("empty value: code %d output %q", r.code, r.stdout)
	}

	// Value from stdin and from a file; -base64 input.
	expectCode(t, ta.cliIn(t, context.Background(), "from stdin\n", "kv", "put", "app/stdin", "-"), exitOK)
	if v := ta.get(t, "app/stdin"); v != "from stdin\n" {
		t.Fatalf("stdin value %q", v)
	}
	file := filepath.Join(t.TempDir(), "v.txt")
	if err := os.WriteFile(file, []byte("from a file"), 0o600); err != nil {
		t.Fatal(err)
	}
	expectCode(t, ta.cli(t, "kv", "put", "app/file", "@"+file), exitOK)
	if v := ta.get(t, "app/file"); v != "from a file" {
		t.Fatalf("file value %q", v)
	}
	expectCode(t, ta.cli(t, "kv", "put", "-base64", "app/b64", "aGVsbG8="), exitOK)
	if v := ta.get(t, "app/b64"); v != "hello" {
		t.Fatalf("base64 value %q", v)
	}
	if r = ta.cli(t, "kv", "put", "app/nofile", "@"+file+".missing"); r.code != exitFail || !strings.Contains(r.stderr, "cannot read file") {
		t.Fatalf("missing file: code %d stderr %q", r.code, r.stderr)
	}

	// -recurse and -keys.
	r = ta.cli(t, "kv", "get", "-recurse", "app/")
	expectCode(t, r, exitOK)
	for _, want := range []string{"app/config:max_conns=100\n", "app/flagged:x\n", "app/b64:hello\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("-recurse output lacks %q:\n%s", want, r.stdout)
		}
	}
	expectCode(t, ta.cli(t, "kv", "put", "app/sub/deep", "1"), exitOK)
	r = ta.cli(t, "kv", "get", "-keys", "app/")
	expectCode(t, r, exitOK)
	if !strings.Contains(r.stdout, "app/sub/\n") || strings.Contains(r.stdout, "app/sub/deep") {
		t.Errorf("-keys with the default separator should fold app/sub/:\n%s", r.stdout)
	}
	r = ta.cli(t, "kv", "get", "-keys", "-separator=", "app/")
	if !strings.Contains(r.stdout, "app/sub/deep\n") {
		t.Errorf("-keys -separator= should list every key:\n%s", r.stdout)
	}

	// Missing key.
	r = ta.cli(t, "kv", "get", "app/nope")
	if r.code != exitFail || !strings.Contains(r.stderr, "No key exists at: app/nope") {
		t.Fatalf("missing key: code %d stderr %q", r.code, r.stderr)
	}

	// Check-and-set.
	idx := ta.modifyIndex(t, "app/config")
	r = ta.cli(t, "kv", "put", "-cas", "-modify-index", strconv.FormatUint(idx+100, 10), "app/config", "stale")
	if r.code != exitFail || !strings.Contains(r.stderr, "CAS failed") {
		t.Fatalf("CAS with a wrong index: code %d stderr %q", r.code, r.stderr)
	}
	expectCode(t, ta.cli(t, "kv", "put", "-cas", "-modify-index", strconv.FormatUint(idx, 10), "app/config", "fresh"), exitOK)
	if v := ta.get(t, "app/config"); v != "fresh" {
		t.Fatalf("after CAS: %q", v)
	}
	// -modify-index 0: create only.
	if r = ta.cli(t, "kv", "put", "-cas", "-modify-index", "0", "app/config", "again"); r.code != exitFail {
		t.Fatalf("create-only CAS over an existing key: code %d", r.code)
	}
	expectCode(t, ta.cli(t, "kv", "put", "-cas", "-modify-index", "0", "app/created", "new"), exitOK)

	// Delete: CAS, plain, recursive.
	idx = ta.modifyIndex(t, "app/config")
	r = ta.cli(t, "kv", "delete", "-cas", "-modify-index", strconv.FormatUint(idx+100, 10), "app/config")
	if r.code != exitFail || !strings.Contains(r.stderr, "CAS failed") {
		t.Fatalf("delete CAS with a wrong index: code %d stderr %q", r.code, r.stderr)
	}
	r = ta.cli(t, "kv", "delete", "-cas", "-modify-index", strconv.FormatUint(idx, 10), "app/config")
	expectCode(t, r, exitOK)
	if r.stdout != "Success! Deleted key: app/config\n" {
		t.Fatalf("delete output %q", r.stdout)
	}
	expectCode(t, ta.cli(t, "kv", "delete", "app/flagged"), exitOK)
	if ta.exists(t, "app/config") || ta.exists(t, "app/flagged") {
		t.Fatal("deleted keys still exist")
	}
	expectCode(t, ta.cli(t, "kv", "delete", "app/never-existed"), exitOK)
	r = ta.cli(t, "kv", "delete", "-recurse", "app/")
	expectCode(t, r, exitOK)
	if r.stdout != "Success! Deleted keys with prefix: app/\n" {
		t.Fatalf("delete -recurse output %q", r.stdout)
	}
	if r = ta.cli(t, "kv", "get", "-recurse", "app/"); r.code != 0 || r.stdout != "" {
		t.Fatalf("after delete -recurse: code %d output %q", r.code, r.stdout)
	}
}

func TestKVExportImport(t *testing.T) {
	t.Parallel()
	ta := startAgent(t)
	values := map[string]string{
		"cfg/a":     "alpha",
		"cfg/b/c":   "line1\nline2",
		"cfg/bin":   "\x00\x01\xff",
		"cfg/empty": "",
		"other/x":   "not exported",
	}
	for k, v := range values {
		expectCode(t, ta.cli(t, "kv", "put", "-flags", "7", k, v), exitOK)
	}

	r := ta.cli(t, "kv", "export", "cfg/")
	expectCode(t, r, exitOK)
	var entries []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &entries); err != nil {
		t.Fatalf("export is not JSON: %v\n%s", err, r.stdout)
	}
	if len(entries) != 4 {
		t.Fatalf("exported %d entries, want 4:\n%s", len(entries), r.stdout)
	}
	for _, e := range entries {
		if len(e) != 3 || e["key"] == nil || e["flags"] != float64(7) || e["value"] == nil {
			t.Errorf("entry %v: want exactly key, flags=7, value", e)
		}
	}
	if !strings.Contains(r.stdout, "\n\t{\n\t\t\"key\": \"cfg/a\",\n\t\t\"flags\": 7,\n\t\t\"value\": \"YWxwaGE=\"\n\t}") {
		t.Errorf("export is not laid out as consul kv export's:\n%s", r.stdout)
	}
	export := r.stdout

	// Nothing under a prefix: an empty array, not null.
	if r = ta.cli(t, "kv", "export", "nothing/"); strings.TrimSpace(r.stdout) != "[]" {
		t.Fatalf("empty export %q", r.stdout)
	}

	// Import from a file after deleting everything: same keys, values, flags.
	expectCode(t, ta.cli(t, "kv", "delete", "-recurse", "cfg/"), exitOK)
	file := filepath.Join(t.TempDir(), "export.json")
	if err := os.WriteFile(file, []byte(export), 0o600); err != nil {
		t.Fatal(err)
	}
	r = ta.cli(t, "kv", "import", "@"+file)
	expectCode(t, r, exitOK)
	if !strings.Contains(r.stdout, "Imported: cfg/b/c\n") || strings.Count(r.stdout, "Imported: ") != 4 {
		t.Fatalf("import output %q", r.stdout)
	}
	for k, v := range values {
		if strings.HasPrefix(k, "cfg/") {
			if got := ta.get(t, k); got != v {
				t.Errorf("%s = %q after import, want %q", k, got, v)
			}
		}
	}
	p, _, err := ta.client.KV().Get("cfg/a", nil)
	if err != nil || p == nil || p.Flags != 7 {
		t.Fatalf("cfg/a after import: %+v, %v; want flags 7", p, err)
	}
	if r = ta.cli(t, "kv", "export", "cfg/"); r.stdout != export {
		t.Errorf("export after import differs:\n%s\nwant\n%s", r.stdout, export)
	}

	// From stdin (explicit "-" and no argument), under a prefix.
	expectCode(t, ta.cliIn(t, context.Background(), export, "kv", "import", "-prefix", "copy", "-"), exitOK)
	expectCode(t, ta.cliIn(t, context.Background(), export, "kv", "import", "-prefix", "copy2/"), exitOK)
	if got := ta.get(t, "copy/cfg/b/c"); got != values["cfg/b/c"] {
		t.Errorf("copy/cfg/b/c = %q", got)
	}
	if got := ta.get(t, "copy2/cfg/a"); got != "alpha" {
		t.Errorf("copy2/cfg/a = %q", got)
	}

	// Bad documents write nothing.
	for _, bad := range []string{
		`{"key": "x"}`,
		`[{"key": "bad/a", "flags": 0, "value": "YQ=="}, {"key": "bad/b", "flags": 0, "value": "%%%"}]`,
		`[{"key": "", "flags": 0, "value": ""}]`,
	} {
		r = ta.cliIn(t, context.Background(), "", "kv", "import", bad)
		if r.code != exitFail {
			t.Errorf("import %s: code %d, want 1 (stderr %q)", bad, r.code, r.stderr)
		}
	}
	if ta.exists(t, "bad/a") {
		t.Error("a failed import wrote bad/a")
	}
}

func TestKVHTTPAddrFromEnvironment(t *testing.T) {
	ta := startAgent(t)
	t.Setenv("CONSUL_HTTP_ADDR", ta.addr)
	var none *testAgent
	expectCode(t, none.cli(t, "kv", "put", "env/k", "v"), exitOK)
	if got := ta.get(t, "env/k"); got != "v" {
		t.Fatalf("env/k = %q", got)
	}
	// The flag wins over the environment.
	t.Setenv("CONSUL_HTTP_ADDR", "127.0.0.1:1")
	expectCode(t, ta.cli(t, "kv", "get", "env/k"), exitOK)
	// And a URL works as an address.
	expectCode(t, none.cli(t, "kv", "get", "-http-addr", "http://"+ta.addr, "env/k"), exitOK)
}

func (ta *testAgent) get(t *testing.T, key string) string {
	t.Helper()
	p, _, err := ta.client.KV().Get(key, nil)
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	if p == nil {
		t.Fatalf("get %s: no such key", key)
	}
	return string(p.Value)
}

func (ta *testAgent) exists(t *testing.T, key string) bool {
	t.Helper()
	p, _, err := ta.client.KV().Get(key, nil)
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	return p != nil
}

func (ta *testAgent) modifyIndex(t *testing.T, key string) uint64 {
	t.Helper()
	p, _, err := ta.client.KV().Get(key, nil)
	if err != nil || p == nil {
		t.Fatalf("get %s: %+v, %v", key, p, err)
	}
	return p.ModifyIndex
}
