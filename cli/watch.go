package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/consul/api/watch"
	"github.com/hashicorp/go-hclog"
)

const watchUsage = `
Usage: coredns-coord watch -type TYPE [options] [HANDLER...]

  Watches a view of the catalog, health checks, key/value store or events
  with blocking queries, and reacts each time it changes (and once at the
  start, with the current data).

  With HANDLER, it runs HANDLER with the view as JSON on its standard input
  and CONSUL_INDEX set to the view's index; a single HANDLER argument is a
  shell script, run with /bin/sh -c, several are a program and its
  arguments (-shell=false: never a shell). A handler that fails ends the
  watch with exit 1, as with 'consul watch'.

  Without HANDLER, it prints the view as indented JSON to stdout once and
  exits, as 'consul watch' does; -follow keeps printing it on every change
  until interrupted.

  Types and their options:

    key        -key KEY (required)
    keyprefix  -prefix PREFIX (required)
    services   -filter
    nodes      -filter
    service    -service NAME (required), -tag (repeatable), -passing, -filter
    checks     -service NAME or -state STATE (default: any), -filter
    event      -name NAME

      $ coredns-coord watch -type key -key app/config
      $ coredns-coord watch -type service -service web -passing ./reload.sh
`

// watchTypes are the supported types and, for each, the flags that apply
// to it beyond the connection flags.
var watchTypes = map[string][]string{
	"key":       {"key", "stale"},
	"keyprefix": {"prefix", "stale"},
	"services":  {"filter", "stale"},
	"nodes":     {"filter", "stale"},
	"service":   {"service", "tag", "passing", "passingonly", "filter", "stale"},
	"checks":    {"service", "state", "filter", "stale"},
	"event":     {"name"},
}

// typeSpecificFlags are the flags that only some watch types take.
var typeSpecificFlags = []string{"key", "prefix", "service", "tag", "passing", "passingonly", "state", "name", "filter", "stale"}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

