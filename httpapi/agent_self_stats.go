package httpapi

import (
	"runtime"
	"runtime/debug"
	"strconv"

	"github.com/coredns-coord/coredns-coord/agent"
)

// selfStats is agent/self's Stats, what `consul info` prints: sections of
// name = value strings, under Consul's section and key names where we have
// the figure.
func (s *server) selfStats() map[string]map[string]string {
	a := s.agent
	leader := a.Leader()
	stats := map[string]map[string]string{
		"agent": {
			"checks":   strconv.Itoa(len(a.LocalChecks())),
			"services": strconv.Itoa(len(a.LocalServices())),
		},
		"build": {
			"version":  agent.ConsulVersion,
			"revision": buildRevision(),
		},
		"consul": {
			"server":        strconv.FormatBool(a.IsServer()),
			"known_leader":  strconv.FormatBool(leader != ""),
			"leader_addr":   leader,
			"leader":        strconv.FormatBool(leader != "" && leader == s.raftAddr()),
			"known_servers": strconv.Itoa(s.knownServers()),
		},
		"runtime": {
			"arch":       runtime.GOARCH,
			"os":         runtime.GOOS,
			"version":    runtime.Version(),
			"goroutines": strconv.Itoa(runtime.NumGoroutine()),
			"max_procs":  strconv.Itoa(runtime.GOMAXPROCS(0)),
			"cpu_count":  strconv.Itoa(runtime.NumCPU()),
		},
	}
	if st, ok := a.RaftStats(); ok {
		stats["raft"] = map[string]string{
			"state":         st.State,
			"term":          strconv.FormatUint(st.Term, 10),
			"commit_index":  strconv.FormatUint(st.CommitIndex, 10),
			"applied_index": strconv.FormatUint(st.AppliedIndex, 10),
			"last_contact":  st.LastContact.String(),
		}
	}
	counts := map[string]int{}
	members := a.Members()
	for _, m := range members {
		counts[m.Status.String()]++
	}
	stats["serf_lan"] = map[string]string{
		"members":   strconv.Itoa(len(members)),
		"alive":     strconv.Itoa(counts["alive"]),
		"failed":    strconv.Itoa(counts["failed"]),
		"left":      strconv.Itoa(counts["left"]),
		"encrypted": strconv.FormatBool(a.Config().Encrypt != ""),
	}
	return stats
}

// knownServers counts the servers in the gossip pool.
func (s *server) knownServers() int {
	n := 0
	for _, m := range s.agent.Members() {
		if m.Tags["role"] == "consul" {
			n++
		}
	}
	return n
}

// buildRevision is the commit the binary was built from, when the Go
// toolchain recorded it.
func buildRevision() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	return ""
}
