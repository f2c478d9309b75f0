// Package cli holds coredns-coord's operator subcommands: kv, lock, watch,
// services, maint and reload; members, join, leave and force-leave for the
// gossip pool; operator raft list-peers and remove-peer; keygen and keyring
// for gossip encryption; event; snapshot save and restore. They talk to an
// agent's Consul-compatible HTTP API with the official client,
// github.com/hashicorp/consul/api (keygen needs no agent), and follow the
// flags and output of Consul's own CLI (consul kv, consul lock, consul
// members, ...) closely enough that scripts written for Consul keep
// working. README.md lists where they differ.
//
// main calls Run before handing over to CoreDNS: a first argument that names
// a subcommand runs it, anything else (CoreDNS's flags all start with '-')
// is left alone.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hashicorp/consul/api"
)

// progName is how usage texts and messages name the binary.
const progName = "coredns-coord"

// Exit codes, as Consul's CLI: 0 success, 1 failure (the operation
// failed, the agent could not be reached, the data was bad) and usage
// errors (bad flags or arguments) alike; 127 an unknown command (help.go).
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 1
)

// streams are a command's standard streams; Run uses the process's stdin.
type streams struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// command runs one subcommand with the arguments that follow its name and
// returns the exit code. ctx ends long-running commands (lock, watch) as
// SIGTERM would; the process's own signals are handled inside each command.
type command func(ctx context.Context, s *streams, args []string) int

var commands = map[string]command{
	"debug":       runDebug,
	"event":       runEvent,
	"force-leave": runForceLeave,
	"info":        runInfo,
	"join":        runJoin,
	"keygen":      runKeygen,
	"keyring":     runKeyring,
	"kv":          runKV,
	"leave":       runLeave,
	"lock":        runLock,
	"maint":       runMaint,
	"members":     runMembers,
	"monitor":     runMonitor,
	"operator":    runOperator,
	"reload":      runReload,
	"services":    runServices,
	"snapshot":    runSnapshot,
	"tls":         runTLS,
	"watch":       runWatch,
}

// help, info and version list or read the table above: added at init to
// keep the table's initialization free of cycles.
func init() {
	commands["help"] = runHelp
	commands["version"] = runVersion
}

// Run runs the subcommand named by args[0], if there is one, and returns
// handled=true with its exit code; -h and -version are ours too, and a
// first argument that is neither a flag nor a command is an error. For
// anything else (no arguments, CoreDNS's flags such as -conf or -plugins)
// it returns handled=false so that the caller goes on to start CoreDNS.
func Run(args []string, stdout, stderr io.Writer) (handled bool, code int) {
	return run(context.Background(), &streams{stdin: os.Stdin, stdout: stdout, stderr: stderr}, args)
}

func run(ctx context.Context, s *streams, args []string) (bool, int) {
	if len(args) == 0 {
		return false, 0
	}
	switch {
	case isHelpFlag(args[0]):
		writeTopUsage(s.stdout)
		return true, exitOK
	case args[0] == "-version" || args[0] == "--version":
		return true, runVersion(ctx, s, args[1:])
	}
	cmd, ok := commands[args[0]]
	if !ok {
		if strings.HasPrefix(args[0], "-") {
			return false, 0
		}
		return true, unknownCommand(s, args[0])
	}
	return true, cmd(ctx, s, args[1:])
}

// newFlagSet returns a flag set for one subcommand whose usage message is
// usage followed by the flags' defaults, written to the command's stderr.
func newFlagSet(s *streams, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(s.stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "%s\nOptions:\n\n", withExample(name, usage))
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args and reports whether the command should go on; if
// not, code is its exit code: 0 for -h/-help, 2 for bad flags (the flag
// package has already printed the error and the usage).
func parseFlags(fs *flag.FlagSet, args []string) (code int, ok bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	return exitOK, true
}

// usageError prints a usage problem and a pointer to the command's help, and
// returns the usage exit code.
func usageError(s *streams, fs *flag.FlagSet, format string, a ...any) int {
	fmt.Fprintf(s.stderr, "Error! "+format+"\n", a...)
	fmt.Fprintf(s.stderr, "Run '%s %s -h' for usage.\n", progName, fs.Name())
	return exitUsage
}

// failure prints an error and returns the failure exit code.
func failure(s *streams, format string, a ...any) int {
	fmt.Fprintf(s.stderr, "Error! "+format+"\n", a...)
	return exitFail
}

// flagWasSet reports whether the flag name was given on the command line.
func flagWasSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}

// noArgsClient parses the flags of a subcommand that takes no arguments
// (only the connection flags, -stale when stale) and connects to the
// agent. When ok is false the command returns code.
func noArgsClient(s *streams, name, usage string, stale bool, args []string) (client *api.Client, hf *httpFlags, closeIdle func(), code int, ok bool) {
	hf = &httpFlags{}
	fs := newFlagSet(s, name, usage)
	hf.register(fs, stale)
	if code, ok := parseFlags(fs, args); !ok {
		return nil, nil, nil, code, false
	}
	if fs.NArg() > 0 {
		return nil, nil, nil, usageError(s, fs, "Too many arguments (expected 0, got %d)", fs.NArg()), false
	}
	client, closeIdle, err := hf.client()
	if err != nil {
		return nil, nil, nil, failure(s, "%v", err), false
	}
	return client, hf, closeIdle, 0, true
}

// httpFlags are the connection flags every subcommand takes, with Consul's
// names and environment variables.
type httpFlags struct {
	addr       string
	token      string
	tokenFile  string
	datacenter string
	stale      bool
	// TLS, as Consul's -ca-file, -ca-path, -client-cert, -client-key and
	// -tls-server-name.
	caFile, caPath, clientCert, clientKey, tlsServerName string

	// usedAddr is the address client() connected to, as configured, for
	// messages.
	usedAddr string
}

