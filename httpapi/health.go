package httpapi

import (
	"net/http"
	"strings"

	bexpr "github.com/hashicorp/go-bexpr"
	"github.com/hashicorp/go-memdb"

	"github.com/coredns-coord/coredns-coord/state"
	"github.com/coredns-coord/coredns-coord/structs"
)

// nonNilCheckTags returns checks with ServiceTags never null, as Consul
// answers; checks from the store are shared, so they are cloned, never
// changed.
func nonNilCheckTags(checks structs.HealthChecks) structs.HealthChecks {
	out := make(structs.HealthChecks, 0, len(checks))
	for _, hc := range checks {
		if hc.ServiceTags == nil {
			clone := *hc
			clone.ServiceTags = []string{}
			hc = &clone
		}
		out = append(out, hc)
	}
	return out
}

// checksQuery serves a list of checks: node-meta (when given) keeps the
// checks of matching nodes, then the filter applies.
func (s *server) checksQuery(w http.ResponseWriter, r *http.Request, opts *queryOptions,
	read func(ws memdb.WatchSet) (uint64, structs.HealthChecks, error)) error {
	filter, err := opts.compileFilter()
	if err != nil {
		return err
	}
	st := s.agent.State()
	return serveQuery(s, w, r, opts, func(ws memdb.WatchSet) (uint64, structs.HealthChecks, error) {
		idx, checks, err := read(ws)
		if err != nil {
			return 0, nil, err
		}
		if opts.NodeMeta != nil {
			if checks, err = checksOnMatchingNodes(st, ws, checks, opts.NodeMeta); err != nil {
				return 0, nil, err
			}
		}
		out, err := applyFilter(filter, nonNilCheckTags(checks))
		return idx, out, err
	})
}

func checksOnMatchingNodes(st *state.Store, ws memdb.WatchSet, checks structs.HealthChecks, meta map[string]string) (structs.HealthChecks, error) {
	_, nodes, err := st.Nodes(ws)
	if err != nil {
		return nil, err
	}
	ok := make(map[string]bool, len(nodes))
	for _, n := range nodes {
		if matchesNodeMeta(n.Meta, meta) {
			ok[strings.ToLower(n.Node)] = true
		}
	}
	out := make(structs.HealthChecks, 0, len(checks))
	for _, hc := range checks {
		if ok[strings.ToLower(hc.Node)] {
			out = append(out, hc)
		}
	}
	return out, nil
}

func (s *server) healthNode(w http.ResponseWriter, r *http.Request) error {
	opts, err := s.query(r)
	if err != nil {
		return err
	}
	node := r.PathValue("node")
	if node == "" {
		return badRequest("Missing node name")
	}
	opts.NodeMeta = nil // not a parameter of this endpoint
	return s.checksQuery(w, r, opts, func(ws memdb.WatchSet) (uint64, structs.HealthChecks, error) {
		return s.agent.State().NodeChecks(ws, node)
	})
}

func (s *server) healthChecks(w http.ResponseWriter, r *http.Request) error {
	opts, err := s.query(r)
	if err != nil {
		return err
	}
	service := r.PathValue("service")
	if service == "" {
		return badRequest("Missing service name")
	}
	return s.checksQuery(w, r, opts, func(ws memdb.WatchSet) (uint64, structs.HealthChecks, error) {
		return s.agent.State().ServiceChecks(ws, service)
	})
}

func (s *server) healthState(w http.ResponseWriter, r *http.Request) error {
	opts, err := s.query(r)
	if err != nil {
		return err
	}
	status := r.PathValue("state")
	switch status {
	case "":
		return badRequest("Missing check state")
	case structs.HealthAny, structs.HealthPassing, structs.HealthWarning, structs.HealthCritical:
	default:
		return badRequest("Invalid check state %q: want any, passing, warning or critical", status)
	}
	return s.checksQuery(w, r, opts, func(ws memdb.WatchSet) (uint64, structs.HealthChecks, error) {
		return s.agent.State().ChecksInState(ws, status)
	})
}

// healthService answers with the instances of a service, each with its
// node and the node's and the instance's checks. ?passing keeps instances
// whose every check passes; ?tag (repeatable) and ?node-meta narrow the
// list; ?filter sees {Node, Service, Checks}.
func (s *server) healthService(w http.ResponseWriter, r *http.Request) error {
	opts, filter, err := s.filteredQuery(r)
	if err != nil {
		return err
	}
	service := r.PathValue("service")
	if service == "" {
		return badRequest("Missing service name")
	}
	passing, err := boolParam(r.URL.Query(), structs.HealthPassing)
	if err != nil {
		return err
	}
	st := s.agent.State()
	return serveQuery(s, w, r, opts, func(ws memdb.WatchSet) (uint64, []*structs.ServiceEntry, error) {
		idx, instances, err := st.CheckServiceNodes(ws, service, opts.Tags)
		if err != nil {
			return 0, nil, err
		}
		out, err := serviceEntries(instances, opts.NodeMeta, passing, filter)
		return idx, out, err
	})
}

func serviceEntries(instances []*structs.CheckServiceNode, meta map[string]string, passing bool, filter *bexpr.Filter) ([]*structs.ServiceEntry, error) {
	out := make([]*structs.ServiceEntry, 0, len(instances))
	for _, csn := range instances {
		if !matchesNodeMeta(csn.Node.Meta, meta) {
			continue
		}
		if passing && csn.Checks.AggregatedStatus() != structs.HealthPassing {
			continue
		}
		svc := csn.Service.ToNodeService()
		if svc.Tags == nil {
			svc.Tags = []string{}
		}
		out = append(out, &structs.ServiceEntry{
			Node:    csn.Node,
			Service: svc,
			Checks:  nonNilCheckTags(csn.Checks),
		})
	}
	return applyFilter(filter, out)
}
