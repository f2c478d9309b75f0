// Package e2e starts the built coredns-coord binary on loopback ports and
// drives it the way users do: DNS over UDP and TCP, the Consul HTTP API
// through the official client, Prometheus scrapes, reloads and kill -9.
package e2e

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// binary is the coredns-coord built once for the whole package.
var binary string

// binaryEnv names a binary already built for this package: a test that runs
// itself again (in a network namespace) hands its binary down.
const binaryEnv = "COORD_E2E_BINARY"

func TestMain(m *testing.M) {
	if binary = os.Getenv(binaryEnv); binary != "" {
		os.Exit(m.Run())
	}
	// Every test here starts the binary (multiProcess): a -short run skips
	// them all and needs no binary, unless it runs benchmarks.
	flag.Parse()
	if testing.Short() && flag.Lookup("test.bench").Value.String() == "" {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "coredns-coord-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "coredns-coord")
	build := exec.Command("go", "build", "-o", binary, "../cmd/coredns-coord")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build coredns-coord:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// multiProcess skips t under -short: it starts coredns-coord binaries (a
// whole cluster, often), which go test -short, the quick loop, leaves to
// make test.
func multiProcess(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("multi-process: starts coredns-coord binaries; runs in make test")
	}
}
