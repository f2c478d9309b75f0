package packaging

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/miekg/dns"
)

const unitPath = "systemd/coredns-coord.service"

// unitDirectives reads a systemd unit or drop-in: "Section.Key" to its
// values, in order.
func unitDirectives(t *testing.T, path string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	section := ""
	for _, line := range strings.Split(readFile(t, path), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[' && line[len(line)-1] == ']':
			section = line[1 : len(line)-1]
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("%s: %q is no directive", path, line)
			}
			out[section+"."+k] = append(out[section+"."+k], v)
		}
	}
	return out
}

// The unit asks for what the issue names, and agrees with the Corefile
// it ships with: the data directory is the unit's state directory, the
// Corefile and definitions live in its configuration directory, and a
// reload sends SIGUSR1, the signal CoreDNS reloads the Corefile on.
func TestSystemdUnit(t *testing.T) {
	d := unitDirectives(t, unitPath)
	for key, want := range map[string]string{
		"Service.DynamicUser":            "yes",
		"Service.AmbientCapabilities":    "CAP_NET_BIND_SERVICE",
		"Service.CapabilityBoundingSet":  "CAP_NET_BIND_SERVICE",
		"Service.StateDirectory":         "coredns-coord",
		"Service.ConfigurationDirectory": "coredns-coord",
		"Service.ProtectSystem":          "strict",
		"Service.Restart":                "on-failure",
		"Service.ExecStart":              "/usr/local/bin/coredns-coord -conf /etc/coredns-coord/Corefile",
		"Service.ExecReload":             "/bin/kill -USR1 $MAINPID",
		"Install.WantedBy":               "multi-user.target",
	} {
		if got := d[key]; len(got) != 1 || got[0] != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	conf := readFile(t, "systemd/Corefile")
	for _, want := range []string{"data_dir /var/lib/coredns-coord\n", "config_dir /etc/coredns-coord/"} {
		if !strings.Contains(conf, want) {
			t.Errorf("systemd/Corefile lacks %q", want)
		}
	}
}

// systemd-analyze finds nothing to say about the unit (it warns on stderr
// and still exits 0, so any output fails), and rates its sandbox at most
// 2.0 ("OK") on its exposure scale. It runs in a mount namespace where
// /usr/local/bin holds the binary, since verify checks ExecStart exists.
func TestSystemdUnitVerifies(t *testing.T) {
	needsRoot(t, "systemd-analyze", "unshare")
	unit, err := filepath.Abs(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	script := `mount -t tmpfs tmpfs /usr/local/bin && cp "$0" /usr/local/bin/coredns-coord && cd / &&
systemd-analyze verify "$1" && systemd-analyze security --offline=yes --threshold=20 "$1" >/dev/null`
	out, err := exec.Command("unshare", "-m", "sh", "-c", script, binary, unit).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Fatalf("systemd-analyze: %v:\n%s", err, out)
	}
}

// The drop-in sends ~consul to where the unit's Corefile answers DNS.
func TestResolvedDropIn(t *testing.T) {
	d := unitDirectives(t, "resolved/consul.conf")
	if got := d["Resolve.DNS"]; len(got) != 1 || got[0] != "127.0.0.1:8600" {
		t.Errorf("DNS = %q", got)
	}
	if got := d["Resolve.Domains"]; len(got) != 1 || got[0] != "~consul" {
		t.Errorf("Domains = %q", got)
	}
	conf := readFile(t, "systemd/Corefile")
	if !strings.Contains(conf, "consul:8600 ") || !strings.Contains(conf, "bind 127.0.0.1\n") {
		t.Error("systemd/Corefile does not serve consul. on 127.0.0.1:8600")
	}
}

// capNetBindService is CAP_NET_BIND_SERVICE (bit 10) as /proc/PID/status
// shows a capability set.
const capNetBindService = "0000000000000400"

// The unit's Corefile set up as the only resolver (port 53) runs as a
// user that is not root and holds CAP_NET_BIND_SERVICE and nothing else,
// as the unit's AmbientCapabilities and CapabilityBoundingSet give it
// (setpriv here, since no systemd runs tests); without the capability
// the same start fails. SIGHUP re-reads the definition directories and
// not the Corefile; SIGUSR1, the unit's ExecReload, reloads the Corefile.
func TestPort53WithOnlyNetBindService(t *testing.T) {
	if !inOwnNamespaces(t) {
		return
	}
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Fatalf("needs setpriv (util-linux; .ci/run installs it): %v", err)
	}
	const nobody = 65534
	data, defs := filepath.Join(openDir(t), "data"), openDir(t)
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(data, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	// Without the reload plugin only the signal can reload the Corefile.
	conf := replaceAll(t, readFile(t, "systemd/Corefile"),
		":8600", ":53",
		"data_dir /var/lib/coredns-coord", "data_dir "+data,
		"config_dir /etc/coredns-coord/conf.d", "config_dir "+defs,
		"    reload\n", "")
	path := writeCorefile(t, conf)
	setpriv := func(caps string) []string {
		return []string{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--no-new-privs",
			"--inh-caps=" + caps, "--ambient-caps=" + caps, "--bounding-set=" + caps, binary, "-conf", path}
	}

	denied := start(t, "coredns-coord without capabilities", setpriv("-all"), nil, nil)
	eventually(t, "the start without CAP_NET_BIND_SERVICE to fail", func() bool {
		select {
		case <-denied.exited:
			return true
		default:
			return false
		}
	})
	if code := denied.cmd.ProcessState.ExitCode(); code == 0 || !strings.Contains(denied.out.String(), ":53: bind: permission denied") {
		t.Fatalf("without the capability: exit %d, output:\n%s", code, denied.out.String())
	}

	p := start(t, "coredns-coord on port 53", setpriv("-all,+net_bind_service"), nil, nil)
	node := testHostname + ".node.consul"
	eventually(t, "an answer on port 53", func() bool { return answersA("127.0.0.1:53", node, "127.0.0.1") }, p)
	status := procStatus(t, p.cmd.Process.Pid)
	if status["Uid"] != "65534\t65534\t65534\t65534" {
		t.Errorf("Uid %q, want 65534", status["Uid"])
	}
	for _, set := range []string{"CapEff", "CapPrm", "CapBnd", "CapAmb"} {
		if status[set] != capNetBindService {
			t.Errorf("%s = %s, want %s (CAP_NET_BIND_SERVICE only)", set, status[set], capNetBindService)
		}
	}

	reloaded := replaceAll(t, conf, "datacenter dc1\n", "datacenter dc1\n        node_ttl 7s\n")
	if err := os.WriteFile(path, []byte(reloaded), 0o644); err != nil {
		t.Fatal(err)
	}
	definition := `{"service": {"name": "files", "port": 8080, "address": "127.0.0.1"}}`
	if err := os.WriteFile(filepath.Join(defs, "files.json"), []byte(definition), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the definition read on SIGHUP in DNS", func() bool {
		return answersA("127.0.0.1:53", "files.service.consul", "127.0.0.1")
	}, p)
	if r := lookup("127.0.0.1:53", node, dns.TypeA); r == nil || len(r.Answer) != 1 || r.Answer[0].Header().Ttl != 0 {
		t.Fatalf("after SIGHUP the node answer is %v: SIGHUP reloaded the Corefile", r)
	}
	if err := p.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	eventually(t, "node_ttl 7s after SIGUSR1", func() bool {
		r := lookup("127.0.0.1:53", node, dns.TypeA)
		return r != nil && len(r.Answer) == 1 && r.Answer[0].Header().Ttl == 7
	}, p)
}
