package httpapi

import (
	"net/http"

	"github.com/coredns-coord/coredns-coord/acl"
	"github.com/coredns-coord/coredns-coord/structs"
)

// A guard is the permission check of one route that the path (and the
// agent's state) decides; routes whose permission depends on the body
// (registrations, session create, txn) check in their handler, and list
// reads filter. Guards run only with ACLs on.
type guard func(s *server, r *http.Request) error

// need is a guard for a fixed permission on a name the path gives.
func need(res acl.Resource, want acl.Access, name func(s *server, r *http.Request) string) guard {
	return func(s *server, r *http.Request) error {
		n := ""
		if name != nil {
			n = name(s, r)
		}
		return authorize(r, res, n, want)
	}
}

func pathValue(key string) func(*server, *http.Request) string {
	return func(_ *server, r *http.Request) string { return r.PathValue(key) }
}

func selfNode(s *server, _ *http.Request) string { return s.agent.Config().NodeName }

// routeGuards are the path-decided permissions, by route pattern.
var routeGuards = map[string]guard{
	"GET /v1/kv/{key...}":    kvReadGuard,
	"PUT /v1/kv/{key...}":    need(acl.ResourceKey, acl.AccessWrite, pathValue("key")),
	"DELETE /v1/kv/{key...}": kvDeleteGuard,

	"PUT /v1/session/destroy/{id...}": sessionWriteGuard,
	"PUT /v1/session/renew/{id...}":   sessionWriteGuard,

	"PUT /v1/event/fire/{name...}": need(acl.ResourceEvent, acl.AccessWrite, pathValue("name")),

	// A snapshot holds every secret: management only, as Consul.
	"GET /v1/snapshot": need(acl.ResourceACL, acl.AccessWrite, nil),
	"PUT /v1/snapshot": need(acl.ResourceACL, acl.AccessWrite, nil),

	"GET /v1/operator/raft/configuration":      need(acl.ResourceOperator, acl.AccessRead, nil),
	"DELETE /v1/operator/raft/peer":            need(acl.ResourceOperator, acl.AccessWrite, nil),
	"GET /v1/operator/autopilot/health":        need(acl.ResourceOperator, acl.AccessRead, nil),
	"GET /v1/operator/keyring":                 need(acl.ResourceKeyring, acl.AccessRead, nil),
	"POST /v1/operator/keyring":                need(acl.ResourceKeyring, acl.AccessWrite, nil),
	"PUT /v1/operator/keyring":                 need(acl.ResourceKeyring, acl.AccessWrite, nil),
	"DELETE /v1/operator/keyring":              need(acl.ResourceKeyring, acl.AccessWrite, nil),
	"POST /v1/operator/raft/transfer-leader":   need(acl.ResourceOperator, acl.AccessWrite, nil),
	"GET /v1/operator/autopilot/configuration": need(acl.ResourceOperator, acl.AccessRead, nil),
	"PUT /v1/operator/autopilot/configuration": need(acl.ResourceOperator, acl.AccessWrite, nil),
	"GET /v1/operator/autopilot/state":         need(acl.ResourceOperator, acl.AccessRead, nil),
	"GET /v1/operator/usage":                   need(acl.ResourceOperator, acl.AccessRead, nil),
	"GET /debug/pprof/{profile...}":            need(acl.ResourceOperator, acl.AccessRead, nil),
	"GET /v1/debug/pprof/{profile...}":         need(acl.ResourceOperator, acl.AccessRead, nil),

	"GET /v1/agent/self":                  need(acl.ResourceAgent, acl.AccessRead, selfNode),
	"GET /v1/agent/monitor":               need(acl.ResourceAgent, acl.AccessRead, selfNode),
	"GET /v1/agent/metrics":               need(acl.ResourceAgent, acl.AccessRead, selfNode),
	"GET /v1/agent/host":                  need(acl.ResourceOperator, acl.AccessRead, nil),
	"PUT /v1/agent/reload":                need(acl.ResourceAgent, acl.AccessWrite, selfNode),
	"PUT /v1/agent/token/{type...}":       need(acl.ResourceACL, acl.AccessWrite, nil),
	"PUT /v1/agent/join/{address...}":     need(acl.ResourceAgent, acl.AccessWrite, selfNode),
	"PUT /v1/agent/leave":                 need(acl.ResourceAgent, acl.AccessWrite, selfNode),
	"PUT /v1/agent/force-leave/{node...}": need(acl.ResourceOperator, acl.AccessWrite, nil),
	"PUT /v1/agent/maintenance":           need(acl.ResourceNode, acl.AccessWrite, selfNode),

	"PUT /v1/agent/service/deregister/{id...}":    localServiceGuard(acl.AccessWrite),
	"PUT /v1/agent/service/maintenance/{id...}":   localServiceGuard(acl.AccessWrite),
	"GET /v1/agent/service/{id...}":               localServiceGuard(acl.AccessRead),
	"GET /v1/agent/health/service/id/{id...}":     localServiceGuard(acl.AccessRead),
	"GET /v1/agent/health/service/name/{name...}": need(acl.ResourceService, acl.AccessRead, pathValue("name")),
	"PUT /v1/agent/check/deregister/{id...}":      localCheckGuard,
	"PUT /v1/agent/check/pass/{id...}":            localCheckGuard,
	"PUT /v1/agent/check/warn/{id...}":            localCheckGuard,
	"PUT /v1/agent/check/fail/{id...}":            localCheckGuard,
	"PUT /v1/agent/check/update/{id...}":          localCheckGuard,
}

