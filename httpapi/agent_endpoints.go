package httpapi

import (
	"net/http"

	"github.com/coredns-coord/coredns-coord/agent"
	"github.com/coredns-coord/coredns-coord/agent/local"
	"github.com/coredns-coord/coredns-coord/state"
	"github.com/coredns-coord/coredns-coord/structs"
)

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
	Config      selfConfig
	DebugConfig selfDebugConfig
	Member      agentMember
	Meta        map[string]string
	Stats       map[string]map[string]string
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
			// Clients compare it to decide which API features they may
			// use; VersionMetadata says who we are.
			Version:         agent.ConsulVersion,
			VersionMetadata: "coredns-coord",
		},
		DebugConfig: s.debugConfig(),
		Member:      toAgentMember(s.agent.LocalMember()),
		Meta:        nonNilMap(cfg.NodeMeta),
		Stats:       s.selfStats(),
	}
	s.setMeta(w, opts, s.agent.State().MaxIndex(state.TableNodes))
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
	SocketPath        string                            `json:",omitempty"`
	TaggedAddresses   map[string]structs.ServiceAddress `json:",omitempty"`
	Weights           structs.Weights
	EnableTagOverride bool
	// ContentHash is set on agent/service/:id only: the hash a client
	// blocks on (?hash).
	ContentHash string            `json:",omitempty" bexpr:"-"`
	Datacenter  string            `json:",omitempty" bexpr:"-"`
	Locality    *structs.Locality `json:",omitempty" bexpr:"-"`
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
		SocketPath:        svc.SocketPath,
		TaggedAddresses:   svc.TaggedAddresses,
		Weights:           structs.Weights{Passing: 1, Warning: 1},
		EnableTagOverride: svc.EnableTagOverride,
		Datacenter:        dc,
		Locality:          svc.Locality,
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
	authz := authorizerOf(r)
	for id, svc := range s.agent.LocalServices() {
		if authz != nil && !readableService(authz, svc) {
			markRequestFiltered(w, r)
			continue
		}
		out[id] = toAgentService(svc, dc)
	}
	if out, err = applyFilter(filter, out); err != nil {
		return err
	}
	s.setMeta(w, opts, s.agent.State().MaxIndex(state.TableServices))
	return writeJSON(w, r, http.StatusOK, out)
}

// agentServiceGet answers agent/service/:id for one local service, with
// its ContentHash in the body and in X-Consul-ContentHash; ?hash (with
// ?wait) blocks until the service differs from that hash.
func (s *server) agentServiceGet(w http.ResponseWriter, r *http.Request) error {
	opts, err := s.query(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	dc := s.agent.Config().Datacenter
	out, hash, err := hashBlockingQuery(r.Context(), r.URL.Query().Get("hash"), opts.Wait, s.agent.LocalChanged,
		func() (*agentService, string, error) {
			svc, ok := s.agent.LocalServices()[id]
			if !ok {
				return nil, "", errorf(http.StatusNotFound, "unknown service ID: %s", id)
			}
			as := toAgentService(svc, dc)
			h, err := contentHash(as)
			if err != nil {
				return nil, "", err
			}
			as.ContentHash = h
			return as, h, nil
		})
	if err != nil {
		return err
	}
	w.Header().Set("X-Consul-ContentHash", hash)
	return writeJSON(w, r, http.StatusOK, out)
}

// agentChecks lists the checks this agent runs, with their current status.
func (s *server) agentChecks(w http.ResponseWriter, r *http.Request) error {
	opts, filter, err := s.filteredQuery(r)
	if err != nil {
		return err
	}
	// LocalChecks returns fresh copies: ours to adjust.
	out := s.agent.LocalChecks()
	if authz := authorizerOf(r); authz != nil {
		for id, hc := range out {
			if !readableCheck(authz, hc) {
				delete(out, id)
				markRequestFiltered(w, r)
			}
		}
	}
	for _, hc := range out {
		if hc.ServiceTags == nil {
			hc.ServiceTags = []string{}
		}
	}
	if out, err = applyFilter(filter, out); err != nil {
		return err
	}
	s.setMeta(w, opts, s.agent.State().MaxIndex(state.TableChecks))
	return writeJSON(w, r, http.StatusOK, out)
}

func (s *server) agentServiceRegister(w http.ResponseWriter, r *http.Request) error {
	def, err := decodeAgentService(r.Body)
	if err != nil {
		return err
	}
	if err := s.authorizeAgentService(r, def); err != nil {
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
