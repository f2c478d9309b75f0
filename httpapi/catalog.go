package httpapi

import (
	"iter"
	"maps"
	"net/http"
	"slices"

	"github.com/hashicorp/go-memdb"

	"github.com/coredns-coord/coredns-coord/state"
	"github.com/coredns-coord/coredns-coord/structs"
)

func (s *server) catalogRegister(w http.ResponseWriter, r *http.Request) error {
	dc := s.agent.Config().Datacenter
	if err := s.checkWriteDatacenter(r); err != nil {
		return err
	}
	req, err := decodeCatalogRegistration(r.Body, dc)
	if err != nil {
		return err
	}
	if err := s.authorizeRegistration(r, req); err != nil {
		return err
	}
	if err := s.writer(r).Register(req); err != nil {
		return err
	}
	return writeJSON(w, r, http.StatusOK, true)
}

func (s *server) catalogDeregister(w http.ResponseWriter, r *http.Request) error {
	if err := s.checkWriteDatacenter(r); err != nil {
		return err
	}
	req, err := decodeDeregistration(r.Body, s.agent.Config().Datacenter)
	if err != nil {
		return err
	}
	if err := s.authorizeDeregistration(r, req); err != nil {
		return err
	}
	if err := s.writer(r).Deregister(req); err != nil {
		return err
	}
	return writeJSON(w, r, http.StatusOK, true)
}

func (s *server) catalogDatacenters(w http.ResponseWriter, r *http.Request) error {
	opts, err := s.query(r)
	if err != nil {
		return err
	}
	s.setMeta(w, opts, s.agent.State().MaxIndex(state.TableNodes))
	return writeJSON(w, r, http.StatusOK, []string{s.agent.Config().Datacenter})
}

func (s *server) catalogNodes(w http.ResponseWriter, r *http.Request) error {
	opts, filter, err := s.filteredQuery(r)
	if err != nil {
		return err
	}
	st := s.agent.State()
	return serveQuery(s, w, r, opts, aclFiltered(w, r, func(ws memdb.WatchSet) (uint64, []*structs.Node, error) {
		idx, nodes, err := st.Nodes(ws)
		if err != nil {
			return 0, nil, err
		}
		out := make([]*structs.Node, 0, len(nodes))
		for _, n := range nodes {
			if matchesNodeMeta(n.Meta, opts.NodeMeta) {
				out = append(out, n)
			}
		}
		out, err = applyFilter(filter, out)
		return idx, out, err
	}, readableNode))
}

// catalogServices answers with each service's name and the union of its
// tags. With ?node-meta or ?filter, only matching instances count: the
// filter sees each instance joined with its node, as Consul's ServiceNode.
func (s *server) catalogServices(w http.ResponseWriter, r *http.Request) error {
	opts, filter, err := s.filteredQuery(r)
	if err != nil {
		return err
	}
	st := s.agent.State()
	if filter == nil && opts.NodeMeta == nil {
		return serveQuery(s, w, r, opts, aclFilteredValue(w, r, func(ws memdb.WatchSet) (uint64, map[string][]string, error) {
			idx, instances, err := st.AllServiceNodes(ws)
			if err != nil {
				return 0, nil, err
			}
			return idx, structs.TagsByService(instances, func(sn *structs.ServiceNode) (string, []string) { return sn.ServiceName, sn.ServiceTags }), nil
		}, readableServiceNames))
	}
	return serveQuery(s, w, r, opts, aclFilteredValue(w, r, func(ws memdb.WatchSet) (uint64, map[string][]string, error) {
		idx, instances, err := st.AllCatalogServices(ws)
		if err != nil {
			return 0, nil, err
		}
		kept := make([]*structs.CatalogService, 0, len(instances))
		for _, cs := range instances {
			if matchesNodeMeta(cs.NodeMeta, opts.NodeMeta) {
				kept = append(kept, cs)
			}
		}
		if kept, err = applyFilter(filter, kept); err != nil {
			return 0, nil, err
		}
		return idx, structs.TagsByService(kept, func(cs *structs.CatalogService) (string, []string) { return cs.ServiceName, cs.ServiceTags }), nil
	}, readableServiceNames))
}

