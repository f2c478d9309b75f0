package packaging

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/coredns-coord/coredns-coord/internal/testutil"
)

// testVersion is stamped into the binary the tests build.
const testVersion = "0.0.0-packaging-test"

// binary is the static coredns-coord that `make static` built for this
// package, as the Dockerfile and make release build theirs.
var binary string

const (
	// binaryEnv hands the binary to this test binary run again in
	// namespaces of its own.
	binaryEnv = "COORD_PACKAGING_BINARY"
	// namespacesEnv marks that run.
	namespacesEnv = "COORD_PACKAGING_NAMESPACES"
	// testHostname is the host name in that run, so the default node
	// name (the host name's first label) is known.
	testHostname = "packaging-test"
)

func TestMain(m *testing.M) {
	if binary = os.Getenv(binaryEnv); binary != "" {
		os.Exit(m.Run())
	}
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "coredns-coord-packaging")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "coredns-coord")
	build := exec.Command("make", "-s", "-C", "..", "static", "OUT="+binary, "VERSION="+testVersion)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "make static:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// needsBinary skips t under -short, which builds no binary: t runs in
// make test.
func needsBinary(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts the static coredns-coord binary, which -short does not build; runs in make test")
	}
}

// needsRoot fails t when it cannot run as root (make test runs as root;
// .ci/run installs the tools) and skips it under -short.
func needsRoot(t *testing.T, tools ...string) {
	t.Helper()
	needsBinary(t)
	if os.Geteuid() != 0 {
		t.Fatal("needs root: make test runs as root")
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("needs %s (.ci/run installs it): %v", tool, err)
		}
	}
}

// inOwnNamespaces runs test t again in a network, mount and UTS namespace
// of its own (unshare -n -m -u) and reports false; in that run it brings
// up loopback, sets the host name to testHostname and reports true. There
// the examples' fixed ports (53, 8500, 8600) are free, 127.0.0.x
// addresses stand for containers and /etc/hosts may be replaced.
func inOwnNamespaces(t *testing.T) bool {
	t.Helper()
	if os.Getenv(namespacesEnv) == "1" {
		if out, err := exec.Command("ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
			t.Fatalf("ip link set lo up: %v: %s", err, out)
		}
		if err := syscall.Sethostname([]byte(testHostname)); err != nil {
			t.Fatal(err)
		}
		return true
	}
	needsRoot(t, "unshare", "ip", "hostname")
	args := []string{"-n", "-m", "-u", os.Args[0], "-test.run=^" + t.Name() + "$", "-test.v", "-test.count=1"}
	if d, ok := t.Deadline(); ok {
		args = append(args, "-test.timeout="+time.Until(d).Round(time.Second).String())
	}
	cmd := exec.Command("unshare", args...)
	cmd.Env = append(os.Environ(), namespacesEnv+"=1", binaryEnv+"="+binary)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s in namespaces of its own: %v", t.Name(), err)
	}
	return false
}

// process is a running coredns-coord.
type process struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	out    *testutil.SyncBuffer
	exited chan struct{}
}

// start runs argv (the binary, perhaps behind a wrapper such as setpriv)
// with env added to the test's; t's cleanup kills it.
func start(t *testing.T, name string, argv []string, env []string, attr *syscall.SysProcAttr) *process {
	t.Helper()
	p := &process{t: t, name: name, out: &testutil.SyncBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.SysProcAttr = attr
	if attr != nil && attr.Chroot != "" {
		p.cmd.Dir = "/" // inside the new root, not the test's directory outside it
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.out.String())
		}
	})
	return p
}

// startNamed runs the binary with the Corefile conf and env, with host
// name hostname in a UTS namespace of its own (a container's host name,
// which names the node).
func startNamed(t *testing.T, hostname, conf string, env ...string) *process {
	t.Helper()
	argv := []string{"unshare", "-u", "sh", "-c", `hostname "$0" && exec "$@"`, hostname, binary, "-conf", conf}
	return start(t, hostname, argv, env, nil)
}

func (p *process) kill() {
	select {
	case <-p.exited:
	default:
		p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.exited
	}
}

// eventually polls cond every 50 ms for up to 60 s; it fails t when p
// (if any) exits first or time runs out.
func eventually(t *testing.T, what string, cond func() bool, procs ...*process) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		for _, p := range procs {
			select {
			case <-p.exited:
				t.Fatalf("%s exited while waiting for %s:\n%s", p.name, what, p.out.String())
			default:
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// lookup asks server (host:port) over UDP; nil on any error.
func lookup(server, name string, qtype uint16) *dns.Msg {
	c := &dns.Client{Net: "udp", Timeout: time.Second}
	r, _, err := c.Exchange(new(dns.Msg).SetQuestion(dns.Fqdn(name), qtype), server)
	if err != nil {
		return nil
	}
	return r
}

// answersA reports whether server answers name with exactly the A
// records want (in any order).
func answersA(server, name string, want ...string) bool {
	r := lookup(server, name, dns.TypeA)
	if r == nil || r.Rcode != dns.RcodeSuccess || len(r.Answer) != len(want) {
		return false
	}
	got := map[string]bool{}
	for _, rr := range r.Answer {
		if a, ok := rr.(*dns.A); ok {
			got[a.A.String()] = true
		}
	}
	for _, w := range want {
		if !got[w] {
			return false
		}
	}
	return true
}

// readFile returns a file of this directory.
func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// writeCorefile writes conf into a new directory readable by everyone
// (agents in these tests may run as another user) and returns its path.
func writeCorefile(t *testing.T, conf string) string {
	t.Helper()
	dir := openDir(t)
	path := filepath.Join(dir, "Corefile")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// openDir is a new directory that every user may enter and read.
func openDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "coredns-coord-packaging")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// replaceAll replaces each old with its new in s and fails t when an old
// is not there, so an edit to an example cannot silently skip a test's
// substitution.
func replaceAll(t *testing.T, s string, oldNew ...string) string {
	t.Helper()
	for i := 0; i < len(oldNew); i += 2 {
		if !strings.Contains(s, oldNew[i]) {
			t.Fatalf("%q not found in:\n%s", oldNew[i], s)
		}
		s = strings.ReplaceAll(s, oldNew[i], oldNew[i+1])
	}
	return s
}
