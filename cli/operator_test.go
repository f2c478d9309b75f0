package cli

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestOperatorRaft(t *testing.T) {
	t.Parallel()
	ta := startAgent(t)
	conf, err := ta.client.Operator().RaftGetConfiguration(nil)
	if err != nil || len(conf.Servers) != 1 {
		t.Fatalf("raft configuration: %+v, %v", conf, err)
	}
	sv := conf.Servers[0]
	listPeers := func(extra ...string) result {
		t.Helper()
		return ta.runArgs(t, 3, append([]string{"operator", "raft", "list-peers"}, extra...)...)
	}
	wantTable := func(r result) {
		t.Helper()
		expectCode(t, r, exitOK)
		ls := lines(r.stdout)
		if len(ls) != 2 {
			t.Fatalf("list-peers printed %q, want a header and 1 server", r.stdout)
		}
		checkAligned(t, r.stdout)
		if got, want := strings.Fields(ls[0]), []string{"Node", "ID", "Address", "State", "Voter", "RaftProtocol"}; !slices.Equal(got, want) {
			t.Errorf("header %q, want %q", got, want)
		}
		want := []string{"cli-test", ta.agent.NodeID(), sv.Address, "leader", "true", "3"}
		if got := strings.Fields(ls[1]); !slices.Equal(got, want) {
			t.Errorf("server line %q, want %q", got, want)
		}
	}
	wantTable(listPeers())
	wantTable(listPeers("-stale"))

	removePeer := func(args ...string) result {
		t.Helper()
		return ta.runArgs(t, 3, append([]string{"operator", "raft", "remove-peer"}, args...)...)
	}
	// Unknown peers: the agent answers 400, and nothing changes.
	for _, args := range [][]string{
		{"-address", "127.0.0.1:1"},
		{"-id", "00000000-0000-0000-0000-000000000001"},
	} {
		r := removePeer(args...)
		expectCode(t, r, exitFail)
		if r.stdout != "" || !strings.Contains(r.stderr, "400") || !strings.Contains(r.stderr, "no such Raft peer") {
			t.Errorf("remove-peer %v: stdout %q stderr %q", args, r.stdout, r.stderr)
		}
	}
	for _, args := range [][]string{
		{},
		{"-id", ""},
		{"-id", sv.ID, "-address", sv.Address},
		{"-id", sv.ID, "extra"},
	} {
		r := removePeer(args...)
		expectCode(t, r, exitUsage)
		if !strings.Contains(r.stderr, "Error!") {
			t.Errorf("remove-peer %v: stderr %q", args, r.stderr)
		}
	}
	wantTable(listPeers())
	r := listPeers("extra")
	expectCode(t, r, exitUsage)
}

func TestOperatorGroupUsage(t *testing.T) {
	var ta *testAgent // no agent: nothing is sent
	for _, tc := range []struct {
		args   []string
		code   int
		stdout string // substring
		stderr string // substring
	}{
		{[]string{"operator"}, exitUsage, "", "raft"},
		{[]string{"operator", "-h"}, exitOK, "raft", ""},
		{[]string{"operator", "bogus"}, exitUsage, "", `Unknown operator subcommand "bogus"`},
		{[]string{"operator", "raft"}, exitUsage, "", "remove-peer"},
		{[]string{"operator", "raft", "help"}, exitOK, "remove-peer", ""},
		{[]string{"operator", "raft", "bogus"}, exitUsage, "", `Unknown operator raft subcommand "bogus"`},
		{[]string{"operator", "raft", "list-peers", "-h"}, exitOK, "", "RaftProtocol"},
		{[]string{"operator", "raft", "remove-peer", "-bogus"}, exitUsage, "", "flag provided but not defined"},
	} {
		r := ta.runArgs(t, 0, tc.args...)
		expectCode(t, r, tc.code)
		if !strings.Contains(r.stdout, tc.stdout) || !strings.Contains(r.stderr, tc.stderr) {
			t.Errorf("%v: stdout %q stderr %q, want %q and %q", tc.args, r.stdout, r.stderr, tc.stdout, tc.stderr)
		}
	}
}

// operator autopilot: get-config prints the configuration, set-config
// changes only the settings given, state shows the one server leading;
// a lone server has nobody to hand leadership to.
func TestOperatorAutopilot(t *testing.T) {
	t.Parallel()
	ta := startAgent(t)
	waitFor(t, 10*time.Second, "the first leader's autopilot configuration", func() bool {
		c, err := ta.client.Operator().AutopilotGetConfiguration(nil)
		return err == nil && c.ModifyIndex > 0
	})
	r := ta.runArgs(t, 3, "operator", "autopilot", "set-config", "-max-trailing-logs", "77", "-cleanup-dead-servers=true")
	expectCode(t, r, exitOK)
	c, err := ta.client.Operator().AutopilotGetConfiguration(nil)
	if err != nil || c.MaxTrailingLogs != 77 || !c.CleanupDeadServers || c.LastContactThreshold.Duration() != 2*time.Second {
		t.Fatalf("after set-config: %+v, %v", c, err)
	}
	r = ta.runArgs(t, 3, "operator", "autopilot", "get-config")
	expectCode(t, r, exitOK)
	for _, want := range []string{"CleanupDeadServers = true", "MaxTrailingLogs = 77", "LastContactThreshold = 2s"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("get-config lacks %q:\n%s", want, r.stdout)
		}
	}
	expectCode(t, ta.runArgs(t, 3, "operator", "autopilot", "set-config", "-cleanup-dead-servers", "maybe"), exitUsage)

	waitFor(t, 10*time.Second, "a healthy state", func() bool {
		r = ta.runArgs(t, 3, "operator", "autopilot", "state")
		return r.code == exitOK && strings.Contains(r.stdout, "Healthy: true")
	})
	if !strings.Contains(r.stdout, "Leader: "+ta.agent.NodeID()) || !regexp.MustCompile(`(?m)^cli-test +`+ta.agent.NodeID()+` +\S+ +leader +true `).MatchString(r.stdout) {
		t.Errorf("state:\n%s", r.stdout)
	}
	expectCode(t, ta.runArgs(t, 3, "operator", "raft", "transfer-leader"), exitFail)
}
