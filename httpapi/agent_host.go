package httpapi

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// hostInfo is agent/host: what Consul's debug bundle collects about the
// machine, in gopsutil's field names, which tools read. It is read from
// /proc and the runtime; what cannot be read is null, with the reason in
// Errors, rather than failing the whole answer.
type hostInfo struct {
	Memory *hostMemory
	CPU    []hostCPU
	Host   *hostOS
	Disk   *hostDisk
	// CollectionTime is when this was read, in Unix nanoseconds.
	CollectionTime int64
	Errors         []string
}

type hostMemory struct {
	Total       uint64  `json:"total"`
	Available   uint64  `json:"available"`
	Used        uint64  `json:"used"`
	UsedPercent float64 `json:"usedPercent"`
	Free        uint64  `json:"free"`
}

type hostCPU struct {
	CPU        int     `json:"cpu"`
	VendorID   string  `json:"vendorId"`
	Family     string  `json:"family"`
	Model      string  `json:"model"`
	PhysicalID string  `json:"physicalId"`
	CoreID     string  `json:"coreId"`
	Cores      int     `json:"cores"`
	ModelName  string  `json:"modelName"`
	Mhz        float64 `json:"mhz"`
}

type hostOS struct {
	Hostname        string `json:"hostname"`
	Uptime          uint64 `json:"uptime"`
	BootTime        uint64 `json:"bootTime"`
	Procs           uint64 `json:"procs"`
	OS              string `json:"os"`
	Platform        string `json:"platform"`
	PlatformFamily  string `json:"platformFamily"`
	PlatformVersion string `json:"platformVersion"`
	KernelVersion   string `json:"kernelVersion"`
	KernelArch      string `json:"kernelArch"`
}

type hostDisk struct {
	Path              string  `json:"path"`
	Total             uint64  `json:"total"`
	Free              uint64  `json:"free"`
	Used              uint64  `json:"used"`
	UsedPercent       float64 `json:"usedPercent"`
	InodesTotal       uint64  `json:"inodesTotal"`
	InodesUsed        uint64  `json:"inodesUsed"`
	InodesFree        uint64  `json:"inodesFree"`
	InodesUsedPercent float64 `json:"inodesUsedPercent"`
}

// procRoot is where Linux exposes the kernel's view of the machine.
const procRoot = "/proc"

func (s *server) agentHost(w http.ResponseWriter, r *http.Request) error {
	out := hostInfo{CollectionTime: time.Now().UnixNano(), Errors: []string{}}
	fail := func(what string, err error) { out.Errors = append(out.Errors, what+": "+err.Error()) }
	var err error
	if out.Memory, err = readMemory(); err != nil {
		fail("memory", err)
	}
	out.CPU = readCPUs()
	if out.Host, err = readHostOS(); err != nil {
		fail("host", err)
	}
	// The disk that fills up is the one Raft writes to.
	path := s.agent.Config().DataDir
	if path == "" {
		path = "/"
	}
	if out.Disk, err = diskUsage(path); err != nil {
		fail("disk", err)
	}
	return writeJSON(w, r, http.StatusOK, out)
}

// readKeyValues reads a "key: value" or "KEY=value" file into a map,
// values trimmed of spaces and quotes.
func readKeyValues(path, sep string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), sep); ok {
			out[strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(v), `"`)
		}
	}
	return out, sc.Err()
}

// kib reads a /proc/meminfo value ("24683784 kB") in bytes.
func kib(m map[string]string, key string) (uint64, error) {
	n, err := strconv.ParseUint(strings.TrimSuffix(m[key], " kB"), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("meminfo %s: %w", key, err)
	}
	return n * 1024, nil
}

func readMemory() (*hostMemory, error) {
	m, err := readKeyValues(procRoot+"/meminfo", ":")
	if err != nil {
		return nil, err
	}
	var mem hostMemory
	if mem.Total, err = kib(m, "MemTotal"); err != nil {
		return nil, err
	}
	if mem.Free, err = kib(m, "MemFree"); err != nil {
		return nil, err
	}
	if mem.Available, err = kib(m, "MemAvailable"); err != nil {
		return nil, err
	}
	mem.Used = mem.Total - min(mem.Available, mem.Total)
	if mem.Total > 0 {
		mem.UsedPercent = 100 * float64(mem.Used) / float64(mem.Total)
	}
	return &mem, nil
}

// readCPUs lists the logical CPUs; without /proc/cpuinfo, just their
// number.
func readCPUs() []hostCPU {
	b, err := os.ReadFile(procRoot + "/cpuinfo")
	if err != nil {
		out := make([]hostCPU, runtime.NumCPU())
		for i := range out {
			out[i] = hostCPU{CPU: i, Cores: 1}
		}
		return out
	}
	var out []hostCPU
	for block := range strings.SplitSeq(string(b), "\n\n") {
		var c hostCPU
		seen := false
		for line := range strings.SplitSeq(block, "\n") {
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			v = strings.TrimSpace(v)
			switch strings.TrimSpace(k) {
			case "processor":
				c.CPU, _ = strconv.Atoi(v)
				seen = true
			case "vendor_id":
				c.VendorID = v
			case "cpu family":
				c.Family = v
			case "model":
				c.Model = v
			case "model name":
				c.ModelName = v
			case "physical id":
				c.PhysicalID = v
			case "core id":
				c.CoreID = v
			case "cpu cores":
				c.Cores, _ = strconv.Atoi(v)
			case "cpu MHz":
				c.Mhz, _ = strconv.ParseFloat(v, 64)
			}
		}
		if seen {
			out = append(out, c)
		}
	}
	return out
}

func readHostOS() (*hostOS, error) {
	h := &hostOS{OS: runtime.GOOS}
	var err error
	if h.Hostname, err = os.Hostname(); err != nil {
		return nil, err
	}
	up, err := os.ReadFile(procRoot + "/uptime")
	if err != nil {
		return nil, err
	}
	secs, _, _ := strings.Cut(strings.TrimSpace(string(up)), " ")
	uptime, err := strconv.ParseFloat(secs, 64)
	if err != nil {
		return nil, fmt.Errorf("uptime %q: %w", up, err)
	}
	h.Uptime = uint64(uptime)
	h.BootTime = uint64(time.Now().Unix()) - h.Uptime
	if entries, err := os.ReadDir(procRoot); err == nil {
		for _, e := range entries {
			if _, err := strconv.ParseUint(e.Name(), 10, 64); err == nil && e.IsDir() {
				h.Procs++
			}
		}
	}
	h.KernelVersion = readTrimmed(procRoot + "/sys/kernel/osrelease")
	h.KernelArch = readTrimmed(procRoot + "/sys/kernel/arch")
	if rel, err := readKeyValues("/etc/os-release", "="); err == nil {
		h.Platform, h.PlatformFamily, h.PlatformVersion = rel["ID"], rel["ID_LIKE"], rel["VERSION_ID"]
	}
	return h, nil
}

// readTrimmed is a one-line file's content, "" if it cannot be read.
func readTrimmed(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
