package httpapi

import (
	"net/http"
	"time"

	"github.com/coredns-coord/coredns-coord/agent"
	"github.com/coredns-coord/coredns-coord/structs"
)

// operatorAutopilotConfigGet answers the cluster's autopilot configuration
// (Consul's api.AutopilotConfiguration). With ?consistent the agent first
// catches up with the leader.
func (s *server) operatorAutopilotConfigGet(w http.ResponseWriter, r *http.Request) error {
	opts, err := s.query(r)
	if err != nil {
		return err
	}
	if opts.Consistent {
		if err := s.consistentRead(r.Context()); err != nil {
			return err
		}
	}
	c, err := s.agent.AutopilotConfiguration()
	if err != nil {
		return err
	}
	s.setMeta(w, opts, c.ModifyIndex)
	return writeJSON(w, r, http.StatusOK, c)
}

// operatorAutopilotConfigPut replaces the autopilot configuration; with
// ?cas=N only if it is still at index N, answering true or false. As in
// Consul, fields left out are zero; a zero LastContactThreshold or
// MaxTrailingLogs means the default when servers' health is judged.
func (s *server) operatorAutopilotConfigPut(w http.ResponseWriter, r *http.Request) error {
	if err := s.checkWriteDatacenter(r); err != nil {
		return err
	}
	casIndex, cas, err := uintParam(r.URL.Query(), "cas")
	if err != nil {
		return err
	}
	var c structs.AutopilotConfig
	if err := decodeBody(r.Body, &c); err != nil {
		return err
	}
	if time.Duration(c.LastContactThreshold) < 0 || time.Duration(c.ServerStabilizationTime) < 0 {
		return badRequest("LastContactThreshold and ServerStabilizationTime must not be negative")
	}
	ok, err := s.writer(r).SetAutopilotConfiguration(c, cas, casIndex)
	if err != nil {
		return err
	}
	return writeJSON(w, r, http.StatusOK, ok)
}

// autopilotServer is Consul's api.AutopilotServer.
type autopilotServer struct {
	ID          string
	Name        string
	Address     string
	NodeStatus  string
	Version     string
	LastContact string
	LastTerm    uint64
	LastIndex   uint64
	Healthy     bool
	StableSince time.Time
	ReadReplica bool
	Status      string
	Meta        map[string]string
	NodeType    string
}

// operatorAutopilotState is Consul's operator/autopilot/state: every
// server's health by ID, the leader and the voters, as the leader sees
// them. There are no read replicas, redundancy zones or upgrades here.
func (s *server) operatorAutopilotState(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.query(r); err != nil {
		return err
	}
	servers, healthy, tolerance, err := s.agent.AutopilotHealth()
	if err != nil {
		return err
	}
	out := struct {
		Healthy                    bool
		FailureTolerance           int
		OptimisticFailureTolerance int
		Servers                    map[string]autopilotServer
		Leader                     string
		Voters                     []string
	}{Healthy: healthy, FailureTolerance: tolerance, Servers: map[string]autopilotServer{}, Voters: []string{}}
	optimistic := 0
	for _, sv := range servers {
		status, nodeType := "non-voter", "non-voter"
		if sv.Voter {
			status, nodeType = "voter", "voter"
			out.Voters = append(out.Voters, sv.ID)
			if sv.SerfStatus == "alive" {
				optimistic++
			}
		}
		if sv.Leader {
			status = "leader"
			out.Leader = sv.ID
		}
		out.Servers[sv.ID] = autopilotServer{
			ID: sv.ID, Name: sv.Node, Address: sv.Address, NodeStatus: sv.SerfStatus, Version: agent.ConsulVersion,
			LastContact: sv.LastContact.String(), LastTerm: sv.LastTerm, LastIndex: sv.LastIndex,
			Healthy: sv.Healthy, StableSince: sv.StableSince, Status: status, Meta: map[string]string{}, NodeType: nodeType,
		}
	}
	// Optimistic: alive voters beyond the quorum, healthy or not yet.
	out.OptimisticFailureTolerance = max(0, optimistic-(len(out.Voters)/2+1))
	return writeJSON(w, r, http.StatusOK, out)
}
