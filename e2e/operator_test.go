package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/hashicorp/consul/api"

	"github.com/coredns-coord/coredns-coord/internal/testutil"
)

// runBinary runs the built binary with args and returns its output and
// exit code.
func runBinary(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return out.String(), errb.String(), ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return out.String(), errb.String(), 0
}

// The binary explains itself: -h lists the commands and CoreDNS's flags,
// help gives a command's usage, a typo gets a suggestion, version names
// every part.
func TestCLIExplainsItself(t *testing.T) {
	multiProcess(t)
	out, _, code := runBinary(t, "-h")
	for _, want := range []string{"Commands:", "    validate ", "    kv ", "    monitor ", "    debug ", "Server flags:", "-conf string", "-plugins"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("-h (exit %d) lacks %q:\n%s", code, want, out)
		}
	}
	out, _, code = runBinary(t, "help", "validate")
	if code != 0 || !strings.Contains(out, "Usage: coredns-coord validate") || !strings.Contains(out, "Example:") {
		t.Errorf("help validate (exit %d):\n%s", code, out)
	}
	_, errOut, code := runBinary(t, "membres")
	if code != 127 || !strings.Contains(errOut, `Did you mean "members"?`) {
		t.Errorf("membres: exit %d, %q", code, errOut)
	}
	out, _, code = runBinary(t, "-version")
	for _, want := range []string{"coredns-coord ", "Revision ", "CoreDNS 1.", "Go go1."} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("-version (exit %d) lacks %q:\n%s", code, want, out)
		}
	}
}

// validate runs every plugin's parsing and reads the definition files,
// starting nothing; errors name the file and line.
func TestValidate(t *testing.T) {
	multiProcess(t)
	dir := t.TempDir()
	defs := filepath.Join(dir, "defs")
	os.Mkdir(defs, 0o700)
	os.WriteFile(filepath.Join(defs, "web.json"), []byte(`{"service": {"name": "web", "port": 80}}`), 0o600)
	n := newNode(t)
	n.Health = "config_dir " + defs
	good := filepath.Join(dir, "Corefile")
	os.WriteFile(good, n.corefile(t), 0o600)
	out, errOut, code := runBinary(t, "validate", "-conf", good)
	if code != 0 || !strings.Contains(out, "Configuration is valid!") {
		t.Fatalf("valid Corefile: exit %d, %s %s", code, out, errOut)
	}
	// Nothing was started: the ports are still free to bind.
	if l, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:"+strconv.Itoa(n.HTTP)); err != nil {
		t.Errorf("validate left the HTTP port bound: %v", err)
	} else {
		l.Close()
	}

	corefile := string(n.corefile(t))
	for _, tc := range []struct{ name, corefile, bad, want string }{
		{"unknown option", strings.Replace(corefile, "http 127.0.0.1", "htp 127.0.0.1", 1), "htp 127", `Error during parsing: unknown property "htp"`},
		{"bad log level", strings.Replace(corefile, "node e2e", "node e2e\n        log_level LOUD", 1), "log_level LOUD", `Error during parsing: log_level: unknown log level "LOUD"`},
		{"unknown directive", corefile + "\nexample.org {\n    nosuchplugin\n}\n", "nosuchplugin", `Error during parsing: Unknown directive 'nosuchplugin'`},
	} {
		line := 1 + strings.Count(tc.corefile[:strings.Index(tc.corefile, tc.bad)], "\n")
		bad := filepath.Join(t.TempDir(), "Corefile")
		os.WriteFile(bad, []byte(tc.corefile), 0o600)
		_, errOut, code := runBinary(t, "validate", bad)
		if want := fmt.Sprintf("%s:%d - %s", bad, line, tc.want); code != 1 || !strings.Contains(errOut, want) {
			t.Errorf("%s: exit %d, %q; want %q", tc.name, code, errOut, want)
		}
	}

	// A broken definition file is named.
	os.WriteFile(filepath.Join(defs, "broken.json"), []byte(`{"service": {"name": `), 0o600)
	_, errOut, code = runBinary(t, "validate", "-conf", good)
	if code != 1 || !strings.Contains(errOut, filepath.Join(defs, "broken.json")) {
		t.Errorf("broken definition: exit %d, %q", code, errOut)
	}
}

