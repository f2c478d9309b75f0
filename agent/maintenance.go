package agent

import (
	"strings"

	"github.com/coredns-coord/coredns-coord/agent/local"
	"github.com/coredns-coord/coredns-coord/structs"
)

// Maintenance mode is a critical check, as in Consul: it takes the node (or
// one service) out of DNS answers and health/service?passing without
// touching the real checks, and its Notes carry the reason. Its ID is
// structs.NodeMaintCheckID, or structs.ServiceMaintCheckPrefix and the
// service's ID.
const (
	maintCheckType = "maintenance"

	defaultNodeMaintReason    = "Maintenance mode is enabled for this node, but no reason was provided. This is a default message."
	defaultServiceMaintReason = "Maintenance mode is enabled for this service, but no reason was provided. This is a default message."
)

func isMaintenanceCheck(id string) bool {
	return id == structs.NodeMaintCheckID || strings.HasPrefix(id, structs.ServiceMaintCheckPrefix)
}

// ServiceMaintCheckID is the maintenance check of a service.
func ServiceMaintCheckID(serviceID string) string { return structs.ServiceMaintCheckPrefix + serviceID }

// EnableNodeMaintenance puts the node into maintenance; doing it again
// only updates the reason.
func (a *Agent) EnableNodeMaintenance(reason string) {
	if reason == "" {
		reason = defaultNodeMaintReason
	}
	a.addMaintenanceCheck(&structs.HealthCheck{
		CheckID: structs.NodeMaintCheckID,
		Name:    "Node Maintenance Mode",
		Notes:   reason,
	})
}

// DisableNodeMaintenance takes the node out of maintenance.
func (a *Agent) DisableNodeMaintenance() {
	a.removeMaintenanceCheck(structs.NodeMaintCheckID)
}

// EnableServiceMaintenance puts one local service into maintenance.
func (a *Agent) EnableServiceMaintenance(serviceID, reason string) error {
	if a.local.Service(serviceID) == nil {
		return unknownService(serviceID)
	}
	if reason == "" {
		reason = defaultServiceMaintReason
	}
	a.addMaintenanceCheck(&structs.HealthCheck{
		CheckID:   ServiceMaintCheckID(serviceID),
		Name:      "Service Maintenance Mode",
		Notes:     reason,
		ServiceID: serviceID,
	})
	return nil
}

// DisableServiceMaintenance takes one local service out of maintenance.
func (a *Agent) DisableServiceMaintenance(serviceID string) error {
	if a.local.Service(serviceID) == nil {
		return unknownService(serviceID)
	}
	a.removeMaintenanceCheck(ServiceMaintCheckID(serviceID))
	return nil
}

func (a *Agent) addMaintenanceCheck(hc *structs.HealthCheck) {
	hc.Status, hc.Type = structs.HealthCritical, maintCheckType
	defer a.syncNow()
	a.localMu.Lock()
	defer a.localMu.Unlock()
	if cur := a.local.Check(hc.CheckID); cur != nil && cur.Check.Notes == hc.Notes {
		return
	}
	a.local.AddCheck(hc, nil, local.SourceInternal)
	a.persistCheck(hc.CheckID)
	agentLog.Infof("maintenance enabled: %s (%s)", hc.CheckID, hc.Notes)
}

func (a *Agent) removeMaintenanceCheck(id string) {
	defer a.syncNow()
	a.localMu.Lock()
	defer a.localMu.Unlock()
	if a.local.RemoveCheck(id) {
		a.unpersistCheck(id)
		agentLog.Infof("maintenance disabled: %s", id)
	}
}
