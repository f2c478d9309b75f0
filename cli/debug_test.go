package cli

import (
	"encoding/json"
	"log"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The bundle holds every part, its log covers the capture, and no secret
// written to the log or sent as the token reaches any file.
func TestDebugBundle(t *testing.T) {
	ta := startAgent(t)
	ta.agent.SetDebugEndpoints(true)
	const token = "3f0c2d51-debug-test-token"
	const key = "pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s="
	dir := filepath.Join(t.TempDir(), "bundle")
	bg := ta.start(t, nil, "debug", "-duration", "3s", "-interval", "1s", "-archive=false", "-output", dir, "-token", token)
	// Log lines with secrets while the capture runs, until the log
	// holds one (the monitor connects shortly after the start).
	logFile := filepath.Join(dir, "agent.log")
	waitFor(t, 10*time.Second, "the secret line in the bundle's log", func() bool {
		log.Printf("[INFO] debug-test: retry_join with token=%s and gossip key %s", token, key)
		b, _ := os.ReadFile(logFile)
		return strings.Contains(string(b), "debug-test: retry_join")
	})
	if code := bg.wait(t, 20*time.Second); code != exitOK {
		t.Fatalf("debug exit %d: %s %s", code, bg.stdout, bg.stderr)
	}
	for _, name := range []string{"index.json", "agent.json", "host.json", "members.json", "raft.json", "metrics/000.json", "metrics/001.json", "goroutine.prof", "heap.prof", "agent.log"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.Size() == 0 {
			t.Errorf("%s missing or empty: %v", name, err)
		}
	}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := os.ReadFile(p)
		if strings.Contains(string(b), token) || strings.Contains(string(b), key) {
			t.Errorf("%s holds a secret", p)
		}
		return nil
	})
	logged, _ := os.ReadFile(logFile)
	if !strings.Contains(string(logged), "token=<hidden> and gossip key <hidden>") {
		t.Errorf("the secret line was not redacted as expected:\n%s", logged)
	}
	var index struct{ Errors map[string]string }
	raw, _ := os.ReadFile(filepath.Join(dir, "index.json"))
	if err := json.Unmarshal(raw, &index); err != nil || len(index.Errors) != 0 {
		t.Errorf("index.json: %v, errors %v", err, index.Errors)
	}
}

// Without enable_debug the profiles are missing and index.json says why;
// -archive packs the bundle and removes the directory.
func TestDebugBundleWithoutProfiles(t *testing.T) {
	ta := startAgent(t)
	dir := filepath.Join(t.TempDir(), "bundle")
	r := ta.cliIn(t, t.Context(), "", "debug", "-duration", "1s", "-interval", "1s", "-output", dir)
	expectCode(t, r, exitOK)
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the directory is still there: %v", err)
	}
	if _, err := os.Stat(dir + ".tar.gz"); err != nil {
		t.Fatalf("no archive: %v", err)
	}
	if !strings.Contains(r.stderr, "goroutine.prof") || !strings.Contains(r.stderr, "heap.prof") {
		t.Errorf("the missing profiles are not reported: %q", r.stderr)
	}
	// The output must not exist.
	r = ta.cliIn(t, t.Context(), "", "debug", "-duration", "1s", "-interval", "1s", "-output", t.TempDir())
	expectCode(t, r, exitFail)
	expectCode(t, ta.cliIn(t, t.Context(), "", "debug", "-interval", "10ms"), exitUsage)
	expectCode(t, ta.cliIn(t, t.Context(), "", "debug", "-duration", "1s", "-interval", "2s"), exitUsage)
}

func TestRedaction(t *testing.T) {
	for in, want := range map[string]string{
		"GET /v1/kv/a?token=abc&x=1":                           "GET /v1/kv/a?token=<hidden>&x=1",
		"encrypt pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=": "encrypt <hidden>",
		"key d8wu8CSUrqgtjVsvcBPmhQ== installed":               "key <hidden> installed",
		// A commit hash and a UUID are not keys.
		"revision 0123456789abcdef0123456789abcdef01234567": "revision 0123456789abcdef0123456789abcdef01234567",
		"node 6c2a8d3e-3b7a-4c2e-9f0e-1a2b3c4d5e6f":         "node 6c2a8d3e-3b7a-4c2e-9f0e-1a2b3c4d5e6f",
	} {
		if got := redactText(in); got != want {
			t.Errorf("redactText(%q) = %q, want %q", in, got, want)
		}
	}
	v := redactJSON(map[string]any{"Token": "x", "Config": map[string]any{"Encrypt": "k", "NodeName": "n"}, "Keys": []any{"a"}})
	var buf strings.Builder
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
	want := `{"Config":{"Encrypt":"<hidden>","NodeName":"n"},"Keys":"<hidden>","Token":"<hidden>"}`
	if b := strings.TrimSpace(buf.String()); b != want {
		t.Errorf("redactJSON: %s, want %s", b, want)
	}
}
