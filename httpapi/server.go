// Package httpapi is the agent's HTTP API, wire-compatible with Consul's /v1:
// same paths, query parameters, JSON field names, status codes and headers,
// so that the official Consul client and tools built on it work unchanged.
//
// Every request passes through one middleware (ServeHTTP) that reads the
// request's token and decides whether to serve it, limits the body size,
// guarantees an explicit Content-Type, and records metrics. Routes are
// Go 1.22 method patterns; a method a route does not take gets 405.
package httpapi

import (
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/coredns-coord/coredns-coord/agent"
	"github.com/coredns-coord/coredns-coord/gossip"
	"github.com/coredns-coord/coredns-coord/structs"
)

// Body limits. Every write endpoint is bounded; KV values have Consul's
// 512 KiB limit, everything else gets 1 MiB.
const (
	maxKVValueSize = 512 * 1024
	maxBodySize    = 1024 * 1024
)

type server struct {
	agent *agent.Agent
	mux   *http.ServeMux
	cache responseCache // ?cached reads (cache.go)
}

// New returns the HTTP API for a; it is an agent.HandlerFunc.
func New(a *agent.Agent) http.Handler {
	s := &server{agent: a, mux: http.NewServeMux()}
	s.routes()
	return s
}

var _ agent.HandlerFunc = New

func (s *server) routes() {
	s.handle("PUT /v1/catalog/register", s.catalogRegister)
	s.handle("PUT /v1/catalog/deregister", s.catalogDeregister)
	s.handle("GET /v1/catalog/datacenters", s.catalogDatacenters)
	s.handle("GET /v1/catalog/nodes", s.catalogNodes)
	s.handle("GET /v1/catalog/services", s.catalogServices)
	s.handle("GET /v1/catalog/service/{name...}", s.catalogService)
	s.handle("GET /v1/catalog/node/{node...}", s.catalogNode)
	s.handle("GET /v1/catalog/node-services/{node...}", s.catalogNodeServiceList)

	s.handle("GET /v1/agent/self", s.agentSelf)
	s.handle("GET /v1/agent/services", s.agentServices)
	s.handle("GET /v1/agent/checks", s.agentChecks)
	s.handle("PUT /v1/agent/service/register", s.agentServiceRegister)
	s.handle("PUT /v1/agent/service/deregister/{id...}", s.agentServiceDeregister)
	s.handle("GET /v1/agent/service/{id...}", s.agentServiceGet)
	s.handle("PUT /v1/agent/service/maintenance/{id...}", s.agentServiceMaintenance)
	s.handle("PUT /v1/agent/maintenance", s.agentNodeMaintenance)
	s.handle("PUT /v1/agent/check/register", s.agentCheckRegister)
	s.handle("PUT /v1/agent/check/deregister/{id...}", s.agentCheckDeregister)
	s.handle("PUT /v1/agent/check/pass/{id...}", s.agentCheckTTL(structs.HealthPassing))
	s.handle("PUT /v1/agent/check/warn/{id...}", s.agentCheckTTL(structs.HealthWarning))
	s.handle("PUT /v1/agent/check/fail/{id...}", s.agentCheckTTL(structs.HealthCritical))
	s.handle("PUT /v1/agent/check/update/{id...}", s.agentCheckUpdate)
	s.handle("PUT /v1/agent/reload", s.agentReload)
	s.handle("GET /v1/agent/health/service/id/{id...}", s.agentHealthServiceByID)
	s.handle("GET /v1/agent/health/service/name/{name...}", s.agentHealthServiceByName)
	s.handle("GET /v1/agent/monitor", s.agentMonitor)
	s.handle("GET /v1/agent/host", s.agentHost)
	s.handle("GET /v1/agent/metrics", s.agentMetrics)
	s.handle("PUT /v1/agent/token/{type...}", s.agentToken)

	s.handle("GET /v1/health/node/{node...}", s.healthNode)
	s.handle("GET /v1/health/checks/{service...}", s.healthChecks)
	s.handle("GET /v1/health/service/{service...}", s.healthService)
	s.handle("GET /v1/health/state/{state...}", s.healthState)

	s.handle("GET /v1/kv/{key...}", s.kvGet)
	s.handle("PUT /v1/kv/{key...}", s.kvPut)
	s.handle("DELETE /v1/kv/{key...}", s.kvDelete)

	s.handle("PUT /v1/session/create", s.sessionCreate)
	s.handle("PUT /v1/session/destroy/{id...}", s.sessionDestroy)
	s.handle("PUT /v1/session/renew/{id...}", s.sessionRenew)
	s.handle("GET /v1/session/info/{id...}", s.sessionInfo)
	s.handle("GET /v1/session/node/{node...}", s.sessionNode)
	s.handle("GET /v1/session/list", s.sessionList)

	s.handle("PUT /v1/txn", s.txn)

	s.handle("PUT /v1/event/fire/{name...}", s.eventFire)
	s.handle("GET /v1/event/list", s.eventList)

	s.handle("GET /v1/status/leader", s.statusLeader)
	s.handle("GET /v1/status/peers", s.statusPeers)

	s.handle("GET /v1/agent/members", s.agentMembers)
	s.handle("PUT /v1/agent/join/{address...}", s.agentJoin)
	s.handle("PUT /v1/agent/leave", s.agentLeave)
	s.handle("PUT /v1/agent/force-leave/{node...}", s.agentForceLeave)

	s.handle("GET /v1/snapshot", s.snapshotSave)
	s.handle("PUT /v1/snapshot", s.snapshotRestore)

	s.handle("GET /v1/operator/raft/configuration", s.operatorRaftConfiguration)
	s.handle("DELETE /v1/operator/raft/peer", s.operatorRaftPeerDelete)
	s.handle("GET /v1/operator/autopilot/health", s.operatorAutopilotHealth)
	s.handle("GET /v1/operator/keyring", s.operatorKeyring(gossip.KeyList))
	s.handle("POST /v1/operator/keyring", s.operatorKeyring(gossip.KeyInstall))
	s.handle("PUT /v1/operator/keyring", s.operatorKeyring(gossip.KeyUse))
	s.handle("DELETE /v1/operator/keyring", s.operatorKeyring(gossip.KeyRemove))
	s.handle("POST /v1/operator/raft/transfer-leader", s.operatorRaftTransferLeader)
	s.handle("GET /v1/operator/autopilot/configuration", s.operatorAutopilotConfigGet)
	s.handle("PUT /v1/operator/autopilot/configuration", s.operatorAutopilotConfigPut)
	s.handle("GET /v1/operator/autopilot/state", s.operatorAutopilotState)
	s.handle("GET /v1/operator/usage", s.operatorUsage)

	// Consul serves its profiles at /debug/pprof (the official client's
	// Debug() asks there); /v1/debug/pprof is the same.
	s.handle("GET /debug/pprof/{profile...}", s.debugPprof)
	s.handle("GET /v1/debug/pprof/{profile...}", s.debugPprof)

	s.aclRoutes()
	// The web UI and the summaries its pages read (ui.go).
	s.uiRoutes()
}

