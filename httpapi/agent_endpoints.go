package httpapi

import (
	"net/http"

	"github.com/coredns-coord/coredns-coord/agent/local"
	"github.com/coredns-coord/coredns-coord/structs"
)

// consulVersion is the Consul release whose /v1 API this package follows.
// agent/self reports it as Config.Version, because clients compare it to
// decide which API features they may use; VersionMetadata says who we are.
const consulVersion = "1.16.1"

type selfConfig struct {
	Datacenter        string
	PrimaryDatacenter string
	NodeName          string
	NodeID            string
	Server            bool
	Revision          string
	Version           string
	VersionPrerelease string
	VersionMetadata   string
}

type selfResponse struct {
	Config selfConfig
	Member agentMember
	Meta   map[string]string
}

func (s *server) agentSelf(w http.ResponseWriter, r *http.Request) error {
	opts, err := s.query(r)
	if err != nil {
		return err
	}
	cfg := s.agent.Config()
	out := selfResponse{
		Config: selfConfig{
			Datacenter:        cfg.Datacenter,
			PrimaryDatacenter: cfg.Datacenter,
			NodeName:          cfg.NodeName,
			NodeID:            s.agent.NodeID(),
			Server:            s.agent.IsServer(),
			Version:           consulVersion,
			VersionMetadata:   "coredns-coord",
		},
		Member: toAgentMember(s.agent.LocalMember()),
		Meta:   nonNilMap(cfg.NodeMeta),
	}
	s.setMeta(w, opts, s.agent.State().MaxIndex("nodes"))
	return writeJSON(w, r, http.StatusOK, out)
}

// agentService is Consul's api.AgentService, the agent/services value.
type agentService struct {
	Kind              string `json:",omitempty"`
	ID                string
	Service           string
	Tags              []string
	Meta              map[string]string
	Port              int
	Address           string
	Weights           structs.Weights
	EnableTagOverride bool
	Datacenter        string `json:",omitempty" bexpr:"-"`
}

func toAgentService(svc *structs.NodeService, dc string) *agentService {
	as := &agentService{
		Kind:              svc.Kind,
		ID:                svc.ID,
		Service:           svc.Service,
		Tags:              svc.Tags,
		Meta:              svc.Meta,
		Port:              svc.Port,
		Address:           svc.Address,
		Weights:           structs.Weights{Passing: 1, Warning: 1},
		EnableTagOverride: svc.EnableTagOverride,
		Datacenter:        dc,
	}
	if svc.Weights != nil {
		as.Weights = *svc.Weights
	}
	if as.Tags == nil {
		as.Tags = []string{}
	}
	as.Meta = nonNilMap(as.Meta)
	return as
}

// agentServices lists the services this agent runs, from its local state
// (not the catalog), as Consul does.
func (s *server) agentServices(w http.ResponseWriter, r *http.Request) error {
	opts, filter, err := s.filteredQuery(r)
	if err != nil {
		return err
	}
	dc := s.agent.Config().Datacenter
	out := map[string]*agentService{}
	for id, svc := range s.agent.LocalServices() {
		out[id] = toAgentService(svc, dc)
	}
	if out, err = applyFilter(filter, out); err != nil {
		return err
	}
	s.setMeta(w, opts, s.agent.State().MaxIndex("services"))
	return writeJSON(w, r, http.StatusOK, out)
}

// agentService answers agent/service/:id for one local service.
func (s *server) agentServiceGet(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	svc, ok := s.agent.LocalServices()[id]
	if !ok {
		return errorf(http.StatusNotFound, "unknown service ID: %s", id)
	}
	return writeJSON(w, r, http.StatusOK, toAgentService(svc, s.agent.Config().Datacenter))
}

// agentChecks lists the checks this agent runs, with their current status.
func (s *server) agentChecks(w http.ResponseWriter, r *http.Request) error {
	opts, filter, err := s.filteredQuery(r)
	if err != nil {
		return err
	}
	// LocalChecks returns fresh copies: ours to adjust.
	out := s.agent.LocalChecks()
	for _, hc := range out {
		if hc.ServiceTags == nil {
			hc.ServiceTags = []string{}
		}
	}
	if out, err = applyFilter(filter, out); err != nil {
		return err
	}
	s.setMeta(w, opts, s.agent.State().MaxIndex("checks"))
	return writeJSON(w, r, http.StatusOK, out)
}

func (s *server) agentServiceRegister(w http.ResponseWriter, r *http.Request) error {
	def, err := decodeAgentService(r.Body)
	if err != nil {
		return err
	}
	replace, err := boolParam(r.URL.Query(), "replace-existing-checks")
	if err != nil {
		return err
	}
	if err := s.agent.AddService(def, local.SourceAPI, replace); err != nil {
		return err
	}
	writeText(w, http.StatusOK, "")
	return nil
}

func (s *server) agentServiceDeregister(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if id == "" {
		return badRequest("Missing service ID")
	}
	if err := s.agent.RemoveService(id); err != nil {
		return err
	}
	writeText(w, http.StatusOK, "")
	return nil
}
