package httpapi

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strings"

	"github.com/hashicorp/go-memdb"

	"github.com/coredns-coord/coredns-coord/acl"
	"github.com/coredns-coord/coredns-coord/state"
	"github.com/coredns-coord/coredns-coord/structs"
	"github.com/coredns-coord/coredns-coord/ui"
)

// uiRoutes serves the web UI at /ui/ (/ redirects there, as in Consul) and
// the two summaries its list pages read, at Consul's internal/ui paths.
func (s *server) uiRoutes() {
	files := ui.Files()
	fileServer := http.FileServerFS(files)
	etags := fileETags(files)
	s.handle("GET /{$}", func(w http.ResponseWriter, r *http.Request) error {
		http.Redirect(w, r, "/ui/", http.StatusMovedPermanently)
		return nil
	})
	s.handle("GET /ui/{file...}", func(w http.ResponseWriter, r *http.Request) error {
		h := w.Header()
		h.Set("Content-Security-Policy", ui.ContentSecurityPolicy)
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		// Files change only with the binary: the browser revalidates
		// each load with the file's hash and mostly gets 304.
		h.Set("Cache-Control", "no-cache")
		file := r.PathValue("file")
		if path.Ext(file) == "" {
			// A page's own URL under /ui/ (no file extension) is index.html.
			file = "index.html"
		}
		etag, ok := etags[file]
		if !ok {
			return errorf(http.StatusNotFound, "no such file in the UI")
		}
		h.Set("ETag", etag)
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/" + file
		if file == "index.html" {
			r2.URL.Path = "/" // FileServer redirects /index.html to /
		}
		fileServer.ServeHTTP(w, r2)
		return nil
	})
	s.handle("GET /v1/internal/ui/services", s.uiServices)
	s.handle("GET /v1/internal/ui/nodes", s.uiNodes)
}

// fileETags hashes every file once: embedded files have no modification
// time, so the hash is what a browser revalidates its copy with.
func fileETags(files fs.FS) map[string]string {
	etags := map[string]string{}
	err := fs.WalkDir(files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(files, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		etags[name] = `"` + hex.EncodeToString(sum[:8]) + `"`
		return nil
	})
	if err != nil {
		panic(fmt.Sprintf("hash the embedded UI: %v", err))
	}
	return etags
}

// serviceSummary is one row of the services page, in the shape of
// Consul's internal/ui/services: check counts include the node checks of
// every node an instance runs on.
type serviceSummary struct {
	Name           string
	Datacenter     string
	Tags           []string
	Nodes          []string
	InstanceCount  int
	ChecksPassing  int
	ChecksWarning  int
	ChecksCritical int
}

func (s *server) uiServices(w http.ResponseWriter, r *http.Request) error {
	opts, err := s.query(r)
	if err != nil {
		return err
	}
	st := s.agent.State()
	dc := s.agent.Config().Datacenter
	return serveQuery(s, w, r, opts, func(ws memdb.WatchSet) (uint64, []*serviceSummary, error) {
		f := newUIFilter(r)
		defer f.mark(w)
		idx, instances, checks, err := instancesAndChecks(st, ws, f)
		if err != nil {
			return 0, nil, err
		}
		byOwner := checksByOwner(checks)
		byName := map[string]*serviceSummary{}
		for _, sn := range instances {
			sum := byName[sn.ServiceName]
			if sum == nil {
				sum = &serviceSummary{Name: sn.ServiceName, Datacenter: dc, Tags: []string{}, Nodes: []string{}}
				byName[sn.ServiceName] = sum
			}
			sum.InstanceCount++
			if !slices.Contains(sum.Nodes, sn.Node) {
				sum.Nodes = append(sum.Nodes, sn.Node)
			}
			for _, t := range sn.ServiceTags {
				if !slices.Contains(sum.Tags, t) {
					sum.Tags = append(sum.Tags, t)
				}
			}
			node := strings.ToLower(sn.Node)
			for _, hc := range slices.Concat(byOwner[checkOwner{node, ""}], byOwner[checkOwner{node, sn.ServiceID}]) {
				switch hc.Status {
				case structs.HealthPassing:
					sum.ChecksPassing++
				case structs.HealthWarning:
					sum.ChecksWarning++
				case structs.HealthCritical:
					sum.ChecksCritical++
				}
			}
		}
		out := make([]*serviceSummary, 0, len(byName))
		for _, sum := range byName {
			out = append(out, sum)
		}
		slices.SortFunc(out, func(a, b *serviceSummary) int { return strings.Compare(a.Name, b.Name) })
		return idx, out, nil
	})
}

