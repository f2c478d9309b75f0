// Command coredns-coord is a CoreDNS build with the coordcatalog plugin: a
// service-discovery resolver that answers Consul-style names from a
// Raft-replicated catalog and forwards everything else.
//
// main is the composition root. The Corefile is the only configuration:
// the plugins parse their blocks and declare the agents they configure to
// package agenthost, which starts them on startup; main gives those agents
// the Consul HTTP API, which no plugin imports.
package main

import (
	"os"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	// The in-tree plugins an appliance needs; never core/plugin, which
	// pulls in every plugin CoreDNS has.
	_ "github.com/coredns/coredns/plugin/acl"
	_ "github.com/coredns/coredns/plugin/any"
	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/bufsize"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/debug"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/file"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/hosts"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/loop"
	_ "github.com/coredns/coredns/plugin/metrics"
	_ "github.com/coredns/coredns/plugin/pprof"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/reload"
	_ "github.com/coredns/coredns/plugin/root"
	_ "github.com/coredns/coredns/plugin/tls"

	_ "github.com/coredns-coord/coredns-coord/plugin/coordcatalog"
	_ "github.com/coredns-coord/coredns-coord/plugin/coordhealth"

	"github.com/coredns-coord/coredns-coord/cli"
	"github.com/coredns-coord/coredns-coord/httpapi"
	"github.com/coredns-coord/coredns-coord/plugin/pkg/agenthost"
)

// version and commit are set at build time with -ldflags "-X
// main.version=... -X main.commit=..." (make build does); without a commit,
// version reports the one the Go toolchain stamped, if any.
var (
	version = "0.1.0-dev"
	commit  = ""
)

// directives is the plugin order: a request passes through them top to
// bottom. coordcatalog sits where CoreDNS's own backends sit, after hosts
// and file and before loop and forward, so the consul. zone never reaches
// an upstream. coordhealth adds no handler, so its place does not matter:
// agenthost hands it the agent before the agent's first catalog sync
// whatever the order.
var directives = []string{
	"root",
	"tls",
	"reload",
	"bufsize",
	"bind",
	"debug",
	"ready",
	"health",
	"pprof",
	"prometheus",
	"errors",
	"log",
	"any",
	"loadbalance",
	"acl",
	"cache",
	"hosts",
	"file",
	"coordhealth",
	"coordcatalog",
	"loop",
	"forward",
}

func init() {
	dnsserver.Directives = directives
	agenthost.SetHTTPAPI(httpapi.New)
	cli.SetVersion(version, commit, coremain.CoreVersion)
	cli.Register("validate", runValidate)
}

func main() {
	// Operator subcommands (kv, lock, watch, help, version, validate)
	// first; anything else, such as CoreDNS's -conf or -plugins, starts
	// the server.
	if handled, code := cli.Run(os.Args[1:], os.Stdout, os.Stderr); handled {
		os.Exit(code)
	}
	caddy.AppName = "coredns-coord"
	caddy.AppVersion = version
	coremain.Run()
}
