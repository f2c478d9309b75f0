package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/coredns-coord/coredns-coord/state"
	"github.com/coredns-coord/coredns-coord/structs"
)

// serviceUsage is Consul's api.ServiceUsage for one datacenter.
type serviceUsage struct {
	Nodes                    int
	Services                 int
	ServiceInstances         int
	ConnectServiceInstances  map[string]int
	BillableServiceInstances int
}

// connectKinds are the service kinds Consul counts in
// ConnectServiceInstances; "connect-native" counts typical services that
// speak Connect natively.
var connectKinds = []string{"api-gateway", "connect-native", "connect-proxy", "ingress-gateway", "mesh-gateway", "terminating-gateway"}

// operatorUsage counts the catalog as Consul's operator/usage does:
// unique service names, instances, instances by Connect kind, and the
// "billable" ones (typical services other than consul itself).
func (s *server) operatorUsage(w http.ResponseWriter, r *http.Request) error {
	opts, err := s.query(r)
	if err != nil {
		return err
	}
	st := s.agent.State()
	idx, instances, err := st.AllServiceNodes(nil)
	if err != nil {
		return err
	}
	nodesIdx, nodes, err := st.Nodes(nil)
	if err != nil {
		return err
	}
	u := serviceUsage{Nodes: len(nodes), ServiceInstances: len(instances), ConnectServiceInstances: map[string]int{}}
	for _, k := range connectKinds {
		u.ConnectServiceInstances[k] = 0
	}
	names := map[string]bool{}
	for _, sn := range instances {
		names[sn.ServiceName] = true
		switch {
		case sn.ServiceKind != "":
			u.ConnectServiceInstances[sn.ServiceKind]++
		case connectNative(sn.ServiceConnect):
			u.ConnectServiceInstances["connect-native"]++
			u.BillableServiceInstances++
		case sn.ServiceName != structs.ConsulServiceID:
			u.BillableServiceInstances++
		}
	}
	u.Services = len(names)
	s.setMeta(w, opts, max(idx, nodesIdx, st.MaxIndex(state.TableServices)))
	return writeJSON(w, r, http.StatusOK, struct{ Usage map[string]serviceUsage }{
		Usage: map[string]serviceUsage{s.agent.Config().Datacenter: u},
	})
}

// connectNative reads a service's Connect block for "Native": true.
func connectNative(raw structs.RawObject) bool {
	if len(raw) == 0 {
		return false
	}
	var c struct{ Native bool }
	return json.Unmarshal(raw, &c) == nil && c.Native
}
