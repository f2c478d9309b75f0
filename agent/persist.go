package agent

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/coredns-coord/coredns-coord/agent/local"
	"github.com/coredns-coord/coredns-coord/internal/atomicfile"
	"github.com/coredns-coord/coredns-coord/structs"
)

// Services and checks registered over the API, and maintenance mode,
// survive a restart as in Consul: each is one JSON file under
// data_dir/local/{services,checks}, named by a hash of its ID. Definition
// files are their own record and are not copied. Dev agents keep nothing.

type persistedService struct {
	Service *structs.NodeService
}

type persistedCheck struct {
	Check      *structs.HealthCheck
	Definition *structs.CheckType `json:",omitempty"`
	Source     local.Source
}

func (a *Agent) persistDir(kind string) string {
	if a.cfg.DataDir == "" {
		return ""
	}
	return filepath.Join(a.cfg.DataDir, "local", kind)
}

func persistName(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:16]) + ".json"
}

func (a *Agent) persist(kind, id string, v any) {
	dir := a.persistDir(kind)
	if dir == "" {
		return
	}
	data, err := json.Marshal(v)
	if err == nil {
		err = atomicfile.WriteFile(filepath.Join(dir, persistName(id)), data, 0o600)
	}
	if err != nil {
		agentLog.Errorf("persist %s %q: %v", kind, id, err)
	}
}

func (a *Agent) unpersist(kind, id string) {
	dir := a.persistDir(kind)
	if dir == "" {
		return
	}
	if err := os.Remove(filepath.Join(dir, persistName(id))); err != nil && !os.IsNotExist(err) {
		agentLog.Errorf("remove persisted %s %q: %v", kind, id, err)
	}
}

func (a *Agent) persistService(svc *structs.NodeService, src local.Source) {
	if src == local.SourceAPI {
		a.persist("services", svc.ID, persistedService{Service: svc})
	} else {
		a.unpersist("services", svc.ID)
	}
}

func (a *Agent) unpersistService(id string) { a.unpersist("services", id) }

func (a *Agent) persistCheck(id string) {
	c := a.local.Check(id)
	if c == nil {
		return
	}
	if c.Source == local.SourceFile {
		a.unpersist("checks", id)
		return
	}
	a.persist("checks", id, persistedCheck{Check: c.Check, Definition: c.Definition, Source: c.Source})
}

func (a *Agent) unpersistCheck(id string) { a.unpersist("checks", id) }

// loadPersisted restores the API registrations of the last run. A file that
// cannot be read is reported and skipped; the rest still load.
func (a *Agent) loadPersisted() {
	readAll := func(kind string, fn func([]byte) error) {
		dir := a.persistDir(kind)
		if dir == "" {
			return
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			if !os.IsNotExist(err) {
				agentLog.Errorf("read persisted %s: %v", kind, err)
			}
			return
		}
		for _, e := range entries {
			if e.IsDir() || filepath.Ext(e.Name()) != ".json" {
				continue
			}
			path := filepath.Join(dir, e.Name())
			data, err := os.ReadFile(path)
			if err == nil {
				err = fn(data)
			}
			if err != nil {
				agentLog.Errorf("skip persisted %s %s: %v", kind, path, err)
			}
		}
	}
	readAll("services", func(data []byte) error {
		var p persistedService
		if err := json.Unmarshal(data, &p); err != nil {
			return err
		}
		if p.Service == nil || p.Service.ID == "" {
			return fmt.Errorf("no service in file")
		}
		a.local.AddService(p.Service, local.SourceAPI)
		return nil
	})
	readAll("checks", func(data []byte) error {
		var p persistedCheck
		if err := json.Unmarshal(data, &p); err != nil {
			return err
		}
		if p.Check == nil || p.Check.CheckID == "" {
			return fmt.Errorf("no check in file")
		}
		return a.restoreCheck(p)
	})
}

func (a *Agent) restoreCheck(p persistedCheck) error {
	a.localMu.Lock()
	defer a.localMu.Unlock()
	if p.Check.ServiceID != "" && a.local.Service(p.Check.ServiceID) == nil {
		return fmt.Errorf("check %q: service %q is gone", p.Check.CheckID, p.Check.ServiceID)
	}
	if p.Definition == nil {
		a.local.AddCheck(p.Check, nil, p.Source)
		return nil
	}
	sc, err := a.prepareCheck(p.Check.CheckID, p.Check.Name, p.Check.ServiceID, p.Definition, p.Source)
	if err != nil {
		return err
	}
	runners, err := a.newRunners([]serviceCheck{sc}, p.Source)
	if err != nil {
		return err
	}
	a.addCheckLocked(sc, runners[sc.hc.CheckID], p.Source)
	return nil
}
