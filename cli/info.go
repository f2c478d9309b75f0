package cli

import (
	"context"
	"fmt"
)

const infoUsage = `
Usage: coredns-coord info [options]

  Prints the agent's figures for debugging, as 'consul info' does: the
  Stats of agent/self by section (agent, build, consul, raft on servers,
  runtime, serf_lan), one "name = value" a line.
`

func runInfo(ctx context.Context, s *streams, args []string) int {
	client, hf, closeIdle, code, ok := noArgsClient(s, "info", infoUsage, false, args)
	if !ok {
		return code
	}
	defer closeIdle()
	self, err := client.Agent().Self()
	if err != nil {
		return failure(s, "Error querying the agent at %s: %v", hf.displayAddr(), err)
	}
	stats := self["Stats"]
	for _, name := range sortedKeys(stats) {
		section, _ := stats[name].(map[string]any)
		fmt.Fprintf(s.stdout, "%s:\n", name)
		for _, k := range sortedKeys(section) {
			fmt.Fprintf(s.stdout, "\t%s = %v\n", k, section[k])
		}
	}
	return exitOK
}