// handlerFunc serves one route. It either writes the whole response and
// returns nil, or writes nothing and returns the error to answer with.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

func (s *server) handle(pattern string, h handlerFunc) {
	endpoint := endpointOfPattern(pattern)
	check := routeGuards[pattern]
	s.mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rec, ok := w.(*recorder); ok {
			rec.endpoint = endpoint
		}
		var err error
		if check != nil && s.agent.ACLEnabled() {
			err = check(s, r)
		}
		if err == nil {
			err = h(w, r)
		}
		if err != nil {
			writeError(w, r, err)
		}
	}))
}

// ServeHTTP is the one middleware every request passes: token and decision,
// body limit, Content-Type guarantee, panic containment and metrics.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &recorder{ResponseWriter: w}
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			httpLog.Errorf("panic serving %s %s: %v", r.Method, r.URL.Path, p)
			if rec.code == 0 {
				writeText(rec, http.StatusInternalServerError, "internal error")
			}
		}
		d := time.Since(start)
		s.record(rec, r, d)
		logRequest(r, rec.code, d)
	}()

	rec.Header().Set("X-Content-Type-Options", "nosniff")
	r, err := s.decide(r, requestToken(r))
	if err != nil {
		writeError(rec, r, err)
		return
	}
	if r.Body != nil {
		// Handlers with a tighter limit (KV) wrap the body again.
		limit := int64(maxBodySize)
		if r.URL.Path == "/v1/snapshot" {
			limit = maxSnapshotSize
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
	}
	if s.serveKeyAsSent(rec, r) {
		return
	}
	s.mux.ServeHTTP(rec, r)
}

