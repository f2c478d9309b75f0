package cli

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coredns-coord/coredns-coord/agent"
	"github.com/coredns-coord/coredns-coord/internal/testutil"
)

// startClient starts a client agent (no Raft) that joins the server's
// gossip pool, and waits until it is ready.
func startClient(t *testing.T, server *testAgent, name string) *testAgent {
	t.Helper()
	return startAgentConfig(t, agent.Config{
		NodeName:   name,
		Datacenter: "dc1",
		DataDir:    t.TempDir(),
		BindAddr:   "127.0.0.1",
		ServerPort: testutil.FreePort(t),
		HTTPAddr:   "127.0.0.1:0",
		RetryJoin:  []string{server.agent.LocalMember().Address()},
	})
}

// memberStatuses is the server's view of the pool: name -> serf status.
func (ta *testAgent) memberStatuses(t *testing.T) map[string]int {
	t.Helper()
	ms, err := ta.client.Agent().Members(false)
	if err != nil {
		t.Fatalf("members: %v", err)
	}
	out := map[string]int{}
	for _, m := range ms {
		out[m.Name] = m.Status
	}
	return out
}

// lines splits output into its lines, without the final newline.
func lines(s string) []string {
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// checkAligned checks that every line's cells start where the header's do:
// the table is in columns, two spaces apart at least.
func checkAligned(t *testing.T, out string) {
	t.Helper()
	ls := lines(out)
	header := ls[0]
	var starts []int
	for i := range header {
		if header[i] != ' ' && (i == 0 || strings.HasSuffix(header[:i], "  ")) {
			starts = append(starts, i)
		}
	}
	for _, l := range ls[1:] {
		for _, at := range starts[1:] {
			if at > len(l) || l[at-1] != ' ' || l[at-2] != ' ' || (at < len(l) && l[at] == ' ') {
				t.Fatalf("line %q is not aligned with header %q (column at %d)", l, header, at)
			}
		}
	}
}

func TestMembersJoinForceLeaveLeave(t *testing.T) {
	t.Parallel()
	srv := startAgent(t)
	cl := startClient(t, srv, "cli-client")
	srvGossip := srv.agent.LocalMember().Address()
	clGossip := cl.agent.LocalMember().Address()
	waitFor(t, 10*time.Second, "server to see the client alive", func() bool {
		return srv.memberStatuses(t)["cli-client"] == 1
	})

	// The table: servers first, columns aligned as columnize does.
	r := srv.cli(t, "members")
	expectCode(t, r, exitOK)
	ls := lines(r.stdout)
	if len(ls) != 3 {
		t.Fatalf("members printed %q, want a header and 2 members", r.stdout)
	}
	checkAligned(t, r.stdout)
	if got, want := strings.Fields(ls[0]), []string{"Node", "Address", "Status", "Type", "Build", "Protocol", "DC"}; !slices.Equal(got, want) {
		t.Fatalf("header %q, want %q", got, want)
	}
	ms, err := srv.client.Agent().Members(false)
	if err != nil {
		t.Fatal(err)
	}
	build := ms[0].Tags["build"]
	if build == "" || strings.Contains(build, ":") {
		t.Fatalf("unexpected build tag %q", build)
	}
	if got, want := strings.Fields(ls[1]), []string{"cli-test", srvGossip, "alive", "server", build, "2", "dc1"}; !slices.Equal(got, want) {
		t.Errorf("server line %q, want %q", got, want)
	}
	if got, want := strings.Fields(ls[2]), []string{"cli-client", clGossip, "alive", "client", build, "2", "dc1"}; !slices.Equal(got, want) {
		t.Errorf("client line %q, want %q", got, want)
	}

	// -detailed: the tags, sorted, comma-joined.
	r = srv.cli(t, "members", "-detailed")
	expectCode(t, r, exitOK)
	checkAligned(t, r.stdout)
	ls = lines(r.stdout)
	if got, want := strings.Fields(ls[0]), []string{"Node", "Address", "Status", "Tags"}; !slices.Equal(got, want) {
		t.Fatalf("detailed header %q, want %q", got, want)
	}
	for _, m := range ms {
		var pairs []string
		for k, v := range m.Tags {
			pairs = append(pairs, k+"="+v)
		}
		slices.Sort(pairs)
		addr := srvGossip
		if m.Name == "cli-client" {
			addr = clGossip
		}
		want := []string{m.Name, addr, "alive", strings.Join(pairs, ",")}
		if !slices.ContainsFunc(ls[1:], func(l string) bool { return slices.Equal(strings.Fields(l), want) }) {
			t.Errorf("detailed output %q has no line %q", r.stdout, want)
		}
	}
	if !strings.Contains(r.stdout, "role=consul") || !strings.Contains(r.stdout, "role=node") {
		t.Errorf("detailed output %q lacks the role tags", r.stdout)
	}

	// -status filters by regular expression; no match is exit 1.
	r = srv.cli(t, "members", "-status", "^al")
	expectCode(t, r, exitOK)
	if n := len(lines(r.stdout)); n != 3 {
		t.Errorf("-status ^al printed %d lines, want 3: %q", n, r.stdout)
	}
	r = srv.cli(t, "members", "-status", "failed|left")
	expectCode(t, r, exitFail)
	if r.stdout != "" || !strings.Contains(r.stderr, "No members match") {
		t.Errorf("no match: stdout %q stderr %q", r.stdout, r.stderr)
	}
	r = srv.cli(t, "members", "-wan")
	expectCode(t, r, exitFail)
	if !strings.Contains(r.stderr, "WAN") {
		t.Errorf("-wan: stderr %q", r.stderr)
	}

	// join: through the client, to the server it already knows; an
	// address nobody listens on counts as a failure but does not stop the
	// others.
	r = cl.cli(t, "join", srvGossip)
	expectCode(t, r, exitOK)
	if r.stdout != "Successfully joined cluster by contacting 1 nodes.\n" {
		t.Errorf("join: stdout %q", r.stdout)
	}
	r = cl.cli(t, "join", "127.0.0.1:1", srvGossip)
	expectCode(t, r, exitOK)
	if r.stdout != "Successfully joined cluster by contacting 1 nodes.\n" || !strings.Contains(r.stderr, `"127.0.0.1:1"`) {
		t.Errorf("join with one bad address: stdout %q stderr %q", r.stdout, r.stderr)
	}
	r = cl.cli(t, "join", "127.0.0.1:1")
	expectCode(t, r, exitFail)
	if r.stdout != "" || !strings.Contains(r.stderr, "Failed to join any nodes.") {
		t.Errorf("join with no good address: stdout %q stderr %q", r.stdout, r.stderr)
	}

	// force-leave of a node the pool does not know: the agent's 404.
	r = srv.cli(t, "force-leave", "no-such-node")
	expectCode(t, r, exitFail)
	if !strings.Contains(r.stderr, "404") || !strings.Contains(r.stderr, "no-such-node") {
		t.Errorf("force-leave unknown: stderr %q", r.stderr)
	}

	// The client leaves (as it does when it stops); force-leave -prune
	// then forgets it at once.
	if err := cl.agent.Stop(); err != nil {
		t.Fatalf("stop client: %v", err)
	}
	waitFor(t, 10*time.Second, "server to see the client left", func() bool {
		return srv.memberStatuses(t)["cli-client"] == 3
	})
	r = srv.cli(t, "members", "-status", "left")
	expectCode(t, r, exitOK)
	if ls := lines(r.stdout); len(ls) != 2 || !slices.Equal(strings.Fields(ls[1])[:4], []string{"cli-client", clGossip, "left", "client"}) {
		t.Errorf("members -status left: %q", r.stdout)
	}
	r = srv.cli(t, "force-leave", "-prune", "cli-client")
	expectCode(t, r, exitOK)
	if r.stdout != "" || r.stderr != "" {
		t.Errorf("force-leave -prune: stdout %q stderr %q", r.stdout, r.stderr)
	}
	waitFor(t, 10*time.Second, "the client to be pruned", func() bool {
		_, ok := srv.memberStatuses(t)["cli-client"]
		return !ok
	})

	// leave: the agent leaves the pool and keeps serving.
	r = srv.cli(t, "leave")
	expectCode(t, r, exitOK)
	if r.stdout != "Graceful leave complete\n" {
		t.Errorf("leave: stdout %q", r.stdout)
	}
}

// TestClusterCommandsUsageAndUnreachable covers the new commands' help
// (exit 0), usage errors (exit 2, nothing sent) and an agent that cannot
// be reached (exit 1).
func TestClusterCommandsUsageAndUnreachable(t *testing.T) {
	var none *testAgent
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"members", "-h"}, exitOK},
		{[]string{"members", "extra"}, exitUsage},
		{[]string{"members", "-status", "("}, exitUsage},
		{[]string{"join", "-h"}, exitOK},
		{[]string{"join"}, exitUsage},
		{[]string{"leave", "-h"}, exitOK},
		{[]string{"leave", "extra"}, exitUsage},
		{[]string{"force-leave", "-h"}, exitOK},
		{[]string{"force-leave"}, exitUsage},
		{[]string{"force-leave", ""}, exitUsage},
		{[]string{"force-leave", "a", "b"}, exitUsage},
		{[]string{"force-leave", "-prune"}, exitUsage},
		{[]string{"keyring", "-h"}, exitOK},
		{[]string{"event", "-h"}, exitOK},
		{[]string{"snapshot", "-h"}, exitOK},
		{[]string{"snapshot", "save", "-h"}, exitOK},
		{[]string{"snapshot", "restore", "-h"}, exitOK},
	} {
		r := none.runArgs(t, 0, tc.args...)
		expectCode(t, r, tc.code)
		if tc.code == exitUsage && (r.stdout != "" || !strings.Contains(r.stderr, "Error!")) {
			t.Errorf("%v: stdout %q stderr %q", tc.args, r.stdout, r.stderr)
		}
		if tc.code == exitOK && !strings.Contains(r.stdout+r.stderr, "Usage: coredns-coord") {
			t.Errorf("%v: no usage text: stdout %q stderr %q", tc.args, r.stdout, r.stderr)
		}
	}

	// Nothing listens on port 1: every command fails with exit 1.
	dir := t.TempDir()
	snap := filepath.Join(dir, "x.snap")
	if err := os.WriteFile(snap, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	unreachable := &testAgent{addr: "127.0.0.1:1"}
	for _, tc := range []struct {
		n    int
		args []string
	}{
		{1, []string{"members"}},
		{1, []string{"join", "127.0.0.1:8301"}},
		{1, []string{"leave"}},
		{1, []string{"force-leave", "node-1"}},
		{3, []string{"operator", "raft", "list-peers"}},
		{3, []string{"operator", "raft", "remove-peer", "-id", "x"}},
		{1, []string{"keyring", "-list"}},
		{1, []string{"keyring", "-install", "a2V5"}},
		{1, []string{"event", "-name", "deploy"}},
		{2, []string{"snapshot", "save", filepath.Join(dir, "y.snap")}},
		{2, []string{"snapshot", "restore", snap}},
	} {
		r := unreachable.runArgs(t, tc.n, tc.args...)
		expectCode(t, r, exitFail)
		if !strings.Contains(r.stderr, "127.0.0.1:1") {
			t.Errorf("%v: stderr %q does not name the agent", tc.args, r.stderr)
		}
	}
	if names := dirNames(t, dir); len(names) != 1 {
		t.Errorf("failed save left %q behind", names)
	}
}