// register adds the flags to fs; withStale adds -stale, for commands that
// only read.
func (h *httpFlags) register(fs *flag.FlagSet, withStale bool) {
	fs.StringVar(&h.addr, "http-addr", "",
		"Address of the agent's HTTP API, host:port or a URL (http://, https://, unix://). "+
			"Default: $"+api.HTTPAddrEnvName+", else 127.0.0.1:8500.")
	fs.StringVar(&h.token, "token", "",
		"ACL token to send with every request. Default: $"+api.HTTPTokenEnvName+".")
	fs.StringVar(&h.tokenFile, "token-file", "",
		"File holding the ACL token; -token wins if both are given. Default: $"+api.HTTPTokenFileEnvName+".")
	fs.StringVar(&h.datacenter, "datacenter", "",
		"Datacenter to query. Default: the agent's own.")
	fs.StringVar(&h.caFile, "ca-file", "",
		"CA certificate file to verify the agent's HTTPS certificate with. Default: $"+api.HTTPCAFile+".")
	fs.StringVar(&h.caPath, "ca-path", "",
		"Directory of CA certificates to verify the agent's HTTPS certificate with. Default: $"+api.HTTPCAPath+".")
	fs.StringVar(&h.clientCert, "client-cert", "",
		"Client certificate file, for an agent with verify_incoming. Default: $"+api.HTTPClientCert+".")
	fs.StringVar(&h.clientKey, "client-key", "",
		"Key of -client-cert. Default: $"+api.HTTPClientKey+".")
	fs.StringVar(&h.tlsServerName, "tls-server-name", "",
		"Name to expect in the agent's certificate, when it is not the host of -http-addr. Default: $"+api.HTTPTLSServerName+".")
	if withStale {
		fs.BoolVar(&h.stale, "stale", false,
			"Allow any server to answer, without a round trip to the leader; "+
				"answers may be slightly out of date.")
	}
}

// config is the client configuration: Consul's environment variables
// (CONSUL_HTTP_ADDR, CONSUL_HTTP_TOKEN, CONSUL_HTTP_SSL, ...) first, then the
// flags that were given.
func (h *httpFlags) config() *api.Config {
	cfg := api.DefaultConfig()
	if h.addr != "" {
		cfg.Address = h.addr
	}
	switch {
	case h.token != "":
		cfg.Token, cfg.TokenFile = h.token, ""
	case h.tokenFile != "":
		cfg.Token, cfg.TokenFile = "", h.tokenFile
	}
	if h.datacenter != "" {
		cfg.Datacenter = h.datacenter
	}
	for _, f := range []struct{ flag, field *string }{
		{&h.caFile, &cfg.TLSConfig.CAFile}, {&h.caPath, &cfg.TLSConfig.CAPath},
		{&h.clientCert, &cfg.TLSConfig.CertFile}, {&h.clientKey, &cfg.TLSConfig.KeyFile},
		{&h.tlsServerName, &cfg.TLSConfig.Address},
	} {
		if *f.flag != "" {
			*f.field = *f.flag
		}
	}
	return cfg
}

// client returns a client for the agent named by the flags, and a function
// that closes its idle connections, for the command to call when it is done
// (what matters when commands run in-process, as in tests: a pooled
// connection that never carried a request keeps the server's graceful
// shutdown waiting).
func (h *httpFlags) client() (*api.Client, func(), error) {
	cfg := h.config()
	// Before NewClient, which strips a scheme such as unix://.
	h.usedAddr = cfg.Address
	c, err := api.NewClient(cfg)
	if err != nil {
		return nil, func() {}, fmt.Errorf("cannot set up a client for the agent at %s: %w", cfg.Address, err)
	}
	done := func() {}
	if cfg.Transport != nil {
		done = cfg.Transport.CloseIdleConnections
	}
	return c, done, nil
}

// displayAddr is the agent address for messages: the one client() used,
// else the one the flags and environment name.
func (h *httpFlags) displayAddr() string {
	if h.usedAddr != "" {
		return h.usedAddr
	}
	return h.config().Address
}

// queryOptions are the read options the flags ask for.
func (h *httpFlags) queryOptions(ctx context.Context) *api.QueryOptions {
	q := &api.QueryOptions{AllowStale: h.stale}
	return q.WithContext(ctx)
}

// shellArgv is the command line of a child (lock's command, watch's
// handler): one argument is a shell script run with /bin/sh -c, unless
// shell is false; several are a program and its arguments.
func shellArgv(argv []string, shell bool) []string {
	if shell && len(argv) == 1 {
		return []string{"/bin/sh", "-c", argv[0]}
	}
	return argv
}

// group is a command made of subcommands (kv get, services register): it
// runs the one args[0] names, or prints usage.
func group(name, usage string, subs map[string]command) command {
	usage = withExample(name, usage)
	return func(ctx context.Context, s *streams, args []string) int {
		if len(args) == 0 {
			fmt.Fprint(s.stderr, usage)
			return exitUsage
		}
		if sub, ok := subs[args[0]]; ok {
			return sub(ctx, s, args[1:])
		}
		switch args[0] {
		case "-h", "-help", "--help", "help":
			fmt.Fprint(s.stdout, usage)
			return exitOK
		}
		fmt.Fprintf(s.stderr, "Error! Unknown %s subcommand %q.\n\n%s", name, args[0], usage)
		return exitUsage
	}
}