// serveKeyAsSent serves a KV path that is not in canonical form (a key
// with "//", "." or ".." in it) at the key as sent. ServeMux would answer
// with a redirect to the cleaned path, which is another key: a client
// that follows it writes there (Consul answers 301 the same way).
func (s *server) serveKeyAsSent(w http.ResponseWriter, r *http.Request) bool {
	key, ok := strings.CutPrefix(r.URL.Path, "/v1/kv/")
	if !ok || cleanPath(r.URL.Path) == r.URL.Path {
		return false
	}
	// The route a canonical key would take, for this method.
	canonical := r.Clone(r.Context())
	canonical.URL.Path, canonical.URL.RawPath = "/v1/kv/k", ""
	h, pattern := s.mux.Handler(canonical)
	if pattern == "" {
		return false // no route for the method: the mux answers 405
	}
	r.SetPathValue("key", key)
	h.ServeHTTP(w, r)
	return true
}

// cleanPath is the canonical form ServeMux redirects to: path.Clean,
// keeping a trailing slash.
func cleanPath(p string) string {
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c
}

// decide is the security seam: every request comes here with its token.
// With ACLs off it does nothing. With ACLs on it resolves the token (an
// unknown one is refused here) and attaches it to the request; the route's
// guard (acl_guards.go), its handler and its list filters check it.
func (s *server) decide(r *http.Request, token string) (*http.Request, error) {
	if !s.agent.ACLEnabled() || tokenless[r.URL.Path] {
		return r, nil
	}
	return s.resolveRequest(r, token)
}

// requestToken reads the token as Consul does: ?token first, then the
// X-Consul-Token header, then Authorization: Bearer.
func requestToken(r *http.Request) string {
	if t := r.URL.Query().Get("token"); t != "" {
		return t
	}
	if t := strings.TrimSpace(r.Header.Get("X-Consul-Token")); t != "" {
		return t
	}
	auth := strings.TrimSpace(r.Header.Get("Authorization"))
	if len(auth) > 7 && strings.EqualFold(auth[:7], "bearer ") {
		return strings.TrimSpace(auth[7:])
	}
	return ""
}

func (s *server) record(rec *recorder, r *http.Request, d time.Duration) {
	endpoint := rec.endpoint
	if endpoint == "" {
		endpoint = s.unroutedEndpoint(r, rec.code)
	}
	code := codeLabel(rec.code)
	switch {
	case rec.code == 0 && r.Context().Err() != nil:
		code = codeClientGone
	case rec.code == 0:
		code = codeLabel(http.StatusOK)
	}
	observe(endpoint, code, d)
}

// unroutedEndpoint labels requests no route served: a 405 counts under the
// route whose path matched; anything else is "unmatched".
func (s *server) unroutedEndpoint(r *http.Request, code int) string {
	if code != http.StatusMethodNotAllowed {
		return endpointUnmatched
	}
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
		alt := r.WithContext(r.Context())
		alt.Method = m
		if _, pattern := s.mux.Handler(alt); pattern != "" {
			return endpointOfPattern(pattern)
		}
	}
	return endpointUnmatched
}

// endpointOfPattern turns a mux pattern into its metrics label:
// "GET /v1/catalog/service/{name...}" → "/v1/catalog/service/:name",
// "GET /v1/kv/{key...}" → "/v1/kv/".
func endpointOfPattern(pattern string) string {
	if _, path, ok := strings.Cut(pattern, " "); ok {
		pattern = path
	}
	if strings.HasPrefix(pattern, "/v1/kv/") {
		return "/v1/kv/"
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(pattern, '{')
		if i < 0 {
			b.WriteString(pattern)
			break
		}
		j := strings.IndexByte(pattern[i:], '}')
		if j < 0 {
			b.WriteString(pattern)
			break
		}
		b.WriteString(pattern[:i])
		b.WriteByte(':')
		b.WriteString(strings.TrimSuffix(pattern[i+1:i+j], "..."))
		pattern = pattern[i+j+1:]
	}
	return b.String()
}

// recorder remembers the status code and the route for metrics, and makes
// sure no response goes out without a Content-Type.
type recorder struct {
	http.ResponseWriter
	code     int
	endpoint string
}

func (rec *recorder) WriteHeader(code int) {
	if rec.code == 0 && code >= 200 {
		rec.code = code
		if rec.Header().Get("Content-Type") == "" {
			rec.Header().Set("Content-Type", contentText)
		}
	}
	rec.ResponseWriter.WriteHeader(code)
}

func (rec *recorder) Write(b []byte) (int, error) {
	if rec.code == 0 {
		rec.WriteHeader(http.StatusOK)
	}
	return rec.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (rec *recorder) Unwrap() http.ResponseWriter { return rec.ResponseWriter }

// baseWriter is the server's own ResponseWriter under any wrappers:
// http.MaxBytesReader needs it to close the connection of a client that
// sent too much.
func baseWriter(w http.ResponseWriter) http.ResponseWriter {
	for {
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return w
		}
		w = u.Unwrap()
	}
}
