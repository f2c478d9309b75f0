package httpapi_test

import (
	"encoding/json"
	"os"
	"runtime"
	"testing"
	"time"
)

// agent/host describes the machine in the shape of Consul's (gopsutil's
// names); on Linux every part is read.
func TestAgentHost(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	before := time.Now().UnixNano()
	host, err := s.client.Agent().Host()
	if err != nil {
		t.Fatal(err)
	}
	after := time.Now().UnixNano()
	ct, ok := host["CollectionTime"].(float64)
	if !ok || int64(ct) < before-int64(time.Millisecond) || int64(ct) > after+int64(time.Millisecond) {
		t.Fatalf("CollectionTime %v, want between %d and %d", host["CollectionTime"], before, after)
	}
	if runtime.GOOS != "linux" {
		t.Skip("the rest is read from /proc")
	}

	// Decode again into the fields we check.
	var info struct {
		Memory struct{ Total, Available, Used, Free uint64 }
		CPU    []struct {
			CPU       int    `json:"cpu"`
			ModelName string `json:"modelName"`
		}
		Host struct {
			Hostname      string `json:"hostname"`
			OS            string `json:"os"`
			KernelVersion string `json:"kernelVersion"`
			BootTime      uint64 `json:"bootTime"`
			Procs         uint64 `json:"procs"`
		}
		Disk struct {
			Path  string `json:"path"`
			Total uint64 `json:"total"`
			Used  uint64 `json:"used"`
		}
		Errors []string
	}
	body := s.expect(t, "GET", "/v1/agent/host", "", 200, "")
	if err := json.Unmarshal(body, &info); err != nil {
		t.Fatal(err)
	}
	if len(info.Errors) != 0 {
		t.Fatalf("errors: %v", info.Errors)
	}
	m := info.Memory
	if m.Total == 0 || m.Available > m.Total || m.Free > m.Total || m.Used != m.Total-m.Available {
		t.Fatalf("memory %+v", m)
	}
	if len(info.CPU) == 0 || info.CPU[0].CPU != 0 {
		t.Fatalf("cpus %+v", info.CPU)
	}
	hostname, _ := os.Hostname()
	h := info.Host
	if h.Hostname != hostname || h.OS != "linux" || h.KernelVersion == "" || h.Procs == 0 ||
		h.BootTime == 0 || h.BootTime > uint64(time.Now().Unix()) {
		t.Fatalf("host %+v", h)
	}
	// A dev agent has no data_dir: the root file system.
	if d := info.Disk; d.Path != "/" || d.Total == 0 || d.Used > d.Total {
		t.Fatalf("disk %+v", d)
	}
	s.expect(t, "PUT", "/v1/agent/host", "", 405, "")
}
