package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/hashicorp/consul/api"
)

const kvUsage = `
Usage: coredns-coord kv <subcommand> [options] [args]

  Reads and writes the agent's key/value store.

Subcommands:

  get      Read a key, or list a prefix (-recurse, -keys)
  put      Write a key (VALUE, - for stdin, @FILE for a file's contents)
  delete   Delete a key, or a prefix (-recurse)
  export   Print a prefix as JSON, in the format of 'consul kv export'
  import   Write the keys of such a JSON document

Run 'coredns-coord kv <subcommand> -h' for a subcommand's options.
`

var runKV = group("kv", kvUsage, map[string]command{
	"get":    kvGet,
	"put":    kvPut,
	"delete": kvDelete,
	"export": kvExport,
	"import": kvImport,
})

// normalizeKey drops a leading '/': keys never start with one, and users
// often write "/app/config" for "app/config", as Consul's CLI allows.
func normalizeKey(k string) string {
	return strings.TrimPrefix(k, "/")
}

// readData resolves a data argument: "@FILE" is the file's contents, "-" is
// standard input, anything else is taken literally.
func readData(s *streams, arg string) ([]byte, error) {
	switch {
	case arg == "-":
		b, err := io.ReadAll(s.stdin)
		if err != nil {
			return nil, fmt.Errorf("cannot read stdin: %w", err)
		}
		return b, nil
	case strings.HasPrefix(arg, "@"):
		b, err := os.ReadFile(arg[1:])
		if err != nil {
			return nil, fmt.Errorf("cannot read file: %w", err)
		}
		return b, nil
	default:
		return []byte(arg), nil
	}
}

const kvGetUsage = `
Usage: coredns-coord kv get [options] [KEY_OR_PREFIX]

  Prints the raw value stored at KEY, followed by a newline. A key that does
  not exist is an error (exit 1); a key with an empty value prints an empty line.

  -recurse prints every key under the prefix as "key:value" lines; -keys
  prints only the key names, folded at -separator; -detailed prints the
  key's metadata (indexes, flags, session) with its value.

      $ coredns-coord kv get app/config
      $ coredns-coord kv get -detailed app/config
      $ coredns-coord kv get -recurse app/
      $ coredns-coord kv get -keys -separator=/ app/
`

func kvGet(ctx context.Context, s *streams, args []string) int {
	var (
		hf        httpFlags
		b64       bool
		detailed  bool
		keys      bool
		recurse   bool
		separator string
	)
	fs := newFlagSet(s, "kv get", kvGetUsage)
	fs.BoolVar(&b64, "base64", false, "Print values base64-encoded.")
	fs.BoolVar(&detailed, "detailed", false, "Print the key's metadata (CreateIndex, Flags, LockIndex, ModifyIndex, Session) as well as its value.")
	fs.BoolVar(&keys, "keys", false, "List the keys under the prefix, not their values.")
	fs.BoolVar(&recurse, "recurse", false, "Print every key under the prefix as key:value lines.")
	fs.StringVar(&separator, "separator", "/", "With -keys, list keys only up to the next separator (folders end with it); empty lists every key.")
	hf.register(fs, true)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}

	var key string
	switch fs.NArg() {
	case 0:
	case 1:
		key = normalizeKey(fs.Arg(0))
	default:
		return usageError(s, fs, "Too many arguments (expected 1, got %d)", fs.NArg())
	}
	if key == "" && !recurse && !keys {
		return usageError(s, fs, "Missing KEY argument")
	}

	client, closeIdle, err := hf.client()
	if err != nil {
		return failure(s, "%v", err)
	}
	defer closeIdle()
	kv := client.KV()
	q := hf.queryOptions(ctx)

	switch {
	case keys:
		list, _, err := kv.Keys(key, separator, q)
		if err != nil {
			return failure(s, "Error querying the agent at %s: %v", hf.displayAddr(), err)
		}
		for _, k := range list {
			fmt.Fprintln(s.stdout, k)
		}
		return exitOK

	case recurse:
		pairs, _, err := kv.List(key, q)
		if err != nil {
			return failure(s, "Error querying the agent at %s: %v", hf.displayAddr(), err)
		}
		for i, p := range pairs {
			if detailed {
				if i > 0 {
					fmt.Fprintln(s.stdout)
				}
				printDetailed(s.stdout, p, b64)
				continue
			}
			fmt.Fprintf(s.stdout, "%s:%s\n", p.Key, encodeValue(p.Value, b64))
		}
		return exitOK

	default:
		p, _, err := kv.Get(key, q)
		if err != nil {
			return failure(s, "Error querying the agent at %s: %v", hf.displayAddr(), err)
		}
		if p == nil {
			return failure(s, "No key exists at: %s", key)
		}
		if detailed {
			printDetailed(s.stdout, p, b64)
			return exitOK
		}
		fmt.Fprintf(s.stdout, "%s\n", encodeValue(p.Value, b64))
		return exitOK
	}
}

