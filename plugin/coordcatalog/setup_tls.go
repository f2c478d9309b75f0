package coordcatalog

import (
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"

	"github.com/coredns/caddy"
	clog "github.com/coredns/coredns/plugin/pkg/log"

	"github.com/coredns-coord/coredns-coord/agent"
	"github.com/coredns-coord/coredns-coord/internal/tlsutil"
)

// tlsOptions are the HTTPS listener and the tls block (the names are
// DESIGN.md's contract, as Consul's):
//
//	https 127.0.0.1:8501
//	tls {
//	    ca_file FILE
//	    cert_file FILE
//	    key_file FILE
//	    verify_incoming
//	    verify_outgoing
//	    verify_server_hostname
//	}
var tlsOptions = map[string]option{
	"https": valueOption(func(o *options, v string) (err error) {
		o.agent.HTTPSAddr, err = parseHTTP(v)
		return err
	}),
	"tls": {nargs: 0, parse: func(*options, []string) error { return nil }, block: parseTLSBlock},
}

// tlsBlockOptions are the lines of the tls block.
var tlsBlockOptions = map[string]func(t *tlsutil.Config, args []string) error{
	"ca_file":                fileOption(func(t *tlsutil.Config) *string { return &t.CAFile }),
	"cert_file":              fileOption(func(t *tlsutil.Config) *string { return &t.CertFile }),
	"key_file":               fileOption(func(t *tlsutil.Config) *string { return &t.KeyFile }),
	"verify_incoming":        boolOption(func(t *tlsutil.Config) *bool { return &t.VerifyIncoming }),
	"verify_outgoing":        boolOption(func(t *tlsutil.Config) *bool { return &t.VerifyOutgoing }),
	"verify_server_hostname": boolOption(func(t *tlsutil.Config) *bool { return &t.VerifyServerHostname }),
}

func fileOption(field func(*tlsutil.Config) *string) func(*tlsutil.Config, []string) error {
	return func(t *tlsutil.Config, args []string) error {
		if len(args) != 1 {
			return errArgs(1, len(args))
		}
		*field(t) = args[0]
		return nil
	}
}

// boolOption is a flag: alone it means true; true or false may follow.
func boolOption(field func(*tlsutil.Config) *bool) func(*tlsutil.Config, []string) error {
	return func(t *tlsutil.Config, args []string) error {
		switch len(args) {
		case 0:
			*field(t) = true
			return nil
		case 1:
			v, err := strconv.ParseBool(args[0])
			*field(t) = v
			return err
		}
		return errArgs(1, len(args))
	}
}

// parseTLSBlock reads `tls { ... }` and reads the files it names, so that
// a missing file or a certificate that is not its key's fails setup with
// the file's name.
func parseTLSBlock(o *options, c *caddy.Controller) error {
	if o.agent.TLS.Enabled() {
		return c.Err("tls may appear only once")
	}
	err := parseSubBlock(c, func(name string, args []string) error {
		set, ok := tlsBlockOptions[name]
		if !ok {
			return c.Errf("tls: unknown property %q", name)
		}
		if err := set(&o.agent.TLS, args); err != nil {
			return c.Errf("tls: %s: %v", name, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if !o.agent.TLS.Enabled() {
		return c.Err("tls block is empty")
	}
	if err := tlsutil.Check(o.agent.TLS); err != nil {
		return c.Err(err.Error())
	}
	return nil
}

// reloadTLS re-reads the agent's certificates at every startup (a
// Corefile reload) and, once per process, on every SIGHUP.
func reloadTLS(a *agent.Agent, cfg tlsutil.Config) error {
	if a == nil || !cfg.Enabled() {
		return nil
	}
	if err := a.ReloadTLS(cfg); err != nil {
		return err
	}
	tlsAgents.Store(a, struct{}{})
	tlsSIGHUP.Do(watchTLSOnSIGHUP)
	return nil
}

var log = clog.NewWithPlugin(pluginName)

var (
	tlsAgents sync.Map // *agent.Agent → struct{}: the agents SIGHUP reloads
	tlsSIGHUP sync.Once
)

// watchTLSOnSIGHUP re-reads the certificates of every agent with a tls
// block on SIGHUP (CoreDNS ignores it; coordhealth re-reads definitions).
func watchTLSOnSIGHUP() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	go func() {
		for range ch {
			tlsAgents.Range(func(k, _ any) bool {
				a := k.(*agent.Agent)
				select {
				case <-a.Stopping():
					tlsAgents.Delete(k) // released by a reload, or shut down
					return true
				default:
				}
				if err := a.ReloadTLSFiles(); err != nil {
					log.Errorf("SIGHUP: %v; the certificates loaded before stay in use", err)
				}
				return true
			})
		}
	}()
}