// kvReadGuard: a recursive read or a key listing needs key:list on the
// prefix (then shows only the keys the token may read); a single key
// needs key:read. Consul asks for list only with enable_key_list_policy;
// here it always does, so that list means something.
func kvReadGuard(s *server, r *http.Request) error {
	q := r.URL.Query()
	_, recurse := q["recurse"]
	_, keys := q["keys"]
	if recurse || keys {
		return authorize(r, acl.ResourceKey, r.PathValue("key"), acl.AccessList)
	}
	return authorize(r, acl.ResourceKey, r.PathValue("key"), acl.AccessRead)
}

// kvDeleteGuard: deleting a tree needs write on every key under it (no
// rule below the prefix may say less), as Consul's KeyWritePrefix.
func kvDeleteGuard(s *server, r *http.Request) error {
	key := r.PathValue("key")
	if _, recurse := r.URL.Query()["recurse"]; !recurse {
		return authorize(r, acl.ResourceKey, key, acl.AccessWrite)
	}
	t, _ := checkerOf(r)
	return t.NeedKeyWritePrefix(key)
}

// sessionWriteGuard: destroying or renewing a session needs session:write
// on its node. An unknown session passes: the handler answers for it.
func sessionWriteGuard(s *server, r *http.Request) error {
	t, _ := checkerOf(r)
	return t.SessionByID(s.agent.State(), r.PathValue("id"))
}

// localServiceGuard: the agent's own service, by ID, needs service:want
// on its name. An unknown ID passes: the handler answers 404.
func localServiceGuard(want acl.Access) guard {
	return func(s *server, r *http.Request) error {
		svc, ok := s.agent.LocalServices()[r.PathValue("id")]
		if !ok {
			return nil
		}
		return authorize(r, acl.ResourceService, svc.Service, want)
	}
}

// localCheckGuard: a check of one of the agent's services needs
// service:write on the service; a node check node:write on the node.
func localCheckGuard(s *server, r *http.Request) error {
	hc, ok := s.agent.LocalChecks()[r.PathValue("id")]
	if !ok {
		return nil
	}
	if hc.ServiceName != "" {
		return authorize(r, acl.ResourceService, hc.ServiceName, acl.AccessWrite)
	}
	return authorize(r, acl.ResourceNode, s.agent.Config().NodeName, acl.AccessWrite)
}

// readableKey keeps the KV entries and key names a token may read.
func readableKey(authz *acl.Authorizer, key string) bool {
	return authz.Allowed(acl.ResourceKey, key, acl.AccessRead)
}

func readableEntry(authz *acl.Authorizer, e *structs.DirEntry) bool {
	return readableKey(authz, e.Key)
}

// The readers of catalog and health lists, as Consul's filters: a node
// needs node:read, a service instance service:read on its name and
// node:read on its node, a check service:read on its service or, for a
// node check, node:read.

func readableNode(authz *acl.Authorizer, n *structs.Node) bool {
	return authz.Allowed(acl.ResourceNode, n.Node, acl.AccessRead)
}

func readableInstance(authz *acl.Authorizer, cs *structs.CatalogService) bool {
	return authz.Allowed(acl.ResourceService, cs.ServiceName, acl.AccessRead) &&
		authz.Allowed(acl.ResourceNode, cs.Node, acl.AccessRead)
}

// readableServiceNode is readableInstance for a services table row.
func readableServiceNode(authz *acl.Authorizer, sn *structs.ServiceNode) bool {
	return authz.Allowed(acl.ResourceService, sn.ServiceName, acl.AccessRead) &&
		authz.Allowed(acl.ResourceNode, sn.Node, acl.AccessRead)
}

func readableEntryOfService(authz *acl.Authorizer, e *structs.ServiceEntry) bool {
	return authz.Allowed(acl.ResourceService, e.Service.Service, acl.AccessRead) &&
		authz.Allowed(acl.ResourceNode, e.Node.Node, acl.AccessRead)
}

func readableService(authz *acl.Authorizer, svc *structs.NodeService) bool {
	return authz.Allowed(acl.ResourceService, svc.Service, acl.AccessRead)
}

func readableCheck(authz *acl.Authorizer, hc *structs.HealthCheck) bool {
	if hc.ServiceName != "" {
		return authz.Allowed(acl.ResourceService, hc.ServiceName, acl.AccessRead)
	}
	return authz.Allowed(acl.ResourceNode, hc.Node, acl.AccessRead)
}

func readableServiceNames(authz *acl.Authorizer, services map[string][]string) (map[string][]string, bool) {
	filtered := false
	for name := range services {
		if !authz.Allowed(acl.ResourceService, name, acl.AccessRead) {
			delete(services, name)
			filtered = true
		}
	}
	return services, filtered
}

func readableChecks(authz *acl.Authorizer, checks structs.HealthChecks) (structs.HealthChecks, bool) {
	kept := filterReadable(authz, checks, readableCheck)
	return kept, len(kept) < len(checks)
}

// readableNodeServices hides a node the token may not read (null, as an
// unknown node) and the services it may not read.
func readableNodeServices(authz *acl.Authorizer, ns *structs.NodeServices) (*structs.NodeServices, bool) {
	if ns == nil {
		return nil, false
	}
	if !readableNode(authz, ns.Node) {
		return nil, true
	}
	filtered := false
	for id, svc := range ns.Services {
		if !readableService(authz, svc) {
			delete(ns.Services, id)
			filtered = true
		}
	}
	return ns, filtered
}

func readableNodeServiceList(authz *acl.Authorizer, list *structs.NodeServiceList) (*structs.NodeServiceList, bool) {
	if list == nil || list.Node == nil {
		return list, false
	}
	if !readableNode(authz, list.Node) {
		return &structs.NodeServiceList{}, true
	}
	kept := filterReadable(authz, list.Services, readableService)
	filtered := len(kept) < len(list.Services)
	list.Services = kept
	return list, filtered
}