func encodeValue(v []byte, b64 bool) []byte {
	if !b64 {
		return v
	}
	return []byte(base64.StdEncoding.EncodeToString(v))
}

// printDetailed prints a pair's fields in aligned "Name   value" lines.
func printDetailed(w io.Writer, p *api.KVPair, b64 bool) {
	session := p.Session
	if session == "" {
		session = "-"
	}
	tw := tabwriter.NewWriter(w, 0, 2, 6, ' ', 0)
	rows := []struct {
		name  string
		value any
	}{
		{"CreateIndex", p.CreateIndex},
		{"Flags", p.Flags},
		{"Key", p.Key},
		{"LockIndex", p.LockIndex},
		{"ModifyIndex", p.ModifyIndex},
		{"Session", session},
		{"Value", string(encodeValue(p.Value, b64))},
	}
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%v\n", r.name, r.value)
	}
	tw.Flush()
}

const kvPutUsage = `
Usage: coredns-coord kv put [options] KEY [VALUE]

  Writes VALUE at KEY. VALUE "-" reads standard input, "@FILE" reads the
  file; without VALUE the key is written with an empty value.

      $ coredns-coord kv put app/config max_conns=100
      $ coredns-coord kv put app/cert @cert.pem
      $ echo hello | coredns-coord kv put app/greeting -

  -cas -modify-index N writes only if the key's ModifyIndex is still N
  (N=0: only if the key does not exist yet). -acquire and -release take or
  give up the lock on KEY for the session given with -session.
`

func kvPut(ctx context.Context, s *streams, args []string) int {
	var (
		hf          httpFlags
		b64         bool
		cas         bool
		flags       uint64
		modifyIndex uint64
		session     string
		acquire     bool
		release     bool
	)
	fs := newFlagSet(s, "kv put", kvPutUsage)
	fs.BoolVar(&b64, "base64", false, "VALUE is base64-encoded; decode it before writing.")
	fs.BoolVar(&cas, "cas", false, "Check-and-set: write only if the key's ModifyIndex equals -modify-index (0: only if the key does not exist).")
	fs.Uint64Var(&flags, "flags", 0, "Opaque unsigned integer stored with the key for the application's use.")
	fs.Uint64Var(&modifyIndex, "modify-index", 0, "The ModifyIndex -cas compares against.")
	fs.StringVar(&session, "session", "", "Session ID for -acquire and -release.")
	fs.BoolVar(&acquire, "acquire", false, "Acquire the lock on KEY for -session (creating the key if needed).")
	fs.BoolVar(&release, "release", false, "Release the lock on KEY held by -session.")
	hf.register(fs, false)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}

	if fs.NArg() == 0 {
		return usageError(s, fs, "Missing KEY argument")
	}
	if fs.NArg() > 2 {
		return usageError(s, fs, "Too many arguments (expected 1 or 2, got %d)", fs.NArg())
	}
	key := normalizeKey(fs.Arg(0))
	if key == "" {
		return usageError(s, fs, "Missing KEY argument")
	}
	switch {
	case acquire && release:
		return usageError(s, fs, "Cannot specify both -acquire and -release")
	case (acquire || release) && session == "":
		return usageError(s, fs, "Missing -session (required with -acquire and -release)")
	case cas && (acquire || release):
		return usageError(s, fs, "Cannot combine -cas with -acquire or -release")
	case cas && !flagWasSet(fs, "modify-index"):
		return usageError(s, fs, "Must specify -modify-index with -cas (0 means: only if the key does not exist)")
	case !cas && flagWasSet(fs, "modify-index"):
		return usageError(s, fs, "Cannot specify -modify-index without -cas")
	}

	var value []byte
	if fs.NArg() == 2 {
		v, err := readData(s, fs.Arg(1))
		if err != nil {
			return failure(s, "%v", err)
		}
		value = v
	}
	if b64 {
		v, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(value)))
		if err != nil {
			return failure(s, "Cannot base64-decode the value: %v", err)
		}
		value = v
	}

	client, closeIdle, err := hf.client()
	if err != nil {
		return failure(s, "%v", err)
	}
	defer closeIdle()
	kv := client.KV()
	w := (&api.WriteOptions{}).WithContext(ctx)
	pair := &api.KVPair{Key: key, Flags: flags, Value: value, ModifyIndex: modifyIndex, Session: session}

	switch {
	case cas:
		ok, _, err := kv.CAS(pair, w)
		if err != nil {
			return failure(s, "Did not write to %s: %v", key, err)
		}
		if !ok {
			return failure(s, "Did not write to %s: CAS failed", key)
		}
		fmt.Fprintf(s.stdout, "Success! Data written to: %s\n", key)
	case acquire:
		ok, _, err := kv.Acquire(pair, w)
		if err != nil {
			return failure(s, "Failed writing data: %v", err)
		}
		if !ok {
			return failure(s, "Did not acquire lock on %s", key)
		}
		fmt.Fprintf(s.stdout, "Success! Lock acquired on: %s\n", key)
	case release:
		ok, _, err := kv.Release(pair, w)
		if err != nil {
			return failure(s, "Failed writing data: %v", err)
		}
		if !ok {
			return failure(s, "Did not release lock on %s", key)
		}
		fmt.Fprintf(s.stdout, "Success! Lock released on: %s\n", key)
	default:
		if _, err := kv.Put(pair, w); err != nil {
			return failure(s, "Failed writing data: %v", err)
		}
		fmt.Fprintf(s.stdout, "Success! Data written to: %s\n", key)
	}
	return exitOK
}

