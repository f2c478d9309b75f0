package httpapi

import (
	"cmp"
	"net/http"
	"slices"
	"strings"

	"github.com/coredns-coord/coredns-coord/structs"
)

// healthMaintenance is the aggregated status of a service in maintenance
// (Consul's api.HealthMaint).
const healthMaintenance = "maintenance"

// agentServiceChecksInfo is Consul's api.AgentServiceChecksInfo: one local
// service, its checks and the agent's own (node) checks, and the status
// they add up to.
type agentServiceChecksInfo struct {
	AggregatedStatus string
	Service          *agentService
	Checks           []*structs.HealthCheck
}

// healthFormat reads how agent/health/service answers: plain text (just
// the status) with ?format=text or an Accept of text/plain, else JSON.
func healthFormat(r *http.Request) (text bool, err error) {
	switch f := r.URL.Query().Get("format"); f {
	case "text":
		return true, nil
	case "json":
		return false, nil
	case "":
		return strings.HasPrefix(r.Header.Get("Accept"), "text/plain"), nil
	default:
		return false, badRequest("Invalid format %q: must be json or text", f)
	}
}

// healthCode is the status code that carries an aggregated status, so
// that a load balancer can check a service with a bare GET: 200 passing,
// 429 warning, 503 critical or in maintenance.
func healthCode(status string) int {
	switch status {
	case structs.HealthPassing:
		return http.StatusOK
	case structs.HealthWarning:
		return http.StatusTooManyRequests
	default:
		return http.StatusServiceUnavailable
	}
}

// aggregateStatus is the worst of the checks' statuses, maintenance above
// all; no checks is passing.
func aggregateStatus(checks []*structs.HealthCheck) string {
	var warning, critical bool
	for _, hc := range checks {
		if hc.CheckID == structs.NodeMaintCheckID || strings.HasPrefix(hc.CheckID, structs.ServiceMaintCheckPrefix) {
			return healthMaintenance
		}
		switch hc.Status {
		case structs.HealthWarning:
			warning = true
		case structs.HealthPassing:
		default:
			critical = true
		}
	}
	switch {
	case critical:
		return structs.HealthCritical
	case warning:
		return structs.HealthWarning
	}
	return structs.HealthPassing
}

// serviceHealth is one local service with its checks and the node's.
func (s *server) serviceHealth(svc *structs.NodeService, checks map[string]*structs.HealthCheck) agentServiceChecksInfo {
	var list []*structs.HealthCheck
	for _, hc := range checks {
		if hc.ServiceID == svc.ID || hc.ServiceID == "" {
			if hc.ServiceTags == nil {
				hc.ServiceTags = []string{}
			}
			list = append(list, hc)
		}
	}
	slices.SortFunc(list, func(a, b *structs.HealthCheck) int { return cmp.Compare(a.CheckID, b.CheckID) })
	return agentServiceChecksInfo{
		AggregatedStatus: aggregateStatus(list),
		Service:          toAgentService(svc, s.agent.Config().Datacenter),
		Checks:           list,
	}
}

// agentHealthServiceByID answers agent/health/service/id/:id. An unknown
// ID is 404 with a critical status, as Consul's.
func (s *server) agentHealthServiceByID(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if id == "" {
		return badRequest("Missing serviceID")
	}
	text, err := healthFormat(r)
	if err != nil {
		return err
	}
	svc, ok := s.agent.LocalServices()[id]
	if !ok {
		msg := "ServiceId " + id + " not found"
		if text {
			writeText(w, http.StatusNotFound, msg)
			return nil
		}
		return writeJSON(w, r, http.StatusNotFound, agentServiceChecksInfo{AggregatedStatus: structs.HealthCritical})
	}
	info := s.serviceHealth(svc, s.agent.LocalChecks())
	code := healthCode(info.AggregatedStatus)
	if text {
		writeText(w, code, info.AggregatedStatus)
		return nil
	}
	return writeJSON(w, r, code, info)
}

// agentHealthServiceByName answers agent/health/service/name/:name: every
// local instance of the service, and the worst of their statuses as the
// code. No instance is 404.
func (s *server) agentHealthServiceByName(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	if name == "" {
		return badRequest("Missing service Name")
	}
	text, err := healthFormat(r)
	if err != nil {
		return err
	}
	checks := s.agent.LocalChecks()
	out := []agentServiceChecksInfo{}
	for _, svc := range s.agent.LocalServices() {
		if svc.Service == name {
			out = append(out, s.serviceHealth(svc, checks))
		}
	}
	slices.SortFunc(out, func(a, b agentServiceChecksInfo) int { return cmp.Compare(a.Service.ID, b.Service.ID) })
	code, status := http.StatusNotFound, "ServiceName "+name+" Not Found"
	for i, info := range out {
		// 200 < 429 < 503: the highest code is the worst status.
		if c := healthCode(info.AggregatedStatus); i == 0 || c > code {
			code, status = c, info.AggregatedStatus
		}
	}
	if text {
		writeText(w, code, status)
		return nil
	}
	return writeJSON(w, r, code, out)
}
