package cli

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/coredns-coord/coredns-coord/agent"
	"github.com/coredns-coord/coredns-coord/httpapi"
	"github.com/coredns-coord/coredns-coord/internal/testagent"
	"github.com/coredns-coord/coredns-coord/internal/testutil"
)

// testAgent is a real agent (a dev-mode server unless the test configures
// another) with the HTTP API on a loopback port, and an API client for
// checking what the commands did.
type testAgent struct {
	addr   string // host:port of the HTTP API
	client *api.Client
	agent  *agent.Agent
}

// startAgent starts an agent for one test and stops it when the test ends.
func startAgent(t *testing.T) *testAgent {
	t.Helper()
	return startAgentConfig(t, testagent.DevConfig(t, "cli-test", "127.0.0.1:0"))
}

// startAgentConfig is startAgent with a configuration of the test's own,
// which must serve the HTTP API.
func startAgentConfig(t *testing.T, agentCfg agent.Config) *testAgent {
	t.Helper()
	a := testagent.Start(t, agentCfg, httpapi.New)
	addr := a.HTTPAddr().String()
	cfg := api.DefaultConfig()
	cfg.Address, cfg.Token, cfg.TokenFile = addr, "", ""
	client, err := api.NewClient(cfg)
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	// Before the agent stops: an idle pooled connection would hold up its
	// graceful shutdown.
	t.Cleanup(cfg.Transport.CloseIdleConnections)
	return &testAgent{addr: addr, client: client, agent: a}
}

// waitFor polls cond every 10ms until it holds, failing the test after d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// result is what one command run left behind.
type result struct {
	handled        bool
	code           int
	stdout, stderr string
}

// cli runs a command through the exported Run with buffers, the way main
// does, adding -http-addr for the test agent right after the subcommand
// name(s) when addr is set.
func (ta *testAgent) cli(t *testing.T, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	handled, code := Run(ta.withAddr(args), &out, &errb)
	return result{handled, code, out.String(), errb.String()}
}

// cliIn is cli with standard input and a context, through the internal run.
func (ta *testAgent) cliIn(t *testing.T, ctx context.Context, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	handled, code := run(ctx, &streams{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb}, ta.withAddr(args))
	return result{handled, code, out.String(), errb.String()}
}

// withAddr inserts -http-addr after "kv <sub>", "lock" or "watch".
func (ta *testAgent) withAddr(args []string) []string {
	if ta == nil || len(args) == 0 {
		return args
	}
	n := 1
	if args[0] == "kv" && len(args) > 1 {
		n = 2
	}
	if len(args) < n {
		return args
	}
	out := append([]string{}, args[:n]...)
	out = append(out, "-http-addr", ta.addr)
	return append(out, args[n:]...)
}

// background runs a long-running command (lock, watch) in a goroutine with
// its output in sync buffers. wait returns its exit code, failing the test
// if it has not finished within d.
type background struct {
	stdout, stderr *testutil.SyncBuffer
	cancel         context.CancelFunc
	done           chan int
}

func (ta *testAgent) start(t *testing.T, stdin io.Reader, args ...string) *background {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	bg := &background{stdout: &testutil.SyncBuffer{}, stderr: &testutil.SyncBuffer{}, cancel: cancel, done: make(chan int, 1)}
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	s := &streams{stdin: stdin, stdout: bg.stdout, stderr: bg.stderr}
	full := ta.withAddr(args)
	go func() {
		_, code := run(ctx, s, full)
		bg.done <- code
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-bg.done:
		case <-time.After(15 * time.Second):
			t.Errorf("%v still running 15s after cancel", args)
		}
	})
	return bg
}

func (bg *background) wait(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case code := <-bg.done:
		bg.done <- code // keep it for the cleanup
		return code
	case <-time.After(d):
		t.Fatalf("command still running after %v; stdout %q stderr %q", d, bg.stdout, bg.stderr)
		return -1
	}
}

func (bg *background) String() string { return bg.stdout.String() }

func expectCode(t *testing.T, r result, code int) {
	t.Helper()
	if !r.handled {
		t.Fatalf("not handled as a subcommand")
	}
	if r.code != code {
		t.Fatalf("exit code %d, want %d; stdout %q, stderr %q", r.code, code, r.stdout, r.stderr)
	}
}

// The tests that start agents run in parallel, more of them at once than
// there are CPUs: they mostly wait (see testutil.RunWaitBound).
func TestMain(m *testing.M) { os.Exit(testutil.RunWaitBound(m)) }