const kvDeleteUsage = `
Usage: coredns-coord kv delete [options] KEY_OR_PREFIX

  Deletes KEY; deleting a key that does not exist succeeds. -recurse deletes
  every key that starts with the prefix (with no prefix: every key).
  -cas -modify-index N deletes only if the key's ModifyIndex is still N.

      $ coredns-coord kv delete app/config
      $ coredns-coord kv delete -recurse app/
`

func kvDelete(ctx context.Context, s *streams, args []string) int {
	var (
		hf          httpFlags
		cas         bool
		modifyIndex uint64
		recurse     bool
	)
	fs := newFlagSet(s, "kv delete", kvDeleteUsage)
	fs.BoolVar(&cas, "cas", false, "Check-and-set: delete only if the key's ModifyIndex equals -modify-index.")
	fs.Uint64Var(&modifyIndex, "modify-index", 0, "The ModifyIndex -cas compares against (at least 1).")
	fs.BoolVar(&recurse, "recurse", false, "Delete every key that starts with the prefix.")
	hf.register(fs, false)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}

	var key string
	switch fs.NArg() {
	case 0:
	case 1:
		key = normalizeKey(fs.Arg(0))
	default:
		return usageError(s, fs, "Too many arguments (expected 1, got %d)", fs.NArg())
	}
	switch {
	case key == "" && !recurse:
		return usageError(s, fs, "Missing KEY argument")
	case cas && recurse:
		return usageError(s, fs, "Cannot specify both -cas and -recurse")
	case cas && modifyIndex == 0:
		return usageError(s, fs, "Must specify -modify-index greater than 0 with -cas")
	case !cas && flagWasSet(fs, "modify-index"):
		return usageError(s, fs, "Cannot specify -modify-index without -cas")
	}

	client, closeIdle, err := hf.client()
	if err != nil {
		return failure(s, "%v", err)
	}
	defer closeIdle()
	kv := client.KV()
	w := (&api.WriteOptions{}).WithContext(ctx)

	switch {
	case recurse:
		if _, err := kv.DeleteTree(key, w); err != nil {
			return failure(s, "Did not delete prefix %s: %v", key, err)
		}
		fmt.Fprintf(s.stdout, "Success! Deleted keys with prefix: %s\n", key)
	case cas:
		ok, _, err := kv.DeleteCAS(&api.KVPair{Key: key, ModifyIndex: modifyIndex}, w)
		if err != nil {
			return failure(s, "Did not delete key %s: %v", key, err)
		}
		if !ok {
			return failure(s, "Did not delete key %s: CAS failed", key)
		}
		fmt.Fprintf(s.stdout, "Success! Deleted key: %s\n", key)
	default:
		if _, err := kv.Delete(key, w); err != nil {
			return failure(s, "Did not delete key %s: %v", key, err)
		}
		fmt.Fprintf(s.stdout, "Success! Deleted key: %s\n", key)
	}
	return exitOK
}

