// Package structs holds the catalog and KV types shared by the state store,
// the HTTP API and the DNS plugin. JSON field names are Consul's, so that the
// official Consul client decodes our responses unchanged.
package structs

// Health statuses, as Consul spells them.
const (
	HealthAny      = "any"
	HealthPassing  = "passing"
	HealthWarning  = "warning"
	HealthCritical = "critical"
)

// ValidCheckStatus reports whether s may be stored as a check's status
// (empty means the default).
func ValidCheckStatus(s string) bool {
	switch s {
	case "", HealthPassing, HealthWarning, HealthCritical:
		return true
	}
	return false
}

// SerfCheckID is the node-level check that gossip owns; its failure takes
// every instance on the node out of answers.
const (
	SerfCheckID   = "serfHealth"
	SerfCheckName = "Serf Health Status"
)

// ConsulServiceID is the service every server registers for itself, so that
// consul.service.consul finds the servers.
const ConsulServiceID = "consul"

// Maintenance check IDs, as Consul's agent registers them: a critical check
// on the node, or on one service (the prefix followed by its ID), whose
// Notes are the reason.
const (
	NodeMaintCheckID        = "_node_maintenance"
	ServiceMaintCheckPrefix = "_service_maintenance:"
)

// RaftIndex records when an entry was created and last changed.
type RaftIndex struct {
	CreateIndex uint64
	ModifyIndex uint64
}

// Node is a catalog node.
type Node struct {
	ID              string
	Node            string
	Address         string
	Datacenter      string
	TaggedAddresses map[string]string
	Meta            map[string]string
	RaftIndex
}

// Weights are the SRV weights for an instance in passing or warning state.
type Weights struct {
	Passing int
	Warning int
}

// NodeService is a service instance as the agent and catalog/node see it.
type NodeService struct {
	Kind              string `json:",omitempty"`
	ID                string
	Service           string
	Tags              []string
	Address           string
	Meta              map[string]string
	Port              int
	Weights           *Weights `json:",omitempty"`
	EnableTagOverride bool
	Datacenter        string `json:",omitempty"`
	RaftIndex
}

// ServiceNode is one row of the services table: an instance joined with the
// name of the node it runs on. catalog/service/:name returns it merged with
// node fields (see CatalogService).
type ServiceNode struct {
	Node                     string
	ServiceID                string
	ServiceName              string
	ServiceTags              []string
	ServiceAddress           string
	ServiceMeta              map[string]string
	ServicePort              int
	ServiceWeights           Weights
	ServiceEnableTagOverride bool
	ServiceKind              string `json:",omitempty"`
	RaftIndex
}

// ToNodeService converts a table row to the agent's view.
func (s *ServiceNode) ToNodeService() *NodeService {
	w := s.ServiceWeights
	return &NodeService{
		Kind:              s.ServiceKind,
		ID:                s.ServiceID,
		Service:           s.ServiceName,
		Tags:              s.ServiceTags,
		Address:           s.ServiceAddress,
		Meta:              s.ServiceMeta,
		Port:              s.ServicePort,
		Weights:           &w,
		EnableTagOverride: s.ServiceEnableTagOverride,
		RaftIndex:         s.RaftIndex,
	}
}

// HasTag reports whether the instance carries tag, case-insensitively as
// Consul's DNS and catalog tag filters compare.
func (s *ServiceNode) HasTag(tag string) bool {
	for _, t := range s.ServiceTags {
		if equalFold(t, tag) {
			return true
		}
	}
	return false
}

// CatalogService is the catalog/service/:name row: instance and node merged.
type CatalogService struct {
	ID                       string
	Node                     string
	Address                  string
	Datacenter               string
	TaggedAddresses          map[string]string
	NodeMeta                 map[string]string
	ServiceID                string
	ServiceName              string
	ServiceAddress           string
	ServiceTags              []string
	ServiceMeta              map[string]string
	ServicePort              int
	ServiceWeights           Weights
	ServiceEnableTagOverride bool
	ServiceKind              string
	RaftIndex
}

// NewCatalogService joins an instance with its node.
func NewCatalogService(n *Node, sn *ServiceNode) *CatalogService {
	return &CatalogService{
		ID:                       n.ID,
		Node:                     n.Node,
		Address:                  n.Address,
		Datacenter:               n.Datacenter,
		TaggedAddresses:          n.TaggedAddresses,
		NodeMeta:                 n.Meta,
		ServiceID:                sn.ServiceID,
		ServiceName:              sn.ServiceName,
		ServiceAddress:           sn.ServiceAddress,
		ServiceTags:              sn.ServiceTags,
		ServiceMeta:              sn.ServiceMeta,
		ServicePort:              sn.ServicePort,
		ServiceWeights:           sn.ServiceWeights,
		ServiceEnableTagOverride: sn.ServiceEnableTagOverride,
		ServiceKind:              sn.ServiceKind,
		RaftIndex:                sn.RaftIndex,
	}
}

// HealthCheck is one row of the checks table.
type HealthCheck struct {
	Node        string
	CheckID     string
	Name        string
	Status      string
	Notes       string
	Output      string
	ServiceID   string
	ServiceName string
	ServiceTags []string
	Type        string
	RaftIndex
}

// HealthChecks is a list of checks.
type HealthChecks []*HealthCheck

// AggregatedStatus is the worst status of the checks: critical beats warning
// beats passing. No checks at all count as passing.
func (c HealthChecks) AggregatedStatus() string {
	status := HealthPassing
	for _, hc := range c {
		switch hc.Status {
		case HealthCritical:
			return HealthCritical
		case HealthWarning:
			status = HealthWarning
		case HealthPassing:
		default:
			return HealthCritical
		}
	}
	return status
}

// ServiceEntry is one health/service/:name result.
type ServiceEntry struct {
	Node    *Node
	Service *NodeService
	Checks  HealthChecks
}

// NodeServices is the catalog/node/:node result.
type NodeServices struct {
	Node     *Node
	Services map[string]*NodeService
}

// CheckServiceNode is what the DNS answer path works from: a healthy-enough
// instance, its node, and the address to answer with.
type CheckServiceNode struct {
	Node    *Node
	Service *ServiceNode
	Checks  HealthChecks
}

// AnswerAddress is the address DNS and SRV answers use: the service address
// if set, otherwise the node's.
func (c *CheckServiceNode) AnswerAddress() string {
	if c.Service.ServiceAddress != "" {
		return c.Service.ServiceAddress
	}
	return c.Node.Address
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
