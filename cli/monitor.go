package cli

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

const monitorUsage = `
Usage: coredns-coord monitor [options]

  Streams the agent's log (its /v1/agent/monitor) until interrupted, from
  -log-level up: trace, debug, info (default), warn or err. Debug lines are
  streamed even when the agent's own log_level is higher. -log-json prints
  each line as a JSON object (@level, @message, @module, @timestamp).
`

func runMonitor(ctx context.Context, s *streams, args []string) int {
	hf := &httpFlags{}
	fs := newFlagSet(s, "monitor", monitorUsage)
	hf.register(fs, false)
	level := fs.String("log-level", "info", "Lowest log level to stream: trace, debug, info, warn or err.")
	asJSON := fs.Bool("log-json", false, "Print each line as a JSON object.")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(s, fs, "Too many arguments (expected 0, got %d)", fs.NArg())
	}
	client, closeIdle, err := hf.client()
	if err != nil {
		return failure(s, "%v", err)
	}
	defer closeIdle()

	ctx, stopSignals := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stopSignals()
	stop := make(chan struct{})
	defer close(stop)
	q := hf.queryOptions(ctx)
	monitor := client.Agent().Monitor
	if *asJSON {
		monitor = client.Agent().MonitorJSON
	}
	lines, err := monitor(*level, stop, q)
	if err != nil {
		return failure(s, "Error starting monitor on the agent at %s: %v", hf.displayAddr(), err)
	}
	for {
		select {
		case <-ctx.Done():
			return exitOK
		case line := <-lines:
			// The client's stream sends "" once the response has ended.
			if line == "" {
				if ctx.Err() != nil {
					return exitOK
				}
				fmt.Fprintln(s.stderr, "Remote side ended the monitor! This usually means that the\nremote side has exited or crashed.")
				return exitOK
			}
			fmt.Fprintln(s.stdout, line)
		}
	}
}
