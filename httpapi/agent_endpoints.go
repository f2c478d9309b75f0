package httpapi

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/hashicorp/go-memdb"

	"github.com/coredns-coord/coredns-coord/raftstore/state"
	"github.com/coredns-coord/coredns-coord/structs"
)

// consulVersion is the Consul release whose /v1 API this package follows.
// agent/self reports it as Config.Version, because clients compare it to
// decide which API features they may use; VersionMetadata says who we are.
const consulVersion = "1.16.1"

// serfLANPort is the gossip port agent/self reports for the member. The
// agent has no gossip yet, so it is Consul's default.
const serfLANPort = 8301

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

type selfMember struct {
	Name        string
	Addr        string
	Port        uint16
	Tags        map[string]string
	Status      int
	ProtocolMin uint8
	ProtocolMax uint8
	ProtocolCur uint8
	DelegateMin uint8
	DelegateMax uint8
	DelegateCur uint8
}

type selfResponse struct {
	Config selfConfig
	Member selfMember
	Meta   map[string]string
}

func (s *server) agentSelf(w http.ResponseWriter, r *http.Request) error {
	opts, err := s.query(r)
	if err != nil {
		return err
	}
	cfg := s.agent.Config()
	meta := cfg.NodeMeta
	if meta == nil {
		meta = map[string]string{}
	}
	out := selfResponse{
		Config: selfConfig{
			Datacenter:        cfg.Datacenter,
			PrimaryDatacenter: cfg.Datacenter,
			NodeName:          cfg.NodeName,
			NodeID:            s.agent.NodeID(),
			Server:            true,
			Version:           consulVersion,
			VersionMetadata:   "coredns-coord",
		},
		Member: selfMember{
			Name: cfg.NodeName,
			Addr: cfg.BindAddr,
			Port: serfLANPort,
			Tags: map[string]string{
				"role":     "consul",
				"dc":       cfg.Datacenter,
				"id":       s.agent.NodeID(),
				"port":     strconv.Itoa(cfg.ServerPort),
				"expect":   strconv.Itoa(cfg.BootstrapExpect),
				"build":    consulVersion,
				"vsn":      "2",
				"vsn_min":  "2",
				"vsn_max":  "3",
				"raft_vsn": "3",
			},
			Status:      1, // serf: alive
			ProtocolMin: 1, ProtocolMax: 5, ProtocolCur: 2,
			DelegateMin: 2, DelegateMax: 5, DelegateCur: 4,
		},
		Meta: meta,
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
	if as.Meta == nil {
		as.Meta = map[string]string{}
	}
	return as
}

// agentServices lists the services of this agent's node, read from the
// catalog (the agent keeps no local copy).
func (s *server) agentServices(w http.ResponseWriter, r *http.Request) error {
	opts, filter, err := s.filteredQuery(r)
	if err != nil {
		return err
	}
	cfg := s.agent.Config()
	st := s.agent.State()
	return serveQuery(s, w, r, opts, func(ws memdb.WatchSet) (uint64, map[string]*agentService, error) {
		idx, ns, err := st.NodeServices(ws, cfg.NodeName)
		if err != nil {
			return 0, nil, err
		}
		out := map[string]*agentService{}
		if ns != nil {
			for id, svc := range ns.Services {
				// The server's own "consul" service is in the catalog but,
				// as in Consul, not among the agent's services.
				if id == structs.ConsulServiceID {
					continue
				}
				out[id] = toAgentService(svc, cfg.Datacenter)
			}
		}
		out, err = applyFilter(filter, out)
		return idx, out, err
	})
}

// agentChecks lists the checks of this agent's node.
func (s *server) agentChecks(w http.ResponseWriter, r *http.Request) error {
	opts, filter, err := s.filteredQuery(r)
	if err != nil {
		return err
	}
	node := s.agent.Config().NodeName
	st := s.agent.State()
	return serveQuery(s, w, r, opts, func(ws memdb.WatchSet) (uint64, map[string]*structs.HealthCheck, error) {
		idx, checks, err := st.NodeChecks(ws, node)
		if err != nil {
			return 0, nil, err
		}
		out := make(map[string]*structs.HealthCheck, len(checks))
		for _, hc := range nonNilCheckTags(checks) {
			out[hc.CheckID] = hc
		}
		out, err = applyFilter(filter, out)
		return idx, out, err
	})
}

func (s *server) agentServiceRegister(w http.ResponseWriter, r *http.Request) error {
	cfg := s.agent.Config()
	req, err := decodeAgentService(r.Body, cfg.NodeName, cfg.Datacenter)
	if err != nil {
		return err
	}
	if err := s.agent.Register(req); err != nil {
		if errors.Is(err, state.ErrUnknownNode) {
			// The agent has not registered its own node yet: our
			// condition, not the client's mistake.
			return errorf(http.StatusServiceUnavailable, "agent node %q is not in the catalog yet; retry", cfg.NodeName)
		}
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
	node := s.agent.Config().NodeName
	_, ns, err := s.agent.State().NodeServices(memdb.NewWatchSet(), node)
	if err != nil {
		return err
	}
	if !hasServiceID(ns, id) {
		return errorf(http.StatusNotFound, "Unknown service ID %q. Ensure that the service ID is passed, not the service name.", id)
	}
	if err := s.agent.Deregister(&structs.DeregisterRequest{
		Datacenter: s.agent.Config().Datacenter,
		Node:       node,
		ServiceID:  id,
	}); err != nil {
		return err
	}
	writeText(w, http.StatusOK, "")
	return nil
}

// hasServiceID looks id up as the state store's index does: ignoring case.
func hasServiceID(ns *structs.NodeServices, id string) bool {
	if ns == nil {
		return false
	}
	for sid := range ns.Services {
		if strings.EqualFold(sid, id) {
			return true
		}
	}
	return false
}