// enable_debug and log_level change with a Corefile reload: profiles
// appear at /debug/pprof and HTTP requests are logged at DEBUG with the
// token hidden.
func TestDebugOptionsReload(t *testing.T) {
	multiProcess(t)
	n := newNode(t)
	p := start(t, n)
	pprofCode := func() int {
		resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(n.HTTP) + "/debug/pprof/heap")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := pprofCode(); code != http.StatusNotFound {
		t.Fatalf("pprof without enable_debug: %d, want 404", code)
	}
	c := n.client(t)
	c.KV().Get("k", &api.QueryOptions{Token: "secret-token-1"})
	if strings.Contains(p.out.String(), "Request finished") {
		t.Fatal("a request was logged at INFO")
	}

	n.Extra = "enable_debug\n        log_level debug"
	os.WriteFile(p.conf, n.corefile(t), 0o600)
	p.cmd.Process.Signal(syscall.SIGUSR1)
	waitFor(t, "pprof after the reload", func() bool { return pprofCode() == http.StatusOK })
	if _, err := c.Debug().Goroutine(); err != nil {
		t.Errorf("the official client's Debug().Goroutine: %v", err)
	}
	waitFor(t, "a request logged at DEBUG with the token hidden", func() bool {
		http.Get("http://127.0.0.1:" + strconv.Itoa(n.HTTP) + "/v1/kv/k?token=secret-token-2")
		return strings.Contains(p.out.String(), "[DEBUG] httpapi: Request finished: method=GET url=/v1/kv/k?token=<hidden> status=404")
	})
	if strings.Contains(p.out.String(), "secret-token") {
		t.Error("a token reached the log")
	}
}

// The operator API on a cluster of three servers and a client, through
// the official client: leadership moves to the server named, from any
// agent; the autopilot configuration written through a client reaches
// every server; autopilot/state lists the three with the leader; the
// debug bundle of a client holds the Raft configuration.
func TestClusterOperatorAPI(t *testing.T) {
	multiProcess(t)
	c := newCluster(t, 3, 1, "")
	leader := c.leader()
	target := c.followers(leader)[0]
	client := c.clients[0].client(t)

	res, err := client.Operator().RaftLeaderTransfer(nodeID(t, target), nil)
	if err != nil || !res.Success {
		t.Fatalf("transfer to %s: %+v, %v", target.Name, res, err)
	}
	if now := c.leader(); now != target {
		t.Fatalf("leader after the transfer: %s, want %s", now.Name, target.Name)
	}

	conf, err := client.Operator().AutopilotGetConfiguration(nil)
	if err != nil || conf.ModifyIndex == 0 {
		t.Fatalf("autopilot configuration from the client: %+v, %v", conf, err)
	}
	conf.MaxTrailingLogs = 500
	if ok, err := client.Operator().AutopilotCASConfiguration(conf, nil); err != nil || !ok {
		t.Fatalf("CAS from the client: %v, %v", ok, err)
	}
	for _, s := range c.servers {
		waitFor(t, s.Name+" has the new autopilot configuration", func() bool {
			got, err := s.client(t).Operator().AutopilotGetConfiguration(&api.QueryOptions{AllowStale: true})
			return err == nil && got.MaxTrailingLogs == 500
		})
	}

	var st *api.AutopilotState
	waitFor(t, "a healthy autopilot state with three voters", func() bool {
		st, err = client.Operator().AutopilotState(nil)
		return err == nil && st.Healthy && len(st.Voters) == 3 && st.FailureTolerance == 1
	})
	if srv := st.Servers[st.Leader]; srv.Name != target.Name || srv.Status != api.AutopilotServerLeader {
		t.Fatalf("autopilot state leader %+v, want %s", srv, target.Name)
	}

	dir := filepath.Join(t.TempDir(), "bundle")
	out, errOut, code := runBinary(t, "debug", "-http-addr", "127.0.0.1:"+strconv.Itoa(c.clients[0].HTTP),
		"-duration", "1s", "-interval", "1s", "-archive=false", "-output", dir)
	raw, _ := os.ReadFile(filepath.Join(dir, "raft.json"))
	if code != 0 || !strings.Contains(string(raw), target.Name) {
		t.Fatalf("debug on the client: exit %d, %s %s; raft.json %s", code, out, errOut, raw)
	}
}

// monitor, as a separate process against the binary: it streams a line the
// agent logs after it connected, and an interrupt ends it with 0.
func TestMonitorCommand(t *testing.T) {
	multiProcess(t)
	n := newNode(t)
	start(t, n)
	out := &testutil.SyncBuffer{}
	cmd := exec.Command(binary, "monitor", "-http-addr", "127.0.0.1:"+strconv.Itoa(n.HTTP), "-log-level", "debug")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
	})
	waitFor(t, "a request line from monitor", func() bool {
		http.Get("http://127.0.0.1:" + strconv.Itoa(n.HTTP) + "/v1/status/peers")
		return strings.Contains(out.String(), "Request finished: method=GET url=/v1/status/peers status=200")
	})
	cmd.Process.Signal(syscall.SIGINT)
	if err := <-done; err != nil {
		t.Fatalf("monitor after SIGINT: %v\n%s", err, out.String())
	}
	done <- nil // for the cleanup
}
