package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
)

// exitUnknown is the exit code for an unknown command, as Consul's CLI
// (mitchellh/cli) answers it.
const exitUnknown = 127

// synopses are the one-line summaries `coredns-coord -h` lists, by command.
var synopses = map[string]string{
	"debug":       "Write a support bundle: agent state, metrics, profiles and logs",
	"event":       "Fire a user event to every agent",
	"force-leave": "Force a failed member out of the gossip pool",
	"help":        "Print the list of commands, or a command's usage",
	"info":        "Print the agent's figures for debugging (agent, raft, runtime, serf_lan)",
	"join":        "Join the agent to a gossip pool",
	"keygen":      "Generate a new gossip encryption key",
	"keyring":     "List, install, use and remove gossip encryption keys",
	"kv":          "Read and write the key/value store",
	"leave":       "Make the agent leave the cluster gracefully and shut down",
	"lock":        "Run a command while holding a lock or a semaphore slot",
	"maint":       "Put the node or a service into maintenance mode, or take it out",
	"members":     "List the members of the gossip pool",
	"monitor":     "Stream the agent's log",
	"operator":    "Raft and autopilot operations for operators",
	"reload":      "Re-read the agent's service and check definition files",
	"services":    "Register or deregister a service from a definition file",
	"snapshot":    "Save or restore the whole state as a snapshot archive",
	"tls":         "Create a CA and agents' certificates, as consul tls does",
	"validate":    "Check a Corefile and the definition files it names, starting nothing",
	"version":     "Print the version of coredns-coord, CoreDNS, Go and the commit",
	"watch":       "Watch a view of the catalog or KV store and run a handler on changes",
}

// examples are appended to each command's usage, by the command's full name.
var examples = map[string]string{
	"debug":                         "coredns-coord debug -duration 30s -interval 10s -output /tmp/bundle",
	"event":                         "coredns-coord event -name deploy -service web v1.2.3",
	"force-leave":                   "coredns-coord force-leave -prune web-3",
	"info":                          "coredns-coord info",
	"join":                          "coredns-coord join 10.0.0.11",
	"keygen":                        "coredns-coord keygen",
	"keyring":                       "coredns-coord keyring -install \"$(coredns-coord keygen)\"",
	"kv":                            "coredns-coord kv get -recurse app/",
	"kv get":                        "coredns-coord kv get -recurse app/",
	"kv put":                        "coredns-coord kv put app/config max_conns=100",
	"kv delete":                     "coredns-coord kv delete -recurse app/",
	"kv export":                     "coredns-coord kv export app/ > app.json",
	"kv import":                     "coredns-coord kv import @app.json",
	"leave":                         "coredns-coord leave",
	"lock":                          "coredns-coord lock -timeout 30s service/web/leader ./run-as-leader.sh",
	"maint":                         "coredns-coord maint -enable -service web -reason \"draining\"",
	"members":                       "coredns-coord members -detailed",
	"monitor":                       "coredns-coord monitor -log-level debug",
	"operator":                      "coredns-coord operator raft list-peers",
	"operator raft":                 "coredns-coord operator raft list-peers",
	"operator raft list-peers":      "coredns-coord operator raft list-peers -stale",
	"operator raft remove-peer":     "coredns-coord operator raft remove-peer -address 10.0.0.13:8300",
	"operator raft transfer-leader": "coredns-coord operator raft transfer-leader -id 6c2a8d3e-3b7a-4c2e-9f0e-1a2b3c4d5e6f",
	"operator autopilot":            "coredns-coord operator autopilot state",
	"operator autopilot get-config": "coredns-coord operator autopilot get-config",
	"operator autopilot set-config": "coredns-coord operator autopilot set-config -cleanup-dead-servers=false",
	"operator autopilot state":      "coredns-coord operator autopilot state",
	"reload":                        "coredns-coord reload",
	"services":                      "coredns-coord services register web.hcl",
	"services register":             "coredns-coord services register web.hcl",
	"services deregister":           "coredns-coord services deregister -id web",
	"snapshot":                      "coredns-coord snapshot save backup.snap",
	"snapshot save":                 "coredns-coord snapshot save backup.snap",
	"snapshot restore":              "coredns-coord snapshot restore backup.snap",
	"tls":                           "coredns-coord tls ca create",
	"tls ca create":                 "coredns-coord tls ca create -days 1825",
	"tls cert create":               "coredns-coord tls cert create -server -dc dc1 -additional-ipaddress 10.0.0.11",
	"validate":                      "coredns-coord validate -conf /etc/coredns-coord/Corefile",
	"version":                       "coredns-coord version",
	"watch":                         "coredns-coord watch -type service -service web -passing ./reload-lb.sh",
}