// checkOwner is what a check belongs to: a node (ServiceID "") or one
// service instance on it.
type checkOwner struct{ node, serviceID string }

func checksByOwner(checks structs.HealthChecks) map[checkOwner]structs.HealthChecks {
	out := map[checkOwner]structs.HealthChecks{}
	for _, hc := range checks {
		k := checkOwner{strings.ToLower(hc.Node), hc.ServiceID}
		out[k] = append(out[k], hc)
	}
	return out
}

// nodeSummary is one row of the nodes page, in the shape of Consul's
// internal/ui/nodes: the node with its services and all its checks.
type nodeSummary struct {
	*structs.Node
	Services []*structs.NodeService
	Checks   structs.HealthChecks
}

func (s *server) uiNodes(w http.ResponseWriter, r *http.Request) error {
	opts, err := s.query(r)
	if err != nil {
		return err
	}
	st := s.agent.State()
	return serveQuery(s, w, r, opts, func(ws memdb.WatchSet) (uint64, []nodeSummary, error) {
		f := newUIFilter(r)
		defer f.mark(w)
		nidx, nodes, err := st.Nodes(ws)
		if err != nil {
			return 0, nil, err
		}
		nodes = keepReadable(f, nodes, readableNode)
		idx, instances, checks, err := instancesAndChecks(st, ws, f)
		if err != nil {
			return 0, nil, err
		}
		services := map[string][]*structs.NodeService{}
		for _, sn := range instances {
			k := strings.ToLower(sn.Node)
			services[k] = append(services[k], sn.ToNodeService())
		}
		nodeChecks := map[string]structs.HealthChecks{}
		for _, hc := range nonNilCheckTags(checks) {
			k := strings.ToLower(hc.Node)
			nodeChecks[k] = append(nodeChecks[k], hc)
		}
		out := make([]nodeSummary, 0, len(nodes))
		for _, n := range nodes {
			k := strings.ToLower(n.Node)
			sum := nodeSummary{Node: n, Services: services[k], Checks: nodeChecks[k]}
			if sum.Services == nil {
				sum.Services = []*structs.NodeService{}
			}
			if sum.Checks == nil {
				sum.Checks = structs.HealthChecks{}
			}
			out = append(out, sum)
		}
		return max(nidx, idx), out, nil
	})
}

// instancesAndChecks is what both summaries are built from: every service
// instance and every check the request's token may read, and the index
// of the newer of the two tables.
func instancesAndChecks(st *state.Store, ws memdb.WatchSet, f *uiFilter) (uint64, []*structs.ServiceNode, structs.HealthChecks, error) {
	idx, instances, err := st.AllServiceNodes(ws)
	if err != nil {
		return 0, nil, nil, err
	}
	cidx, checks, err := st.ChecksInState(ws, structs.HealthAny)
	if err != nil {
		return 0, nil, nil, err
	}
	return max(idx, cidx), keepReadable(f, instances, readableServiceNode), keepReadable(f, checks, readableCheck), nil
}

// uiFilter keeps, for one summary, what the request's token may read
// (everything with ACLs off, ri nil) and whether it hid anything, for one
// X-Consul-Results-Filtered-By-ACLs at the end, as the catalog lists.
type uiFilter struct {
	ri     *requestIdentity
	hidden bool
}

func newUIFilter(r *http.Request) *uiFilter {
	ri, _ := requestIdentityOf(r)
	return &uiFilter{ri: ri}
}

func keepReadable[T any](f *uiFilter, items []T, readable func(*acl.Authorizer, T) bool) []T {
	if f.ri == nil {
		return items
	}
	kept := filterReadable(f.ri.Authorizer, items, readable)
	f.hidden = f.hidden || len(kept) < len(items)
	return kept
}

func (f *uiFilter) mark(w http.ResponseWriter) {
	if f.ri != nil {
		markFiltered(w, f.ri, f.hidden)
	}
}
