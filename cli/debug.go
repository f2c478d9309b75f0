package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/consul/api"
)

const debugUsage = `
Usage: coredns-coord debug [options]

  Writes a support bundle, as 'consul debug' does: the agent's own view
  (agent.json, from agent/self, with its Stats), host.json, members.json,
  raft.json (the Raft configuration), metrics scraped every -interval for
  -duration (metrics/NNN.json), goroutine and heap profiles (when the
  agent's enable_debug is on) and the agent's log over the duration at
  debug level (agent.log). index.json lists what was captured and what
  could not be. Secrets are replaced by <hidden>: ACL tokens, fields that
  name a token, key or secret, and anything shaped like a gossip key.

  -output names the directory (default coredns-coord-debug-<unix time>,
  which must not exist); with -archive (the default) it is packed into
  DIR.tar.gz and removed. An interrupt ends the capture early and still
  writes the bundle.
`

// debugBundle is one capture: where it goes and what failed.
type debugBundle struct {
	dir    string
	client *api.Client
	mu     sync.Mutex
	errors map[string]string
}

func runDebug(ctx context.Context, s *streams, args []string) int {
	hf := &httpFlags{}
	fs := newFlagSet(s, "debug", debugUsage)
	hf.register(fs, false)
	duration := fs.Duration("duration", 2*time.Minute, "How long to capture metrics and logs.")
	interval := fs.Duration("interval", 30*time.Second, "How often to scrape metrics; at least 1s.")
	output := fs.String("output", "", "Directory of the bundle. Default: coredns-coord-debug-<unix time>.")
	archive := fs.Bool("archive", true, "Pack the bundle into DIR.tar.gz and remove the directory.")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	switch {
	case fs.NArg() > 0:
		return usageError(s, fs, "Too many arguments (expected 0, got %d)", fs.NArg())
	case *interval < time.Second:
		return usageError(s, fs, "-interval must be at least 1s")
	case *duration < *interval:
		return usageError(s, fs, "-duration must be at least -interval (%s)", *interval)
	}
	dir := *output
	if dir == "" {
		dir = fmt.Sprintf("coredns-coord-debug-%d", time.Now().Unix())
	}
	if _, err := os.Stat(dir); err == nil {
		return failure(s, "Output directory %s already exists", dir)
	}
	client, closeIdle, err := hf.client()
	if err != nil {
		return failure(s, "%v", err)
	}
	defer closeIdle()
	// The agent must answer before anything is written.
	self, err := client.Agent().Self()
	if err != nil {
		return failure(s, "Error querying the agent at %s: %v", hf.displayAddr(), err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "metrics"), 0o700); err != nil {
		return failure(s, "Cannot create the output directory: %v", err)
	}
	b := &debugBundle{dir: dir, client: client, errors: map[string]string{}}
	ctx, stopSignals := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stopSignals()

	fmt.Fprintf(s.stdout, "Capturing for %s (metrics every %s) into %s\n", *duration, *interval, dir)
	started := time.Now()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		b.captureLogs(ctx, *duration)
	}()
	b.writeJSON("agent.json", self)
	b.capture(ctx)
	b.captureMetrics(ctx, *duration, *interval)
	wg.Wait()

	b.writeJSON("index.json", map[string]any{
		"Command":     "coredns-coord debug",
		"Agent":       hf.displayAddr(),
		"Started":     started.UTC(),
		"Duration":    time.Since(started).Round(time.Millisecond).String(),
		"Interval":    interval.String(),
		"CLIRevision": revision(),
		"Errors":      b.errors,
		"Redaction":   "tokens, token/key/secret fields and gossip-key-shaped strings are <hidden>",
	})
	if *archive {
		path, err := archiveDir(dir)
		if err != nil {
			return failure(s, "Error archiving %s: %v", dir, err)
		}
		dir = path
	}
	fmt.Fprintf(s.stdout, "Saved debug bundle to %s\n", dir)
	if len(b.errors) > 0 {
		fmt.Fprintf(s.stderr, "Some parts were not captured (see index.json): %s\n", strings.Join(sortedKeys(b.errors), ", "))
	}
	return exitOK
}