// withExample is usage followed by the command's example, if it has one.
func withExample(name, usage string) string {
	usage = strings.TrimRight(strings.TrimLeft(usage, "\n"), "\n") + "\n"
	if ex, ok := examples[name]; ok {
		usage += "\nExample:\n\n  " + ex + "\n"
	}
	return usage
}

// External is a command that main provides (validate needs the CoreDNS
// build's plugins, which this package does not import).
type External func(args []string, stdout, stderr io.Writer) int

// Register adds a command that main provides; its synopsis and example
// are in the tables above. It is meant for init time, before Run.
func Register(name string, run External) {
	commands[name] = func(_ context.Context, s *streams, args []string) int {
		return run(args, s.stdout, s.stderr)
	}
}

// isHelpFlag reports whether arg asks for help.
func isHelpFlag(arg string) bool {
	switch arg {
	case "-h", "-help", "--help":
		return true
	}
	return false
}

// runHelp is `coredns-coord help [COMMAND...]`: the list of commands, or a
// command's usage (what COMMAND -h prints), on stdout.
func runHelp(ctx context.Context, s *streams, args []string) int {
	if len(args) == 0 || args[0] == "help" || isHelpFlag(args[0]) {
		writeTopUsage(s.stdout)
		return exitOK
	}
	if _, ok := commands[args[0]]; !ok {
		return unknownCommand(s, args[0])
	}
	help := &streams{stdin: s.stdin, stdout: s.stdout, stderr: s.stdout}
	return commands[args[0]](ctx, help, append(slices.Clone(args[1:]), "-h"))
}

// unknownCommand says that name is no command, suggests the nearest one,
// and returns Consul's exit code for it.
func unknownCommand(s *streams, name string) int {
	fmt.Fprintf(s.stderr, "Error! Unknown command %q.", name)
	if near := nearestCommand(name); near != "" {
		fmt.Fprintf(s.stderr, " Did you mean %q?", near)
	}
	fmt.Fprintf(s.stderr, "\nRun '%s -h' for the list of commands.\n", progName)
	return exitUnknown
}

// nearestCommand is the command closest to name by edit distance, if one
// is close enough to be a typo (or name is a prefix of it).
func nearestCommand(name string) string {
	best, bestDist := "", 3
	for _, c := range commandNames() {
		d := editDistance(name, c)
		if strings.HasPrefix(c, name) && len(name) >= 2 {
			d = min(d, 1)
		}
		if d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func commandNames() []string {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// writeTopUsage lists every command with its synopsis, then the server's
// flags (CoreDNS's, registered on the process's flag set).
func writeTopUsage(w io.Writer) {
	fmt.Fprintf(w, `Usage: %[1]s [-conf FILE] [server flags]
       %[1]s <command> [options] [args]

Without a command, %[1]s starts the DNS server and the agent its Corefile
configures. Most commands talk to a running agent's HTTP API (-http-addr,
default $CONSUL_HTTP_ADDR or 127.0.0.1:8500), like the consul command of the
same name; help, version, keygen and validate need no agent.

Commands:
`, progName)
	names := commandNames()
	width := 0
	for _, n := range names {
		width = max(width, len(n))
	}
	for _, n := range names {
		fmt.Fprintf(w, "    %-*s  %s\n", width, n, synopses[n])
	}
	fmt.Fprint(w, "\nServer flags:\n\n")
	out := flag.CommandLine.Output()
	flag.CommandLine.SetOutput(w)
	flag.CommandLine.PrintDefaults()
	flag.CommandLine.SetOutput(out)
	fmt.Fprintf(w, "\nRun '%[1]s help <command>' or '%[1]s <command> -h' for a command's usage and an example.\n", progName)
}
