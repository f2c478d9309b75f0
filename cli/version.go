package cli

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/coredns-coord/coredns-coord/agent"
)

// versions are what main knows and this package does not: our version and
// commit (set with -ldflags) and CoreDNS's version.
var versions struct{ ours, commit, coreDNS string }

// SetVersion records what `version` prints; main calls it at init. An
// empty commit falls back to the one the Go toolchain stamped.
func SetVersion(ours, commit, coreDNS string) {
	versions.ours, versions.commit, versions.coreDNS = ours, commit, coreDNS
}

const versionUsage = `
Usage: coredns-coord version

  Prints the version of coredns-coord, the commit it was built from, the
  CoreDNS it is built on, the Consul release whose HTTP API it answers as,
  and the Go toolchain. -version does the same.
`

func runVersion(_ context.Context, s *streams, args []string) int {
	fs := newFlagSet(s, "version", versionUsage)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(s, fs, "Too many arguments (expected 0, got %d)", fs.NArg())
	}
	ours := versions.ours
	if ours == "" {
		ours = "dev"
	}
	fmt.Fprintf(s.stdout, "coredns-coord %s\n", ours)
	fmt.Fprintf(s.stdout, "Revision %s\n", revision())
	fmt.Fprintf(s.stdout, "CoreDNS %s\n", versions.coreDNS)
	fmt.Fprintf(s.stdout, "Consul API %s\n", agent.ConsulVersion)
	fmt.Fprintf(s.stdout, "Go %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return exitOK
}

// revision is the commit the binary was built from: the one main was given,
// else the one the Go toolchain recorded ("unknown" when neither knows).
func revision() string {
	if versions.commit != "" {
		return versions.commit
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	rev, modified := "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	switch {
	case rev == "":
		return "unknown"
	case modified:
		return rev + " (with uncommitted changes)"
	}
	return rev
}
