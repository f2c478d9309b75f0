package cli

import (
	"context"
	"fmt"
	"regexp"

	"github.com/hashicorp/consul/api"
)

const eventUsage = `
Usage: coredns-coord event [options] -name NAME [PAYLOAD]

  Fires a user event through the agent: it is gossiped to every agent of
  the datacenter, and those that match the filters deliver it to their
  watches ('watch -type event'). -node, -service and -tag are regular
  expressions on node names, service names and the services' tags
  (-tag needs -service). PAYLOAD (optional) is sent as is.

      $ coredns-coord event -name deploy
      $ coredns-coord event -name deploy -service web -tag v2 build-1234
`

func runEvent(ctx context.Context, s *streams, args []string) int {
	var (
		hf      httpFlags
		name    string
		node    string
		service string
		tag     string
	)
	fs := newFlagSet(s, "event", eventUsage)
	fs.StringVar(&name, "name", "", "Name of the event (required).")
	fs.StringVar(&node, "node", "", "Regular expression: only nodes whose name matches act on the event.")
	fs.StringVar(&service, "service", "", "Regular expression: only nodes with a matching service act on the event.")
	fs.StringVar(&tag, "tag", "", "Regular expression on the tags of the services -service matches; needs -service.")
	hf.register(fs, false)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if name == "" {
		return usageError(s, fs, "Event name must be specified (-name)")
	}
	for _, f := range []struct{ what, expr string }{{"node", node}, {"service", service}, {"tag", tag}} {
		if _, err := regexp.Compile(f.expr); err != nil {
			return usageError(s, fs, "Failed to compile %s filter regexp: %v", f.what, err)
		}
	}
	if tag != "" && service == "" {
		return usageError(s, fs, "Cannot provide tag filter without service filter.")
	}
	var payload []byte
	switch fs.NArg() {
	case 0:
	case 1:
		payload = []byte(fs.Arg(0))
	default:
		return usageError(s, fs, "Too many arguments (expected at most 1, got %d)", fs.NArg())
	}

	client, closeIdle, err := hf.client()
	if err != nil {
		return failure(s, "%v", err)
	}
	defer closeIdle()
	ev := &api.UserEvent{Name: name, Payload: payload, NodeFilter: node, ServiceFilter: service, TagFilter: tag}
	id, _, err := client.Event().Fire(ev, (&api.WriteOptions{}).WithContext(ctx))
	if err != nil {
		return failure(s, "Error firing event through the agent at %s: %v", hf.displayAddr(), err)
	}
	fmt.Fprintf(s.stdout, "Event ID: %s\n", id)
	return exitOK
}
