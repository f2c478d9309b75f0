package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/consul/api"

	"github.com/coredns-coord/coredns-coord/gossip"
)

const keygenUsage = `
Usage: coredns-coord keygen

  Prints a new random 32-byte gossip encryption key, base64-encoded: a
  value for the coordcatalog block's encrypt setting, or for
  'keyring -install'. Needs no agent.

      $ coredns-coord keygen
`

func runKeygen(_ context.Context, s *streams, args []string) int {
	fs := newFlagSet(s, "keygen", keygenUsage)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(s, fs, "Too many arguments (expected 0, got %d)", fs.NArg())
	}
	key, err := gossip.GenerateKey()
	if err != nil {
		return failure(s, "%v", err)
	}
	fmt.Fprintln(s.stdout, key)
	return exitOK
}

const keyringUsage = `
Usage: coredns-coord keyring [options] (-list | -list-primary | -install KEY | -use KEY | -remove KEY)

  Manages the gossip encryption keys of the whole LAN pool: each operation
  runs on every alive member, and fails (exit 1) if a member refuses it or
  does not answer. Exactly one operation may be given. The agent must run
  with gossip encryption (encrypt); otherwise every operation fails.

  To rotate the key: install the new key, make it the primary one with
  -use once every member has it, then remove the old one.

      $ coredns-coord keyring -list
      $ coredns-coord keyring -install "$(coredns-coord keygen)"
      $ coredns-coord keyring -use NEWKEY
      $ coredns-coord keyring -remove OLDKEY
`

func runKeyring(ctx context.Context, s *streams, args []string) int {
	var (
		hf          httpFlags
		list        bool
		listPrimary bool
		installKey  string
		useKey      string
		removeKey   string
		relay       int
	)
	fs := newFlagSet(s, "keyring", keyringUsage)
	fs.BoolVar(&list, "list", false, "List the keys installed on the members, with how many members have each.")
	fs.BoolVar(&listPrimary, "list-primary", false, "List the primary keys of the members, with how many members use each.")
	fs.StringVar(&installKey, "install", "", "Install a new key (base64) on every member.")
	fs.StringVar(&useKey, "use", "", "Make an installed key the primary one, which encrypts messages, on every member.")
	fs.StringVar(&removeKey, "remove", "", "Remove a key that is not the primary one from every member.")
	fs.IntVar(&relay, "relay-factor", 0, "Accepted for compatibility with Consul (0 to 5); has no effect.")
	hf.register(fs, false)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(s, fs, "Too many arguments (expected 0, got %d)", fs.NArg())
	}
	actions := 0
	for _, set := range []bool{list, listPrimary, flagWasSet(fs, "install"), flagWasSet(fs, "use"), flagWasSet(fs, "remove")} {
		if set {
			actions++
		}
	}
	switch {
	case actions == 0:
		return usageError(s, fs, "Missing operation: one of -list, -list-primary, -install, -use or -remove")
	case actions > 1:
		return usageError(s, fs, "Only a single action is allowed")
	case flagWasSet(fs, "install") && installKey == "",
		flagWasSet(fs, "use") && useKey == "",
		flagWasSet(fs, "remove") && removeKey == "":
		return usageError(s, fs, "Missing KEY value")
	case relay < 0 || relay > 5:
		return usageError(s, fs, "-relay-factor must be between 0 and 5, got %d", relay)
	}

	client, closeIdle, err := hf.client()
	if err != nil {
		return failure(s, "%v", err)
	}
	defer closeIdle()
	op := client.Operator()

	if list || listPrimary {
		what := "installed"
		if listPrimary {
			what = "primary"
		}
		fmt.Fprintf(s.stdout, "==> Gathering %s encryption keys...\n", what)
		q := (&api.QueryOptions{RelayFactor: uint8(relay)}).WithContext(ctx)
		responses, err := op.KeyringList(q)
		if err != nil {
			return failure(s, "Error listing keys through the agent at %s: %v", hf.displayAddr(), err)
		}
		for _, r := range responses {
			keys := r.Keys
			if listPrimary {
				keys = r.PrimaryKeys
			}
			fmt.Fprint(s.stdout, formatKeyring(r, keys))
		}
		return exitOK
	}

	w := (&api.WriteOptions{RelayFactor: uint8(relay)}).WithContext(ctx)
	switch {
	case installKey != "":
		fmt.Fprintln(s.stdout, "==> Installing new gossip encryption key...")
		err = op.KeyringInstall(installKey, w)
	case useKey != "":
		fmt.Fprintln(s.stdout, "==> Changing primary gossip encryption key...")
		err = op.KeyringUse(useKey, w)
	default:
		fmt.Fprintln(s.stdout, "==> Removing gossip encryption key...")
		err = op.KeyringRemove(removeKey, w)
	}
	if err != nil {
		return failure(s, "Error changing the keyring through the agent at %s: %v", hf.displayAddr(), err)
	}
	return exitOK
}

// formatKeyring prints one pool's answer as 'consul keyring -list' does: a
// blank line, the pool's name, the members' messages, then each key with
// the number of members that have it out of the number asked. Keys and
// messages are sorted (Consul prints them in map order).
func formatKeyring(r *api.KeyringResponse, keys map[string]int) string {
	var b strings.Builder
	pool := r.Datacenter + " (LAN)"
	switch {
	case r.WAN:
		pool = "WAN"
	case r.Segment != "":
		pool += " [" + r.Segment + "]"
	case r.Partition != "" && r.Partition != "default":
		pool += " [partition: " + r.Partition + "]"
	}
	fmt.Fprintf(&b, "\n%s:\n", pool)
	for _, from := range sortedKeys(r.Messages) {
		fmt.Fprintf(&b, "  ===> %s: %s\n", from, r.Messages[from])
	}
	for _, k := range sortedKeys(keys) {
		fmt.Fprintf(&b, "  %s [%d/%d]\n", k, keys[k], r.NumNodes)
	}
	return b.String()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
