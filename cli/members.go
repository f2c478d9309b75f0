package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"regexp"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/hashicorp/consul/api"
)

// Gossip member tags, as Consul's serf tags.
const (
	memberTagRole  = "role"
	memberTagDC    = "dc"
	memberTagBuild = "build"
	memberTagVsn   = "vsn"
	roleServerTag  = "consul"
	roleClientTag  = "node"
)

// memberStatus is the name of a member's status in serf's numbering, as
// 'consul members' prints it.
func memberStatus(status int) string {
	switch status {
	case 0:
		return "none"
	case 1:
		return "alive"
	case 2:
		return "leaving"
	case 3:
		return "left"
	case 4:
		return "failed"
	}
	return fmt.Sprintf("unknown(%d)", status)
}

// memberAddr is a member's gossip address as host:port.
func memberAddr(m *api.AgentMember) string {
	return (&net.TCPAddr{IP: net.ParseIP(m.Addr), Port: int(m.Port)}).String()
}

// newTable returns a writer that aligns tab-separated cells in columns two
// spaces apart, the last cell of a line unpadded: what the columnize
// package does for Consul's tables.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
}

const membersUsage = `
Usage: coredns-coord members [options]

  Lists the members of the agent's LAN gossip pool, as the agent sees them,
  servers first, then by name: Node, Address (gossip host:port), Status
  (alive, leaving, left, failed), Type (server, client), Build, Protocol
  and DC. -detailed prints every gossip tag instead.

  -status REGEX keeps the members whose status matches the regular
  expression; if none does, nothing is printed and the exit code is 1.

      $ coredns-coord members
      $ coredns-coord members -status 'failed|left'
      $ coredns-coord members -detailed
`

func runMembers(_ context.Context, s *streams, args []string) int {
	var (
		hf       httpFlags
		detailed bool
		status   string
		wan      bool
	)
	fs := newFlagSet(s, "members", membersUsage)
	fs.BoolVar(&detailed, "detailed", false, "Print each member's gossip tags (sorted key=value pairs) instead of the Type, Build, Protocol and DC columns.")
	fs.StringVar(&status, "status", ".*", "Only list members whose status (alive, leaving, left, failed) matches this regular expression.")
	fs.BoolVar(&wan, "wan", false, "List the WAN pool (refused by the agent: there is no WAN pool).")
	hf.register(fs, false)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(s, fs, "Too many arguments (expected 0, got %d)", fs.NArg())
	}
	statusRe, err := regexp.Compile(status)
	if err != nil {
		return usageError(s, fs, "Failed to compile status regexp: %v", err)
	}

	client, closeIdle, err := hf.client()
	if err != nil {
		return failure(s, "%v", err)
	}
	defer closeIdle()
	members, err := client.Agent().Members(wan)
	if err != nil {
		return failure(s, "Error retrieving members from the agent at %s: %v", hf.displayAddr(), err)
	}
	members = slices.DeleteFunc(members, func(m *api.AgentMember) bool {
		return !statusRe.MatchString(memberStatus(m.Status))
	})
	if len(members) == 0 {
		return failure(s, "No members match -status %q", status)
	}
	slices.SortStableFunc(members, func(a, b *api.AgentMember) int {
		as, bs := a.Tags[memberTagRole] == roleServerTag, b.Tags[memberTagRole] == roleServerTag
		switch {
		case as && !bs:
			return -1
		case bs && !as:
			return 1
		}
		return strings.Compare(a.Name, b.Name)
	})

	tw := newTable(s.stdout)
	if detailed {
		fmt.Fprintln(tw, "Node\tAddress\tStatus\tTags")
		for _, m := range members {
			var pairs []string
			for _, k := range sortedKeys(m.Tags) {
				pairs = append(pairs, k+"="+m.Tags[k])
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", m.Name, memberAddr(m), memberStatus(m.Status), strings.Join(pairs, ","))
		}
		tw.Flush()
		return exitOK
	}

	fmt.Fprintln(tw, "Node\tAddress\tStatus\tType\tBuild\tProtocol\tDC")
	for _, m := range members {
		var kind string
		switch m.Tags[memberTagRole] {
		case roleServerTag:
			kind = "server"
		case roleClientTag:
			kind = "client"
		default:
			// As Consul: a member that is no agent has no build either.
			fmt.Fprintf(tw, "%s\t%s\t%s\tunknown\t\t\t\n", m.Name, memberAddr(m), memberStatus(m.Status))
			continue
		}
		build := m.Tags[memberTagBuild]
		if build == "" {
			build = "< 0.3"
		} else if i := strings.Index(build, ":"); i >= 0 {
			build = build[:i]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			m.Name, memberAddr(m), memberStatus(m.Status), kind, build, m.Tags[memberTagVsn], m.Tags[memberTagDC])
	}
	tw.Flush()
	return exitOK
}