func runWatch(ctx context.Context, s *streams, args []string) int {
	var (
		hf          httpFlags
		typ         string
		key         string
		prefix      string
		service     string
		tags        stringList
		passing     bool
		passingOnly string
		state       string
		name        string
		filter      string
		shell       bool
		once        bool
		follow      bool
	)
	fs := newFlagSet(s, "watch", watchUsage)
	fs.StringVar(&typ, "type", "", "What to watch: key, keyprefix, services, nodes, service, checks or event (required).")
	fs.StringVar(&key, "key", "", "The key to watch (type key).")
	fs.StringVar(&prefix, "prefix", "", "The key prefix to watch (type keyprefix).")
	fs.StringVar(&service, "service", "", "The service to watch (type service), or whose checks to watch (type checks).")
	fs.Var(&tags, "tag", "Only instances with this tag (type service); repeat for several tags, all required.")
	fs.BoolVar(&passing, "passing", false, "Only instances whose checks all pass (type service).")
	fs.StringVar(&passingOnly, "passingonly", "", "true|false: the same as -passing, under consul watch's name.")
	fs.StringVar(&state, "state", "", "Only checks in this state: any, passing, warning or critical (type checks).")
	fs.StringVar(&name, "name", "", "Only events with this name (type event).")
	fs.StringVar(&filter, "filter", "", "A filter expression, as the HTTP API's ?filter (types services, nodes, service, checks).")
	fs.BoolVar(&shell, "shell", true, "Run a single-argument HANDLER with /bin/sh -c.")
	fs.BoolVar(&once, "once", false, "Stop after the first result (print it, or run HANDLER once).")
	fs.BoolVar(&follow, "follow", false, "Without HANDLER: print every change until interrupted, not just the current view.")
	hf.register(fs, true)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}

	if typ == "" {
		return usageError(s, fs, "Watch type must be specified with -type")
	}
	allowed, ok := watchTypes[typ]
	if !ok {
		return usageError(s, fs, "Unsupported watch type %q (want one of %s)", typ, strings.Join(slices.Sorted(maps.Keys(watchTypes)), ", "))
	}
	for _, f := range typeSpecificFlags {
		if flagWasSet(fs, f) && !slices.Contains(allowed, f) {
			return usageError(s, fs, "-%s does not apply to -type %s", f, typ)
		}
	}
	if passingOnly != "" {
		b, err := strconv.ParseBool(passingOnly)
		if err != nil {
			return usageError(s, fs, "-passingonly must be true or false, not %q", passingOnly)
		}
		passing = passing || b
	}

	params := map[string]any{"type": typ}
	setIf := func(name, v string) {
		if v != "" {
			params[name] = v
		}
	}
	setIf("key", key)
	setIf("prefix", prefix)
	setIf("service", service)
	setIf("state", state)
	setIf("name", name)
	setIf("filter", filter)
	if len(tags) > 0 {
		params["tag"] = []string(tags)
	}
	if passing {
		params["passingonly"] = true
	}
	if hf.stale {
		params["stale"] = true
	}
	plan, err := watch.Parse(params)
	if err != nil {
		return usageError(s, fs, "%v", err)
	}

	client, closeIdle, err := hf.client()
	if err != nil {
		return failure(s, "%v", err)
	}
	defer closeIdle()
	// Fail fast if the agent is not there: the plan itself retries
	// failed queries forever.
	if _, err := client.Status().LeaderWithQueryOptions(hf.queryOptions(ctx)); err != nil {
		return failure(s, "Cannot reach the agent at %s: %v", hf.displayAddr(), err)
	}

	ctx, stopSignals := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stopSignals()

	var failed atomic.Bool
	handlerArgs := fs.Args()
	if len(handlerArgs) == 0 && !follow {
		once = true
	}
	plan.Handler = func(idx uint64, data any) {
		if len(handlerArgs) == 0 {
			out, err := json.MarshalIndent(data, "", "    ")
			if err != nil {
				fmt.Fprintf(s.stderr, "Error! Cannot encode the result: %v\n", err)
				failed.Store(true)
				plan.Stop()
				return
			}
			fmt.Fprintf(s.stdout, "%s\n", out)
		} else if err := runHandler(ctx, s, handlerArgs, shell, idx, data); err != nil {
			if ctx.Err() != nil {
				// Interrupted while the handler ran: not its fault.
				plan.Stop()
				return
			}
			fmt.Fprintf(s.stderr, "Error! Handler failed: %v\n", err)
			failed.Store(true)
			plan.Stop()
			return
		}
		if once {
			plan.Stop()
		}
	}

	logger := hclog.New(&hclog.LoggerOptions{
		Name:   progName,
		Output: s.stderr,
		Level:  hclog.Warn,
	})
	done := make(chan error, 1)
	go func() { done <- plan.RunWithClientAndHclog(client, logger) }()

	var runErr error
	select {
	case runErr = <-done:
	case <-ctx.Done():
		plan.Stop()
		runErr = <-done
	}
	if runErr != nil {
		return failure(s, "Watch failed: %v", runErr)
	}
	if failed.Load() {
		return exitFail
	}
	return exitOK
}

// runHandler runs the handler once with data as JSON on its stdin. It is
// sent SIGTERM if ctx ends while it runs, and killed 5s later.
func runHandler(ctx context.Context, s *streams, argv []string, shell bool, idx uint64, data any) error {
	in, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("cannot encode the result: %w", err)
	}
	in = append(in, '\n')
	args := shellArgv(argv, shell)
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	cmd.Env = append(os.Environ(), "CONSUL_INDEX="+strconv.FormatUint(idx, 10))
	cmd.Stdin = bytes.NewReader(in)
	cmd.Stdout = s.stdout
	cmd.Stderr = s.stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return fmt.Errorf("%s: %v", strings.Join(argv, " "), ee.ProcessState)
		}
		return err
	}
	return nil
}

var _ flag.Value = (*stringList)(nil)