// capture takes the one-off parts: host, members, Raft, profiles.
func (b *debugBundle) capture(ctx context.Context) {
	q := (&api.QueryOptions{}).WithContext(ctx)
	var host map[string]any
	if _, err := b.client.Raw().Query("/v1/agent/host", &host, q); err != nil {
		b.failed("host.json", err)
	} else {
		b.writeJSON("host.json", host)
	}
	if members, err := b.client.Agent().Members(false); err != nil {
		b.failed("members.json", err)
	} else {
		b.writeJSON("members.json", members)
	}
	if raft, err := b.client.Operator().RaftGetConfiguration(q); err != nil {
		b.failed("raft.json", err)
	} else {
		b.writeJSON("raft.json", raft)
	}
	for name, get := range map[string]func() ([]byte, error){
		"goroutine.prof": b.client.Debug().Goroutine,
		"heap.prof":      b.client.Debug().Heap,
	} {
		raw, err := get()
		if err != nil {
			if strings.Contains(err.Error(), "404") {
				err = fmt.Errorf("the agent's enable_debug is off: %w", err)
			}
			b.failed(name, err)
			continue
		}
		b.write(name, raw)
	}
}

// captureMetrics scrapes agent/metrics now and every interval until the
// duration is over.
func (b *debugBundle) captureMetrics(ctx context.Context, duration, interval time.Duration) {
	end := time.Now().Add(duration)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for i := 0; ; i++ {
		m, err := b.client.Agent().Metrics()
		name := fmt.Sprintf("metrics/%03d.json", i)
		if err != nil {
			b.failed(name, err)
		} else {
			b.writeJSON(name, m)
		}
		if !time.Now().Add(interval).Before(end.Add(time.Millisecond)) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// captureLogs streams the agent's log at debug level for the duration.
func (b *debugBundle) captureLogs(ctx context.Context, duration time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()
	f, err := os.OpenFile(filepath.Join(b.dir, "agent.log"), os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
	if err != nil {
		b.failed("agent.log", err)
		return
	}
	defer f.Close()
	stop := make(chan struct{})
	defer close(stop)
	lines, err := b.client.Agent().Monitor("debug", stop, (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		b.failed("agent.log", err)
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case line := <-lines:
			if line == "" {
				return // the stream ended
			}
			fmt.Fprintln(f, redactText(line))
		}
	}
}

func (b *debugBundle) failed(part string, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.errors[part] = redactText(err.Error())
}

func (b *debugBundle) writeJSON(name string, v any) {
	raw, err := json.Marshal(v)
	if err != nil {
		b.failed(name, err)
		return
	}
	var generic any
	if err := json.Unmarshal(raw, &generic); err != nil {
		b.failed(name, err)
		return
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(redactJSON(generic)); err != nil {
		b.failed(name, err)
		return
	}
	b.write(name, out.Bytes())
}

func (b *debugBundle) write(name string, data []byte) {
	if err := os.WriteFile(filepath.Join(b.dir, name), data, 0o600); err != nil {
		b.failed(name, err)
	}
}

// Redaction.
var (
	// secretField names a JSON field whose value is a secret.
	secretField = regexp.MustCompile(`(?i)token|secret|password|encrypt|^keys?$|keyring|primarykeys`)
	// tokenParam is a token in a URL or a log's key=value pair.
	tokenParam = regexp.MustCompile(`(?i)(token=)[^&\s"]+`)
	// gossipKey is base64 of 16, 24 or 32 bytes, as gossip keys are.
	gossipKey = regexp.MustCompile(`\b[A-Za-z0-9+/]{22}==|\b[A-Za-z0-9+/]{32}\b|\b[A-Za-z0-9+/]{43}=`)
)

const hidden = "<hidden>"

// redactText hides tokens and gossip-key-shaped strings in a line.
func redactText(s string) string {
	s = tokenParam.ReplaceAllString(s, "${1}"+hidden)
	return gossipKey.ReplaceAllString(s, hidden)
}

// redactJSON hides the values of secret fields, and redacts every string.
func redactJSON(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if secretField.MatchString(k) {
				x[k] = hidden
				continue
			}
			x[k] = redactJSON(val)
		}
		return x
	case []any:
		for i := range x {
			x[i] = redactJSON(x[i])
		}
		return x
	case string:
		return redactText(x)
	}
	return v
}