const joinUsage = `
Usage: coredns-coord join [options] ADDRESS...

  Asks the agent to join the gossip pool of the agents at the given
  addresses (host or host:port of their gossip port; default port 8301).
  Succeeds if at least one address could be joined.

      $ coredns-coord join 10.0.0.11 10.0.0.12:8301
`

func runJoin(_ context.Context, s *streams, args []string) int {
	var (
		hf  httpFlags
		wan bool
	)
	fs := newFlagSet(s, "join", joinUsage)
	fs.BoolVar(&wan, "wan", false, "Join the WAN pool (refused by the agent: there is no WAN pool).")
	hf.register(fs, false)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() == 0 {
		return usageError(s, fs, "At least one address to join must be specified.")
	}

	client, closeIdle, err := hf.client()
	if err != nil {
		return failure(s, "%v", err)
	}
	defer closeIdle()
	joined := 0
	for _, addr := range fs.Args() {
		if err := client.Agent().Join(addr, wan); err != nil {
			fmt.Fprintf(s.stderr, "Error! Error joining address %q through the agent at %s: %v\n", addr, hf.displayAddr(), err)
			continue
		}
		joined++
	}
	if joined == 0 {
		return failure(s, "Failed to join any nodes.")
	}
	fmt.Fprintf(s.stdout, "Successfully joined cluster by contacting %d nodes.\n", joined)
	return exitOK
}

const leaveUsage = `
Usage: coredns-coord leave [options]

  Asks the agent to leave the gossip pool gracefully: the cluster then
  deregisters its node, and a server is removed from the Raft peers. The
  agent keeps serving until its process stops (Consul's agent exits).
`

func runLeave(_ context.Context, s *streams, args []string) int {
	client, hf, closeIdle, code, ok := noArgsClient(s, "leave", leaveUsage, false, args)
	if !ok {
		return code
	}
	defer closeIdle()
	if err := client.Agent().Leave(); err != nil {
		return failure(s, "Error leaving through the agent at %s: %v", hf.displayAddr(), err)
	}
	fmt.Fprintln(s.stdout, "Graceful leave complete")
	return exitOK
}

const forceLeaveUsage = `
Usage: coredns-coord force-leave [options] NODE

  Forces a failed member of the gossip pool into the "left" state, so that
  the cluster stops trying to reconnect to it and deregisters it. A member
  that is still alive rejoins. -prune also forgets a left member at once,
  instead of after the tombstone timeout. Prints nothing on success.

      $ coredns-coord force-leave node-7
      $ coredns-coord force-leave -prune node-7
`

func runForceLeave(ctx context.Context, s *streams, args []string) int {
	var (
		hf    httpFlags
		prune bool
	)
	fs := newFlagSet(s, "force-leave", forceLeaveUsage)
	fs.BoolVar(&prune, "prune", false, "Remove the member from the member list at once.")
	hf.register(fs, false)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() != 1 || fs.Arg(0) == "" {
		return usageError(s, fs, "A single node name must be specified to force leave.")
	}
	node := fs.Arg(0)
	client, closeIdle, err := hf.client()
	if err != nil {
		return failure(s, "%v", err)
	}
	defer closeIdle()
	q := (&api.QueryOptions{}).WithContext(ctx)
	if err := client.Agent().ForceLeaveOptions(node, api.ForceLeaveOpts{Prune: prune}, q); err != nil {
		return failure(s, "Error force leaving %q through the agent at %s: %v", node, hf.displayAddr(), err)
	}
	return exitOK
}
