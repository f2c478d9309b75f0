package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/consul/api"

	"github.com/coredns-coord/coredns-coord/structs"
)

const maintUsage = `
Usage: coredns-coord maint [options]

  Places the agent's node, or one of its services (-service ID), in
  maintenance mode, or takes it out. Maintenance registers a critical check
  (_node_maintenance, _service_maintenance:ID) whose notes are the reason,
  so that the node or service drops out of DNS answers and healthy-only
  queries until maintenance is disabled.

  With neither -enable nor -disable, lists what is in maintenance.

      $ coredns-coord maint -enable -reason "kernel upgrade"
      $ coredns-coord maint -enable -service web-1 -reason "draining"
      $ coredns-coord maint -disable -service web-1
      $ coredns-coord maint
`

func runMaint(ctx context.Context, s *streams, args []string) int {
	var (
		hf        httpFlags
		enable    bool
		disable   bool
		reason    string
		serviceID string
	)
	fs := newFlagSet(s, "maint", maintUsage)
	fs.BoolVar(&enable, "enable", false, "Enable maintenance mode.")
	fs.BoolVar(&disable, "disable", false, "Disable maintenance mode.")
	fs.StringVar(&reason, "reason", "", "Why, with -enable: the notes of the maintenance check (default: the agent's message).")
	fs.StringVar(&serviceID, "service", "", "ID of the service to act on, instead of the node.")
	hf.register(fs, false)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	switch {
	case fs.NArg() > 0:
		return usageError(s, fs, "Too many arguments (expected 0, got %d)", fs.NArg())
	case enable && disable:
		return usageError(s, fs, "Only one of -enable or -disable may be given")
	case !enable && flagWasSet(fs, "reason"):
		return usageError(s, fs, "-reason may only be given with -enable")
	case !enable && !disable && flagWasSet(fs, "service"):
		return usageError(s, fs, "-service needs -enable or -disable")
	case flagWasSet(fs, "service") && serviceID == "":
		return usageError(s, fs, "-service needs a service ID")
	}

	client, closeIdle, err := hf.client()
	if err != nil {
		return failure(s, "%v", err)
	}
	defer closeIdle()
	agent := client.Agent()
	q := (&api.QueryOptions{}).WithContext(ctx)

	switch {
	case !enable && !disable:
		return maintList(s, &hf, agent, q)
	case serviceID == "" && enable:
		if err := agent.EnableNodeMaintenance(reason); err != nil {
			return failure(s, "Error enabling node maintenance on the agent at %s: %v", hf.displayAddr(), err)
		}
		fmt.Fprintln(s.stdout, "Node maintenance is now enabled")
	case serviceID == "":
		if err := agent.DisableNodeMaintenance(); err != nil {
			return failure(s, "Error disabling node maintenance on the agent at %s: %v", hf.displayAddr(), err)
		}
		fmt.Fprintln(s.stdout, "Node maintenance is now disabled")
	case enable:
		if err := agent.EnableServiceMaintenanceOpts(serviceID, reason, q); err != nil {
			return failure(s, "Error enabling maintenance for service %q on the agent at %s: %v", serviceID, hf.displayAddr(), err)
		}
		fmt.Fprintf(s.stdout, "Service maintenance is now enabled for %q\n", serviceID)
	default:
		if err := agent.DisableServiceMaintenanceOpts(serviceID, q); err != nil {
			return failure(s, "Error disabling maintenance for service %q on the agent at %s: %v", serviceID, hf.displayAddr(), err)
		}
		fmt.Fprintf(s.stdout, "Service maintenance is now disabled for %q\n", serviceID)
	}
	return exitOK
}

// maintList prints the node's and services' maintenance checks as 'consul
// maint' does: the node first, then services by ID; nothing if none.
func maintList(s *streams, hf *httpFlags, agent *api.Agent, q *api.QueryOptions) int {
	checks, err := agent.ChecksWithFilterOpts("", q)
	if err != nil {
		return failure(s, "Error querying the agent at %s: %v", hf.displayAddr(), err)
	}
	ids := make([]string, 0, len(checks))
	for id := range checks {
		if id == structs.NodeMaintCheckID || strings.HasPrefix(id, structs.ServiceMaintCheckPrefix) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return exitOK
	}
	// "_node_maintenance" sorts before "_service_maintenance:...".
	slices.Sort(ids)
	var b strings.Builder
	for _, id := range ids {
		c := checks[id]
		if id == structs.NodeMaintCheckID {
			node := c.Node
			if node == "" {
				if node, err = agent.NodeName(); err != nil {
					return failure(s, "Error querying the agent at %s: %v", hf.displayAddr(), err)
				}
			}
			fmt.Fprintf(&b, "Node:\n  Name:   %s\n  Reason: %s\n\n", node, c.Notes)
			continue
		}
		svc := c.ServiceID
		if svc == "" {
			svc = strings.TrimPrefix(id, structs.ServiceMaintCheckPrefix)
		}
		fmt.Fprintf(&b, "Service:\n  ID:     %s\n  Reason: %s\n\n", svc, c.Notes)
	}
	fmt.Fprint(s.stdout, b.String())
	return exitOK
}

const reloadUsage = `
Usage: coredns-coord reload [options]

  Asks the local agent to reload its configuration (PUT agent/reload), as
  'consul reload' does; the agent's log tells how the reload went.
`

func runReload(_ context.Context, s *streams, args []string) int {
	client, hf, closeIdle, code, ok := noArgsClient(s, "reload", reloadUsage, false, args)
	if !ok {
		return code
	}
	defer closeIdle()
	if err := client.Agent().Reload(); err != nil {
		return failure(s, "Error reloading the agent at %s: %v", hf.displayAddr(), err)
	}
	fmt.Fprintln(s.stdout, "Configuration reload triggered")
	return exitOK
}