func (s *server) catalogService(w http.ResponseWriter, r *http.Request) error {
	opts, filter, err := s.filteredQuery(r)
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	if name == "" {
		return badRequest("Missing service name")
	}
	st := s.agent.State()
	read := aclFiltered(w, r, func(ws memdb.WatchSet) (uint64, []*structs.CatalogService, error) {
		idx, instances, err := st.ServiceNodes(ws, name, opts.Tags)
		if err != nil {
			return 0, nil, err
		}
		out := make([]*structs.CatalogService, 0, len(instances))
		for _, cs := range instances {
			if !matchesNodeMeta(cs.NodeMeta, opts.NodeMeta) {
				continue
			}
			// ServiceNodes builds fresh CatalogService values: ours to adjust.
			if cs.ServiceTags == nil {
				cs.ServiceTags = []string{}
			}
			out = append(out, cs)
		}
		out, err = applyFilter(filter, out)
		return idx, out, err
	}, readableInstance)
	if _, cached := r.URL.Query()["cached"]; cached {
		key := cacheKey("catalog/service", name, opts.Tags, opts.NodeMeta, opts.Filter, requestToken(r))
		return serveCached(s, w, r, opts, key, read)
	}
	return serveQuery(s, w, r, opts, read)
}

// catalogNode answers with the node and its services, or JSON null (and
// 200) for an unknown node, as Consul does. ?filter applies to the
// services.
func (s *server) catalogNode(w http.ResponseWriter, r *http.Request) error {
	opts, filter, err := s.filteredQuery(r)
	if err != nil {
		return err
	}
	node := r.PathValue("node")
	if node == "" {
		return badRequest("Missing node name")
	}
	st := s.agent.State()
	return serveQuery(s, w, r, opts, aclFilteredValue(w, r, func(ws memdb.WatchSet) (uint64, *structs.NodeServices, error) {
		idx, ns, err := st.NodeServices(ws, node)
		if err != nil || ns == nil {
			return idx, nil, err
		}
		fillTags(maps.Values(ns.Services))
		services, err := applyFilter(filter, ns.Services)
		if err != nil {
			return 0, nil, err
		}
		return idx, &structs.NodeServices{Node: ns.Node, Services: services}, nil
	}, readableNodeServices))
}

// catalogNodeServiceList answers catalog/node-services/:node: the node with
// its services as a list sorted by ID, which ?filter narrows. An unknown
// node is {"Node": null, "Services": null} (and 200), as Consul answers.
func (s *server) catalogNodeServiceList(w http.ResponseWriter, r *http.Request) error {
	opts, filter, err := s.filteredQuery(r)
	if err != nil {
		return err
	}
	node := r.PathValue("node")
	if node == "" {
		return badRequest("Missing node name")
	}
	st := s.agent.State()
	return serveQuery(s, w, r, opts, aclFilteredValue(w, r, func(ws memdb.WatchSet) (uint64, *structs.NodeServiceList, error) {
		idx, list, err := st.NodeServiceList(ws, node)
		if err != nil || list == nil {
			return idx, &structs.NodeServiceList{}, err
		}
		fillTags(slices.Values(list.Services))
		if list.Services, err = applyFilter(filter, list.Services); err != nil {
			return 0, nil, err
		}
		return idx, list, nil
	}, readableNodeServiceList))
}

// fillTags gives each service a Tags list: Consul answers [] rather than
// null. The state store built the values fresh for this read: they are
// ours to adjust.
func fillTags(services iter.Seq[*structs.NodeService]) {
	for svc := range services {
		if svc.Tags == nil {
			svc.Tags = []string{}
		}
	}
}
