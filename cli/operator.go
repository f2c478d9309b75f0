package cli

import (
	"context"
	"fmt"

	"github.com/hashicorp/consul/api"
)

const operatorUsage = `
Usage: coredns-coord operator <subcommand> [options]

  Cluster-level operations for operators.

Subcommands:

  autopilot  Read and change the autopilot configuration; autopilot's state
  raft       Inspect and change the Raft peer configuration

Run 'coredns-coord operator <subcommand> -h' for a subcommand's usage.
`

const operatorRaftUsage = `
Usage: coredns-coord operator raft <subcommand> [options]

  Inspects and changes the servers' Raft peer configuration.

Subcommands:

  list-peers       Print the Raft peers: node, ID, address, state, voter
  remove-peer      Remove a server from the Raft configuration (-id or -address)
  transfer-leader  Hand leadership to another server (-id, or any)

Run 'coredns-coord operator raft <subcommand> -h' for a subcommand's options.
`

var runOperator = group("operator", operatorUsage, map[string]command{
	"raft": group("operator raft", operatorRaftUsage, map[string]command{
		"list-peers":      operatorRaftListPeers,
		"remove-peer":     operatorRaftRemovePeer,
		"transfer-leader": operatorRaftTransferLeader,
	}),
	"autopilot": group("operator autopilot", operatorAutopilotUsage, map[string]command{
		"get-config": operatorAutopilotGet,
		"set-config": operatorAutopilotSet,
		"state":      operatorAutopilotState,
	}),
})

const operatorRaftListPeersUsage = `
Usage: coredns-coord operator raft list-peers [options]

  Prints the Raft peer configuration as the leader sees it (with -stale:
  as the agent's server sees it), one server a line: Node, ID, Address
  (the server port, host:port), State (leader or follower), Voter and
  RaftProtocol.
`

func operatorRaftListPeers(ctx context.Context, s *streams, args []string) int {
	client, hf, closeIdle, code, ok := noArgsClient(s, "operator raft list-peers", operatorRaftListPeersUsage, true, args)
	if !ok {
		return code
	}
	defer closeIdle()
	conf, err := client.Operator().RaftGetConfiguration(hf.queryOptions(ctx))
	if err != nil {
		return failure(s, "Error getting peers from the agent at %s: %v", hf.displayAddr(), err)
	}
	tw := newTable(s.stdout)
	fmt.Fprintln(tw, "Node\tID\tAddress\tState\tVoter\tRaftProtocol")
	for _, sv := range conf.Servers {
		state := "follower"
		if sv.Leader {
			state = "leader"
		}
		protocol := sv.ProtocolVersion
		if protocol == "" {
			protocol = "<=1"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\t%s\n", sv.Node, sv.ID, sv.Address, state, sv.Voter, protocol)
	}
	tw.Flush()
	return exitOK
}

const operatorRaftRemovePeerUsage = `
Usage: coredns-coord operator raft remove-peer [options] (-id ID | -address ADDRESS)

  Removes a server from the Raft configuration, by its node ID or by its
  server address (host:port, as list-peers prints them). For a server that
  is gone for good but was left behind in the configuration; a server that
  still shows in 'members' is better removed with 'force-leave'.

      $ coredns-coord operator raft remove-peer -address 10.0.0.13:8300
`

func operatorRaftRemovePeer(ctx context.Context, s *streams, args []string) int {
	var (
		hf      httpFlags
		id      string
		address string
	)
	fs := newFlagSet(s, "operator raft remove-peer", operatorRaftRemovePeerUsage)
	fs.StringVar(&id, "id", "", "Node ID of the server to remove.")
	fs.StringVar(&address, "address", "", "Server address (host:port) of the server to remove.")
	hf.register(fs, false)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	switch {
	case fs.NArg() > 0:
		return usageError(s, fs, "Too many arguments (expected 0, got %d)", fs.NArg())
	case id == "" && address == "":
		return usageError(s, fs, "An address or id is required for the peer to remove (-id or -address)")
	case id != "" && address != "":
		return usageError(s, fs, "Cannot give both an address and id")
	}
	client, closeIdle, err := hf.client()
	if err != nil {
		return failure(s, "%v", err)
	}
	defer closeIdle()
	w := (&api.WriteOptions{}).WithContext(ctx)
	if address != "" {
		err = client.Operator().RaftRemovePeerByAddress(address, w)
	} else {
		err = client.Operator().RaftRemovePeerByID(id, w)
	}
	if err != nil {
		return failure(s, "Error removing peer through the agent at %s: %v", hf.displayAddr(), err)
	}
	if address != "" {
		fmt.Fprintf(s.stdout, "Removed peer with address %q\n", address)
	} else {
		fmt.Fprintf(s.stdout, "Removed peer with id %q\n", id)
	}
	return exitOK
}
