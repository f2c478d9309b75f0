package cli

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"time"

	"github.com/hashicorp/consul/api"
)

const operatorAutopilotUsage = `
Usage: coredns-coord operator autopilot <subcommand> [options]

  Reads and changes the servers' autopilot configuration, kept in the Raft
  log, and shows autopilot's view of the servers.

Subcommands:

  get-config    Print the autopilot configuration
  set-config    Change the autopilot configuration (check-and-set)
  state         Print every server's health as the leader sees it
`

const operatorRaftTransferUsage = `
Usage: coredns-coord operator raft transfer-leader [options] [-id ID]

  Hands Raft leadership to the server with node ID -id, or, without it, to
  the most up-to-date other voter.
`

func operatorRaftTransferLeader(ctx context.Context, s *streams, args []string) int {
	var hf httpFlags
	fs := newFlagSet(s, "operator raft transfer-leader", operatorRaftTransferUsage)
	id := fs.String("id", "", "Node ID of the server to hand leadership to. Default: any up-to-date voter.")
	hf.register(fs, false)
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
	res, err := client.Operator().RaftLeaderTransfer(*id, (&api.QueryOptions{}).WithContext(ctx))
	if err != nil || !res.Success {
		return failure(s, "Error transferring leadership through the agent at %s: %v", hf.displayAddr(), err)
	}
	fmt.Fprintln(s.stdout, "Success")
	return exitOK
}

const operatorAutopilotGetUsage = `
Usage: coredns-coord operator autopilot get-config [options]

  Prints the autopilot configuration, one setting a line.
`

func operatorAutopilotGet(ctx context.Context, s *streams, args []string) int {
	client, hf, closeIdle, code, ok := noArgsClient(s, "operator autopilot get-config", operatorAutopilotGetUsage, true, args)
	if !ok {
		return code
	}
	defer closeIdle()
	c, err := client.Operator().AutopilotGetConfiguration(hf.queryOptions(ctx))
	if err != nil {
		return failure(s, "Error querying the autopilot configuration from the agent at %s: %v", hf.displayAddr(), err)
	}
	tw := newTable(s.stdout)
	fmt.Fprintf(tw, "CleanupDeadServers = %v\n", c.CleanupDeadServers)
	fmt.Fprintf(tw, "LastContactThreshold = %s\n", c.LastContactThreshold)
	fmt.Fprintf(tw, "MaxTrailingLogs = %d\n", c.MaxTrailingLogs)
	fmt.Fprintf(tw, "MinQuorum = %d\n", c.MinQuorum)
	fmt.Fprintf(tw, "ServerStabilizationTime = %s\n", c.ServerStabilizationTime)
	fmt.Fprintf(tw, "ModifyIndex = %d\n", c.ModifyIndex)
	tw.Flush()
	return exitOK
}

const operatorAutopilotSetUsage = `
Usage: coredns-coord operator autopilot set-config [options]

  Changes the settings given and keeps the others, with a check-and-set so
  that a concurrent change is not overwritten (then: exit 1, try again).
`

func operatorAutopilotSet(ctx context.Context, s *streams, args []string) int {
	var hf httpFlags
	fs := newFlagSet(s, "operator autopilot set-config", operatorAutopilotSetUsage)
	cleanup := fs.String("cleanup-dead-servers", "", "true or false: remove servers gossip has seen failed from Raft.")
	maxTrailing := fs.Uint64("max-trailing-logs", 0, "Log entries a healthy server may lag the leader by.")
	minQuorum := fs.Uint("min-quorum", 0, "Fewest voters dead-server cleanup leaves.")
	lastContact := fs.Duration("last-contact-threshold", 0, "Longest a healthy server may go without hearing from the leader.")
	stabilization := fs.Duration("server-stabilization-time", 0, "Kept and returned; not acted on here.")
	hf.register(fs, false)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(s, fs, "Too many arguments (expected 0, got %d)", fs.NArg())
	}
	var cleanupValue bool
	if *cleanup != "" {
		v, err := strconv.ParseBool(*cleanup)
		if err != nil {
			return usageError(s, fs, "-cleanup-dead-servers: want true or false, got %q", *cleanup)
		}
		cleanupValue = v
	}
	client, closeIdle, err := hf.client()
	if err != nil {
		return failure(s, "%v", err)
	}
	defer closeIdle()
	c, err := client.Operator().AutopilotGetConfiguration(hf.queryOptions(ctx))
	if err != nil {
		return failure(s, "Error querying the autopilot configuration from the agent at %s: %v", hf.displayAddr(), err)
	}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "cleanup-dead-servers":
			c.CleanupDeadServers = cleanupValue
		case "max-trailing-logs":
			c.MaxTrailingLogs = *maxTrailing
		case "min-quorum":
			c.MinQuorum = *minQuorum
		case "last-contact-threshold":
			c.LastContactThreshold = api.NewReadableDuration(*lastContact)
		case "server-stabilization-time":
			c.ServerStabilizationTime = api.NewReadableDuration(*stabilization)
		}
	})
	ok, err := client.Operator().AutopilotCASConfiguration(c, (&api.WriteOptions{}).WithContext(ctx))
	switch {
	case err != nil:
		return failure(s, "Error setting the autopilot configuration through the agent at %s: %v", hf.displayAddr(), err)
	case !ok:
		return failure(s, "The autopilot configuration changed meanwhile (index %d); nothing written, try again", c.ModifyIndex)
	}
	fmt.Fprintln(s.stdout, "Configuration updated!")
	return exitOK
}

const operatorAutopilotStateUsage = `
Usage: coredns-coord operator autopilot state [options]

  Prints autopilot's view: whether the cluster is healthy, its failure
  tolerance, the leader and every server with its health and Raft figures.
`

func operatorAutopilotState(ctx context.Context, s *streams, args []string) int {
	client, hf, closeIdle, code, ok := noArgsClient(s, "operator autopilot state", operatorAutopilotStateUsage, false, args)
	if !ok {
		return code
	}
	defer closeIdle()
	st, err := client.Operator().AutopilotState(hf.queryOptions(ctx))
	if err != nil {
		return failure(s, "Error querying the autopilot state from the agent at %s: %v", hf.displayAddr(), err)
	}
	fmt.Fprintf(s.stdout, "Healthy: %v\nFailure Tolerance: %d\nOptimistic Failure Tolerance: %d\nLeader: %s\nVoters: %v\n\n",
		st.Healthy, st.FailureTolerance, st.OptimisticFailureTolerance, st.Leader, st.Voters)
	tw := newTable(s.stdout)
	fmt.Fprintln(tw, "Node\tID\tAddress\tStatus\tHealthy\tLastContact\tLastTerm\tLastIndex\tStableSince")
	for _, id := range sortedKeys(st.Servers) {
		sv := st.Servers[id]
		contact := ""
		if sv.LastContact != nil {
			contact = sv.LastContact.String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\t%s\t%d\t%d\t%s\n", sv.Name, sv.ID, sv.Address, sv.Status, sv.Healthy,
			contact, sv.LastTerm, sv.LastIndex, sv.StableSince.UTC().Format(time.RFC3339))
	}
	tw.Flush()
	return exitOK
}
