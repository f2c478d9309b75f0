package cli

import (
	"regexp"
	"strings"
	"testing"
)

// -h lists every command with its one-line summary, then the server's
// flags; help with no topic says the same on stdout.
func TestTopHelpListsEveryCommand(t *testing.T) {
	var ta *testAgent
	for _, args := range [][]string{{"-h"}, {"--help"}, {"help"}, {"help", "-h"}, {"help", "help"}} {
		r := ta.cli(t, args...)
		expectCode(t, r, exitOK)
		for name := range commands {
			syn := synopses[name]
			if syn == "" {
				t.Fatalf("command %q has no synopsis", name)
			}
			if !regexp.MustCompile(`(?m)^    ` + regexp.QuoteMeta(name) + ` +` + regexp.QuoteMeta(syn) + `$`).MatchString(r.stdout) {
				t.Errorf("%v: no line for %q with its synopsis in\n%s", args, name, r.stdout)
			}
		}
		// The test binary's flags stand in for CoreDNS's here (cmd/coredns-coord
		// checks the real ones).
		if !strings.Contains(r.stdout, "Server flags:") || !strings.Contains(r.stdout, "-test.run") {
			t.Errorf("%v: the server flags are missing:\n%s", args, r.stdout)
		}
	}
	for name := range synopses {
		// validate is main's: it needs the plugins of the CoreDNS build.
		if _, ok := commands[name]; !ok && name != "validate" {
			t.Errorf("synopsis for %q, which is no command", name)
		}
	}
}

// Every command and subcommand has a usage with an example, through both
// help SUB and SUB -h, and exits 0.
func TestEveryCommandHasUsageAndExample(t *testing.T) {
	var ta *testAgent
	for name := range examples {
		if name == "validate" {
			continue // main's; cmd/coredns-coord tests it
		}
		words := strings.Fields(name)
		r := ta.cli(t, append([]string{"help"}, words...)...)
		expectCode(t, r, exitOK)
		if !strings.Contains(r.stdout, "Usage: coredns-coord "+words[0]) || !strings.Contains(r.stdout, "Example:\n\n  "+examples[name]) {
			t.Errorf("help %s: no usage or example:\n%s", name, r.stdout)
		}
		r = ta.cli(t, append(words, "-h")...)
		expectCode(t, r, exitOK)
		if !strings.Contains(r.stdout+r.stderr, "Example:") {
			t.Errorf("%s -h: no example:\nstdout %s\nstderr %s", name, r.stdout, r.stderr)
		}
	}
	for name := range commands {
		if _, ok := examples[name]; !ok && name != "help" {
			t.Errorf("command %q has no example", name)
		}
	}
}

// An unknown command is an error that suggests the nearest one, with
// Consul's exit code; usage errors exit 1 as Consul's do.
func TestUnknownCommandSuggestsNearest(t *testing.T) {
	var ta *testAgent
	for typo, want := range map[string]string{"kvv": "kv", "memebrs": "members", "snapshop": "snapshot", "oper": "operator", "frobnicate": ""} {
		r := ta.cli(t, typo)
		expectCode(t, r, exitUnknown)
		if !strings.Contains(r.stderr, `Unknown command "`+typo+`"`) {
			t.Errorf("%s: %q", typo, r.stderr)
		}
		if hint := `Did you mean "` + want + `"?`; want != "" && !strings.Contains(r.stderr, hint) {
			t.Errorf("%s: want the hint %s, got %q", typo, hint, r.stderr)
		}
		if want == "" && strings.Contains(r.stderr, "Did you mean") {
			t.Errorf("%s: a far-fetched hint: %q", typo, r.stderr)
		}
	}
	expectCode(t, ta.cli(t, "help", "nosuch"), exitUnknown)
	expectCode(t, ta.cli(t, "kv", "get", "-nosuchflag", "a"), 1)
	expectCode(t, ta.cli(t, "kv"), 1)
}

func TestVersion(t *testing.T) {
	SetVersion("1.2.3-test", "abc123", "1.14.7")
	t.Cleanup(func() { SetVersion("", "", "") })
	var ta *testAgent
	for _, args := range [][]string{{"version"}, {"-version"}, {"--version"}} {
		r := ta.cli(t, args...)
		expectCode(t, r, exitOK)
		for _, want := range []string{"coredns-coord 1.2.3-test\n", "Revision abc123\n", "CoreDNS 1.14.7\n", "Consul API 1.16.1\n", "Go go1."} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("%v: %q lacks %q", args, r.stdout, want)
			}
		}
	}
	expectCode(t, ta.cli(t, "version", "extra"), exitUsage)
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"kv", "kv", 0}, {"kvv", "kv", 1}, {"memebrs", "members", 2}, {"", "abc", 3}, {"lock", "watch", 4}} {
		if got := editDistance(tc.a, tc.b); got != tc.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.d)
		}
	}
}