// kvEntry is one key in the export/import format of Consul's CLI: a JSON
// array of these, values base64-encoded.
type kvEntry struct {
	Key   string `json:"key"`
	Flags uint64 `json:"flags"`
	Value string `json:"value"`
}

const kvExportUsage = `
Usage: coredns-coord kv export [options] [PREFIX]

  Prints every key under PREFIX (default: all keys) as a JSON array of
  {"key", "flags", "value"} objects, values base64-encoded: the format of
  'consul kv export', which 'kv import' (ours or Consul's) reads back.

      $ coredns-coord kv export app/ > app.json
`

func kvExport(ctx context.Context, s *streams, args []string) int {
	var hf httpFlags
	fs := newFlagSet(s, "kv export", kvExportUsage)
	hf.register(fs, true)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	var prefix string
	switch fs.NArg() {
	case 0:
	case 1:
		prefix = normalizeKey(fs.Arg(0))
	default:
		return usageError(s, fs, "Too many arguments (expected 1, got %d)", fs.NArg())
	}

	client, closeIdle, err := hf.client()
	if err != nil {
		return failure(s, "%v", err)
	}
	defer closeIdle()
	pairs, _, err := client.KV().List(prefix, hf.queryOptions(ctx))
	if err != nil {
		return failure(s, "Error querying the agent at %s: %v", hf.displayAddr(), err)
	}
	entries := make([]kvEntry, 0, len(pairs))
	for _, p := range pairs {
		entries = append(entries, kvEntry{
			Key:   p.Key,
			Flags: p.Flags,
			Value: base64.StdEncoding.EncodeToString(p.Value),
		})
	}
	out, err := json.MarshalIndent(entries, "", "\t")
	if err != nil {
		return failure(s, "Cannot encode the export: %v", err)
	}
	fmt.Fprintf(s.stdout, "%s\n", out)
	return exitOK
}

const kvImportUsage = `
Usage: coredns-coord kv import [options] [@FILE | - | DATA]

  Writes every key of a JSON document in the format 'kv export' prints.
  "@FILE" reads the file, "-" or no argument reads standard input, anything
  else is the JSON itself. The whole document is checked before the first
  key is written; the keys are then written one by one, not atomically.

      $ coredns-coord kv import @app.json
      $ coredns-coord kv import -prefix staging/ @app.json
`

func kvImport(ctx context.Context, s *streams, args []string) int {
	var (
		hf     httpFlags
		prefix string
	)
	fs := newFlagSet(s, "kv import", kvImportUsage)
	fs.StringVar(&prefix, "prefix", "", "Prepend this prefix to every imported key (a '/' is put between them unless the prefix ends with one).")
	hf.register(fs, false)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	src := "-"
	switch fs.NArg() {
	case 0:
	case 1:
		src = fs.Arg(0)
	default:
		return usageError(s, fs, "Too many arguments (expected 1, got %d)", fs.NArg())
	}
	if src == "" {
		return usageError(s, fs, "Empty DATA argument")
	}
	data, err := readData(s, src)
	if err != nil {
		return failure(s, "%v", err)
	}

	var entries []kvEntry
	if err := json.Unmarshal(data, &entries); err != nil {
		return failure(s, "Cannot parse the import data (want a JSON array of {\"key\", \"flags\", \"value\"}): %v", err)
	}
	prefix = normalizeKey(prefix)
	pairs := make([]*api.KVPair, 0, len(entries))
	for i, e := range entries {
		key := normalizeKey(e.Key)
		if prefix != "" {
			key = strings.TrimSuffix(prefix, "/") + "/" + key
		}
		if key == "" {
			return failure(s, "Entry %d has no key", i)
		}
		value, err := base64.StdEncoding.DecodeString(e.Value)
		if err != nil {
			return failure(s, "Cannot base64-decode the value of key %s: %v", e.Key, err)
		}
		pairs = append(pairs, &api.KVPair{Key: key, Flags: e.Flags, Value: value})
	}

	client, closeIdle, err := hf.client()
	if err != nil {
		return failure(s, "%v", err)
	}
	defer closeIdle()
	kv := client.KV()
	w := (&api.WriteOptions{}).WithContext(ctx)
	for _, p := range pairs {
		if _, err := kv.Put(p, w); err != nil {
			return failure(s, "Failed writing data for key %s: %v", p.Key, err)
		}
		fmt.Fprintf(s.stdout, "Imported: %s\n", p.Key)
	}
	return exitOK
}
