package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// netnsEnv marks a test process that runs in a network namespace of its
// own, where iptables rules on 127.0.0.x reach nothing outside the test.
const netnsEnv = "COORD_E2E_NETNS"

// inOwnNetns reports whether this process runs in its own network
// namespace (see runInNetns).
func inOwnNetns() bool { return os.Getenv(netnsEnv) == "1" }

// canPartition says whether this machine can run a test in a network
// namespace with iptables, and if not, why.
func canPartition() (bool, string) {
	if os.Geteuid() != 0 {
		return false, "needs root"
	}
	for _, tool := range []string{"unshare", "iptables", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			return false, "needs " + tool
		}
	}
	if out, err := exec.Command("unshare", "-n", "true").CombinedOutput(); err != nil {
		return false, fmt.Sprintf("unshare -n: %v: %s", err, out)
	}
	return true, ""
}

// runInNetns runs test t again, in a new network namespace (unshare -n),
// with args, and fails t if that run fails. Its output is this test's.
func runInNetns(t *testing.T, args ...string) {
	t.Helper()
	argv := []string{"-n", os.Args[0], "-test.run=^" + t.Name() + "$", "-test.v", "-test.count=1"}
	if d, ok := t.Deadline(); ok {
		argv = append(argv, "-test.timeout="+time.Until(d).Round(time.Second).String())
	}
	cmd := exec.Command("unshare", append(argv, args...)...)
	cmd.Env = append(os.Environ(), netnsEnv+"=1", binaryEnv+"="+binary)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s in its own network namespace: %v", t.Name(), err)
	}
}

// netnsUp brings up the loopback interface of a fresh network namespace.
func netnsUp(t *testing.T) {
	t.Helper()
	if out, err := exec.Command("ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("ip link set lo up: %v: %s", err, out)
	}
}

// iptables runs one iptables command in this process's network namespace.
func iptables(t testing.TB, args ...string) {
	t.Helper()
	if out, err := exec.Command("iptables", args...).CombinedOutput(); err != nil {
		t.Fatalf("iptables %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// isolate cuts the address ip off: nothing reaches it and nothing leaves
// it. Agents dial their peers from their bind address, so this cuts Raft,
// RPC and gossip; the test's own HTTP and DNS on 127.0.0.1 still pass.
func isolate(t testing.TB, ip string) {
	iptables(t, "-I", "INPUT", "-s", ip, "-j", "DROP")
	iptables(t, "-I", "INPUT", "-d", ip, "-j", "DROP")
}

// healNetwork removes every rule isolate added.
func healNetwork(t testing.TB) { iptables(t, "-F", "INPUT") }
