package httpapi

import (
	"net/http"
	"net/http/pprof"
)

// debugPprof serves Go's profiles under /debug/pprof/ when the agent's
// enable_debug is on; off (the default), the endpoints do not exist (404),
// as in Consul without enable_debug and ACLs.
func (s *server) debugPprof(w http.ResponseWriter, r *http.Request) error {
	if !s.agent.DebugEndpoints() {
		return errorf(http.StatusNotFound, "404 page not found")
	}
	switch name := r.PathValue("profile"); name {
	case "cmdline":
		pprof.Cmdline(w, r)
	case "profile":
		pprof.Profile(w, r)
	case "symbol":
		pprof.Symbol(w, r)
	case "trace":
		pprof.Trace(w, r)
	case "":
		pprof.Index(w, r)
	default:
		pprof.Handler(name).ServeHTTP(w, r)
	}
	return nil
}
