package packaging

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/hashicorp/consul/api"
	yaml "go.yaml.in/yaml/v2"
)

// composeService is what the tests read of a compose.yaml service.
type composeService struct {
	Hostname    string            `yaml:"hostname"`
	Environment map[string]string `yaml:"environment"`
	Networks    map[string]struct {
		IPv4 string `yaml:"ipv4_address"`
	} `yaml:"networks"`
	Volumes []string `yaml:"volumes"`
	Build   struct {
		Context    string `yaml:"context"`
		Dockerfile string `yaml:"dockerfile"`
	} `yaml:"build"`
}

func composeServices(t *testing.T) map[string]composeService {
	t.Helper()
	var f struct {
		Services map[string]composeService `yaml:"services"`
	}
	if err := yaml.Unmarshal([]byte(readFile(t, "docker/compose.yaml")), &f); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	return f.Services
}

// composeCorefile is the Corefile file a compose service mounts.
func (s composeService) corefile() string {
	for _, v := range s.Volumes {
		if src, dst, _ := strings.Cut(v, ":"); strings.HasPrefix(dst, "/etc/coredns-coord/Corefile") {
			return filepath.Join("docker", src)
		}
	}
	return ""
}

// envRefs are the environment variables a Corefile reads ({$NAME}).
func envRefs(conf string) []string {
	var names []string
	for _, m := range regexp.MustCompile(`\{\$([A-Za-z_][A-Za-z0-9_]*)\}`).FindAllStringSubmatch(conf, -1) {
		names = append(names, m[1])
	}
	return names
}

// The compose example: three servers and two clients, each named by its
// host name, at the address its Corefile binds, with the Corefile and the
// image that exist here.
func TestComposeFile(t *testing.T) {
	services := composeServices(t)
	var names []string
	for name, s := range services {
		names = append(names, name)
		if s.Hostname != name {
			t.Errorf("%s: hostname %q, want the service name (it names the node)", name, s.Hostname)
		}
		want := "docker/Corefile.client"
		if strings.HasPrefix(name, "s") {
			want = "docker/Corefile.server"
		}
		if s.corefile() != want {
			t.Errorf("%s mounts Corefile %q, want %s", name, s.corefile(), want)
		}
		for _, ref := range envRefs(readFile(t, want)) {
			if s.Environment[ref] == "" {
				t.Errorf("%s: its Corefile reads $%s, which its environment does not set", name, ref)
			}
		}
		if ip := s.Networks["coord"].IPv4; ip == "" || ip != s.Environment["ADDR"] {
			t.Errorf("%s: address %q, ADDR %q", name, ip, s.Environment["ADDR"])
		}
		if _, err := os.Stat(filepath.Join("docker", s.Build.Context, s.Build.Dockerfile)); err != nil {
			t.Errorf("%s: build: %v", name, err)
		}
	}
	sort.Strings(names)
	if strings.Join(names, " ") != "c1 c2 s1 s2 s3" {
		t.Errorf("services %q, want s1 s2 s3 (servers) and c1 c2 (clients)", names)
	}
}

