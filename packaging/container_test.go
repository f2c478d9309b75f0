package packaging

import (
	"debug/buildinfo"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/hashicorp/consul/api"
)

// The binary make static builds is what distroless, scratch and an empty
// root need: no interpreter, no dynamic section, no shared library; no
// cgo, paths trimmed, the version stamped.
func TestBinaryIsStatic(t *testing.T) {
	needsBinary(t)
	f, err := elf.Open(binary)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("program header %v: the binary is dynamically linked", p.Type)
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("imported libraries %q (%v)", libs, err)
	}
	info, err := buildinfo.ReadFile(binary)
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	if settings["CGO_ENABLED"] != "0" || settings["-trimpath"] != "true" {
		t.Errorf("build settings: CGO_ENABLED=%q -trimpath=%q", settings["CGO_ENABLED"], settings["-trimpath"])
	}
	// -trimpath leaves -ldflags out of the build info; the version shows
	// in the binary's own output.
	out, err := exec.Command(binary, "-version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), testVersion) {
		t.Errorf("-version: %v: %s, want %s in it", err, out, testVersion)
	}
}

// The image's default Corefile runs in a root that holds nothing but the
// binary and that Corefile, as the non-root user of the distroless image,
// and answers DNS and the HTTP API there.
func TestRunsInEmptyRoot(t *testing.T) {
	if !inOwnNamespaces(t) {
		return
	}
	root := openDir(t)
	copyFile(t, binary, filepath.Join(root, "coredns-coord"), 0o755)
	copyFile(t, "docker/Corefile.dev", filepath.Join(root, "Corefile"), 0o644)
	if entries, _ := os.ReadDir(root); len(entries) != 2 {
		t.Fatalf("the root holds %d entries, want the binary and the Corefile", len(entries))
	}
	p := start(t, "coredns-coord in an empty root", []string{"/coredns-coord", "-conf", "/Corefile"}, nil,
		&syscall.SysProcAttr{Chroot: root, Credential: &syscall.Credential{Uid: 65532, Gid: 65532}})
	eventually(t, "a DNS answer from the empty root", func() bool {
		return answersA("127.0.0.1:8600", testHostname+".node.consul", "127.0.0.1")
	}, p)
	c, err := api.NewClient(&api.Config{Address: "127.0.0.1:8500"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.KV().Put(&api.KVPair{Key: "empty/root", Value: []byte("yes")}, nil); err != nil {
		t.Fatal(err)
	}
	if kv, _, err := c.KV().Get("empty/root", nil); err != nil || kv == nil || string(kv.Value) != "yes" {
		t.Fatalf("KV get: %+v, %v", kv, err)
	}
	if status := procStatus(t, p.cmd.Process.Pid); status["Uid"] != "65532\t65532\t65532\t65532" {
		t.Errorf("runs as Uid %q, want 65532", status["Uid"])
	}
}

// The Dockerfile builds in one stage with make static and ships only the
// binary and the default Corefile on distroless's static base, as a
// non-root user.
func TestDockerfile(t *testing.T) {
	var froms, runs []string
	user, entrypoint := "", ""
	for _, line := range strings.Split(readFile(t, "docker/Dockerfile"), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 2 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		rest := strings.Join(fields[1:], " ")
		switch fields[0] {
		case "FROM":
			froms = append(froms, rest)
		case "RUN":
			runs = append(runs, rest)
		case "USER":
			user = rest
		case "ENTRYPOINT":
			entrypoint = rest
		case "COPY":
			if src := fields[len(fields)-2]; !strings.HasPrefix(line, "COPY --from") && src != "." {
				if _, err := os.Stat(filepath.Join("..", src)); err != nil {
					t.Errorf("COPY %s: %v", src, err)
				}
			}
		}
	}
	if len(froms) != 2 || !strings.HasPrefix(froms[1], "gcr.io/distroless/static") {
		t.Errorf("stages %q: want a build stage and distroless/static", froms)
	}
	if !strings.Contains(strings.Join(runs, "\n"), "make static") {
		t.Errorf("the build stage does not run make static: %q", runs)
	}
	if user == "" || strings.HasPrefix(user, "root") || strings.HasPrefix(user, "0") {
		t.Errorf("USER %q: want a non-root user", user)
	}
	if !strings.Contains(entrypoint, "/usr/local/bin/coredns-coord") {
		t.Errorf("ENTRYPOINT %s", entrypoint)
	}
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// procStatus is /proc/PID/status as key to value.
func procStatus(t *testing.T, pid int) map[string]string {
	t.Helper()
	status := map[string]string{}
	for _, line := range strings.Split(readFile(t, fmt.Sprintf("/proc/%d/status", pid)), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			status[k] = strings.TrimSpace(v)
		}
	}
	return status
}
