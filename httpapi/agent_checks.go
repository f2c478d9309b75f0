package httpapi

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/coredns-coord/coredns-coord/agent/local"
	"github.com/coredns-coord/coredns-coord/structs"
)

func (s *server) agentCheckRegister(w http.ResponseWriter, r *http.Request) error {
	var def structs.CheckDefinition
	if err := decodeBody(r.Body, &def); err != nil {
		return err
	}
	if def.Name == "" {
		return badRequest("Missing check name")
	}
	if err := s.authorizeAgentCheck(r, &def); err != nil {
		return err
	}
	if err := s.agent.AddCheck(&def, local.SourceAPI); err != nil {
		return err
	}
	writeText(w, http.StatusOK, "")
	return nil
}

func (s *server) agentCheckDeregister(w http.ResponseWriter, r *http.Request) error {
	if err := s.agent.RemoveCheck(r.PathValue("id")); err != nil {
		return err
	}
	writeText(w, http.StatusOK, "")
	return nil
}

// agentCheckTTL answers agent/check/pass|warn|fail/:id; the note becomes
// the check's output.
func (s *server) agentCheckTTL(status string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := s.agent.UpdateTTL(r.PathValue("id"), status, r.URL.Query().Get("note")); err != nil {
			return err
		}
		writeText(w, http.StatusOK, "")
		return nil
	}
}

// checkUpdate is agent/check/update's body.
type checkUpdate struct {
	Status string
	Output string
}

func (s *server) agentCheckUpdate(w http.ResponseWriter, r *http.Request) error {
	var u checkUpdate
	if err := decodeBody(r.Body, &u); err != nil {
		return err
	}
	switch u.Status {
	case structs.HealthPassing, structs.HealthWarning, structs.HealthCritical:
	default:
		return badRequest("Invalid check status: %q", u.Status)
	}
	if err := s.agent.UpdateTTL(r.PathValue("id"), u.Status, u.Output); err != nil {
		return err
	}
	writeText(w, http.StatusOK, "")
	return nil
}

// maintenanceParams reads ?enable (required) and ?reason.
func maintenanceParams(r *http.Request) (bool, string, error) {
	q := r.URL.Query()
	if !q.Has("enable") {
		return false, "", badRequest("Missing value for enable")
	}
	enable, err := strconv.ParseBool(q.Get("enable"))
	if err != nil {
		return false, "", badRequest("Invalid value for enable: %q", q.Get("enable"))
	}
	return enable, q.Get("reason"), nil
}

func (s *server) agentNodeMaintenance(w http.ResponseWriter, r *http.Request) error {
	enable, reason, err := maintenanceParams(r)
	if err != nil {
		return err
	}
	if enable {
		s.agent.EnableNodeMaintenance(reason)
	} else {
		s.agent.DisableNodeMaintenance()
	}
	writeText(w, http.StatusOK, "")
	return nil
}

func (s *server) agentServiceMaintenance(w http.ResponseWriter, r *http.Request) error {
	enable, reason, err := maintenanceParams(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if enable {
		err = s.agent.EnableServiceMaintenance(id, reason)
	} else {
		err = s.agent.DisableServiceMaintenance(id)
	}
	if err != nil {
		return err
	}
	writeText(w, http.StatusOK, "")
	return nil
}

// agentReload re-reads the definition files. Every good definition is
// applied; the bad ones are listed in a 400.
func (s *server) agentReload(w http.ResponseWriter, r *http.Request) error {
	if errs := s.agent.ReloadDefinitions(); len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, err := range errs {
			msgs[i] = err.Error()
		}
		return badRequest("Reload applied with errors:\n%s", strings.Join(msgs, "\n"))
	}
	writeText(w, http.StatusOK, "")
	return nil
}