// k8sObject is what the tests read of a Kubernetes object.
type k8sObject struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name      string `yaml:"name"`
		Namespace string `yaml:"namespace"`
	} `yaml:"metadata"`
	Data map[string]string `yaml:"data"`
	Spec struct {
		ClusterIP   string `yaml:"clusterIP"`
		ServiceName string `yaml:"serviceName"`
		Replicas    int    `yaml:"replicas"`
		Template    struct {
			Spec struct {
				HostNetwork bool           `yaml:"hostNetwork"`
				Containers  []k8sContainer `yaml:"containers"`
				Volumes     []struct {
					Name      string `yaml:"name"`
					ConfigMap *struct {
						Name string `yaml:"name"`
					} `yaml:"configMap"`
				} `yaml:"volumes"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type k8sContainer struct {
	Image string   `yaml:"image"`
	Args  []string `yaml:"args"`
	Env   []struct {
		Name string `yaml:"name"`
	} `yaml:"env"`
	LivenessProbe  k8sProbe `yaml:"livenessProbe"`
	ReadinessProbe k8sProbe `yaml:"readinessProbe"`
}

type k8sProbe struct {
	HTTPGet struct {
		Path string `yaml:"path"`
		Port int    `yaml:"port"`
	} `yaml:"httpGet"`
}

func kubernetesObjects(t *testing.T) []k8sObject {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader([]byte(readFile(t, "kubernetes/coredns-coord.yaml"))))
	var objs []k8sObject
	for {
		var o k8sObject
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			return objs
		}
		if err != nil {
			t.Fatalf("kubernetes/coredns-coord.yaml: %v", err)
		}
		objs = append(objs, o)
	}
}

// workload is a StatefulSet or DaemonSet with the Corefile its ConfigMap
// holds.
type workload struct {
	k8sObject
	container k8sContainer
	corefile  string
}

func kubernetesWorkloads(t *testing.T) map[string]workload {
	t.Helper()
	objs := kubernetesObjects(t)
	configMaps := map[string]string{}
	for _, o := range objs {
		if o.Kind == "ConfigMap" {
			configMaps[o.Metadata.Name] = o.Data["Corefile"]
		}
	}
	out := map[string]workload{}
	for _, o := range objs {
		if o.Kind != "StatefulSet" && o.Kind != "DaemonSet" {
			continue
		}
		w := workload{k8sObject: o}
		if len(o.Spec.Template.Spec.Containers) != 1 {
			t.Fatalf("%s: %d containers, want 1", o.Metadata.Name, len(o.Spec.Template.Spec.Containers))
		}
		w.container = o.Spec.Template.Spec.Containers[0]
		for _, v := range o.Spec.Template.Spec.Volumes {
			if v.ConfigMap != nil {
				conf, ok := configMaps[v.ConfigMap.Name]
				if !ok || conf == "" {
					t.Fatalf("%s mounts ConfigMap %s, which holds no Corefile", o.Metadata.Name, v.ConfigMap.Name)
				}
				w.corefile = conf
			}
		}
		out[o.Kind] = w
	}
	return out
}

// The Kubernetes example: the kinds it needs, a StatefulSet of three
// servers behind a headless Service, a DaemonSet on the node's network,
// each container given the variables its Corefile reads.
func TestKubernetesManifest(t *testing.T) {
	kinds := map[string]int{}
	services := map[string]k8sObject{}
	for _, o := range kubernetesObjects(t) {
		kinds[o.Kind]++
		if o.APIVersion == "" || o.Metadata.Name == "" {
			t.Errorf("%s without apiVersion or name", o.Kind)
		}
		if o.Kind != "Namespace" && o.Metadata.Namespace != "coredns-coord" {
			t.Errorf("%s %s in namespace %q", o.Kind, o.Metadata.Name, o.Metadata.Namespace)
		}
		if o.Kind == "Service" {
			services[o.Metadata.Name] = o
		}
	}
	if fmt.Sprint(kinds) != "map[ConfigMap:2 DaemonSet:1 Namespace:1 Service:1 StatefulSet:1]" {
		t.Errorf("kinds %v", kinds)
	}
	w := kubernetesWorkloads(t)
	servers, clients := w["StatefulSet"], w["DaemonSet"]
	if servers.Spec.Replicas != 3 || services[servers.Spec.ServiceName].Spec.ClusterIP != "None" {
		t.Errorf("StatefulSet: %d replicas, service %q: want 3 behind a headless Service", servers.Spec.Replicas, servers.Spec.ServiceName)
	}
	if !hasLine(servers.corefile, "server") || hasLine(clients.corefile, "server") {
		t.Error("the StatefulSet must run servers and the DaemonSet clients")
	}
	if !clients.Spec.Template.Spec.HostNetwork {
		t.Error("DaemonSet: hostNetwork is off; its DNS must answer on the node")
	}
	for kind, wl := range w {
		env := map[string]bool{}
		for _, e := range wl.container.Env {
			env[e.Name] = true
		}
		for _, ref := range envRefs(wl.corefile) {
			if !env[ref] {
				t.Errorf("%s: its Corefile reads $%s, which the container does not set", kind, ref)
			}
		}
		if strings.Join(wl.container.Args, " ") != "-conf /etc/coredns-coord/Corefile" {
			t.Errorf("%s: args %q", kind, wl.container.Args)
		}
	}
}

// hasLine reports whether a line of conf is line, spaces aside.
func hasLine(conf, line string) bool {
	for _, l := range strings.Split(conf, "\n") {
		if strings.TrimSpace(l) == line {
			return true
		}
	}
	return false
}

// agentSpec is one agent of an example cluster run on loopback: the
// container's address becomes a 127.0.0.x address, /data a directory of
// its own.
type agentSpec struct {
	hostname, addr, corefile string
	env                      []string
}

// runExample starts every agent in this test's namespaces, with /etc/hosts
// naming the agents as the example's DNS would, and returns them by host
// name.
func runExample(t *testing.T, hosts map[string]string, agents []agentSpec) map[string]*process {
	t.Helper()
	var b strings.Builder
	b.WriteString("127.0.0.1 localhost\n")
	for name, addr := range hosts {
		fmt.Fprintf(&b, "%s %s\n", addr, name)
	}
	hostsFile := filepath.Join(openDir(t), "hosts")
	if err := os.WriteFile(hostsFile, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount(hostsFile, "/etc/hosts", "", syscall.MS_BIND, ""); err != nil {
		t.Fatalf("bind-mount /etc/hosts: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount("/etc/hosts", 0) })
	procs := map[string]*process{}
	for _, a := range agents {
		conf := replaceAll(t, a.corefile, "data_dir /data", "data_dir "+filepath.Join(openDir(t), "data"))
		procs[a.hostname] = startNamed(t, a.hostname, writeCorefile(t, conf), a.env...)
	}
	return procs
}

func all(procs map[string]*process) []*process {
	var out []*process
	for _, p := range procs {
		out = append(out, p)
	}
	return out
}

// loopback maps a container address a.b.c.N to 127.0.0.N.
func loopback(t *testing.T, addr string) string {
	t.Helper()
	i := strings.LastIndexByte(addr, '.')
	if i < 0 {
		t.Fatalf("address %q", addr)
	}
	return "127.0.0" + addr[i:]
}

// The compose example's cluster, run as it is (its Corefiles, host names
// and addresses, on loopback): the servers elect a leader, every agent
// shows in a client's DNS, a client forwards a KV write and runs a health
// check that puts its service in DNS. Then every metric the alert rules
// and the dashboard name must be among what the five agents export.
func TestComposeExampleRuns(t *testing.T) {
	if !inOwnNamespaces(t) {
		return
	}
	hosts := map[string]string{}
	var agents []agentSpec
	for name, s := range composeServices(t) {
		addr := loopback(t, s.Environment["ADDR"])
		hosts[name] = addr
		agents = append(agents, agentSpec{hostname: name, addr: addr, corefile: readFile(t, s.corefile()), env: []string{"ADDR=" + addr}})
	}
	procs := runExample(t, hosts, agents)
	c1DNS := hosts["c1"] + ":8600"
	for name, addr := range hosts {
		eventually(t, name+" in c1's DNS", func() bool { return answersA(c1DNS, name+".node.consul", addr) }, all(procs)...)
	}
	c2, err := api.NewClient(&api.Config{Address: hosts["c2"] + ":8500"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c2.KV().Put(&api.KVPair{Key: "compose/ok", Value: []byte("yes")}, nil); err != nil {
		t.Fatalf("KV write through a client: %v", err)
	}
	err = c2.Agent().ServiceRegister(&api.AgentServiceRegistration{
		Name: "web", Port: 8500, Address: hosts["c2"],
		Check: &api.AgentServiceCheck{TCP: hosts["c2"] + ":8500", Interval: "1s", Timeout: "1s"},
	})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "web, once its check passed, in c1's DNS", func() bool {
		return answersA(c1DNS, "web.service.consul", hosts["c2"])
	}, all(procs)...)

	exported := map[string]bool{}
	for _, addr := range hosts {
		for name := range scrapeNames(t, "http://"+addr+":9153/metrics") {
			exported[name] = true
		}
	}
	checkMonitoringNames(t, exported)
}

// The Kubernetes example's cluster, run as it is: three StatefulSet pods
// found by their headless Service names, a DaemonSet client answering DNS
// on the node's loopback, probes answering on the ports the manifest
// names.
func TestKubernetesExampleRuns(t *testing.T) {
	if !inOwnNamespaces(t) {
		return
	}
	w := kubernetesWorkloads(t)
	hosts := map[string]string{}
	var agents []agentSpec
	for i := 0; i < w["StatefulSet"].Spec.Replicas; i++ {
		pod := fmt.Sprintf("%s-%d", w["StatefulSet"].Metadata.Name, i)
		addr := fmt.Sprintf("127.0.0.%d", 31+i)
		hosts[pod] = addr
		hosts[pod+"."+w["StatefulSet"].Spec.ServiceName+".coredns-coord.svc.cluster.local"] = addr
		agents = append(agents, agentSpec{hostname: pod, addr: addr, corefile: w["StatefulSet"].corefile, env: []string{"POD_IP=" + addr}})
	}
	agents = append(agents, agentSpec{hostname: "node-1", addr: "127.0.0.41", corefile: w["DaemonSet"].corefile, env: []string{"HOST_IP=127.0.0.41"}})
	procs := runExample(t, hosts, agents)
	for _, a := range agents {
		eventually(t, a.hostname+" in the node's DNS", func() bool {
			return answersA("127.0.0.1:8600", a.hostname+".node.consul", a.addr)
		}, all(procs)...)
	}
	c, err := api.NewClient(&api.Config{Address: "127.0.0.1:8500"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.KV().Put(&api.KVPair{Key: "kubernetes/ok", Value: []byte("yes")}, nil); err != nil {
		t.Fatalf("KV write through the node's client agent: %v", err)
	}
	for _, a := range agents {
		kind := "StatefulSet"
		if a.hostname == "node-1" {
			kind = "DaemonSet"
		}
		for _, probe := range []k8sProbe{w[kind].container.LivenessProbe, w[kind].container.ReadinessProbe} {
			url := fmt.Sprintf("http://%s:%d%s", a.addr, probe.HTTPGet.Port, probe.HTTPGet.Path)
			eventually(t, a.hostname+"'s probe "+url, func() bool {
				resp, err := http.Get(url)
				if err != nil {
					return false
				}
				resp.Body.Close()
				return resp.StatusCode == http.StatusOK
			}, all(procs)...)
		}
	}
}
