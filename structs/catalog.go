// Package structs holds the catalog and KV types shared by the state store,
// the HTTP API and the DNS plugin. JSON field names are Consul's, so that the
// official Consul client decodes our responses unchanged.
package structs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
)

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
	Locality        *Locality `json:",omitempty" bexpr:"-"`
	RaftIndex
}

// Locality is where a node or service runs, as Consul records it; the
// catalog stores and returns it, nothing routes by it.
type Locality struct {
	Region string `json:",omitempty"`
	Zone   string `json:",omitempty"`
}

// Equal reports whether two localities (either may be nil) are the same.
func (l *Locality) Equal(o *Locality) bool {
	if l == nil || o == nil {
		return l == o
	}
	return *l == *o
}

// ServiceAddress is one of a service's tagged addresses.
type ServiceAddress struct {
	Address string
	Port    int
}

// Weights are the SRV weights for an instance in passing or warning state.
type Weights struct {
	Passing int
	Warning int
}

// NodeService is a service instance as the agent and catalog/node see it.
// Proxy and Connect are Consul's Connect blocks: kept as sent and always
// written (an empty object when unset, as Consul's value types are), but
// nothing here acts on them.
type NodeService struct {
	Kind              string `json:",omitempty"`
	ID                string
	Service           string
	Tags              []string
	Address           string
	TaggedAddresses   map[string]ServiceAddress `json:",omitempty"`
	Meta              map[string]string
	Port              int
	SocketPath        string   `json:",omitempty"`
	Weights           *Weights `json:",omitempty"`
	EnableTagOverride bool
	Proxy             RawObject `bexpr:"-"`
	Connect           RawObject `bexpr:"-"`
	Locality          *Locality `json:",omitempty" bexpr:"-"`
	Datacenter        string    `json:",omitempty"`
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
	ServiceKind              string                    `json:",omitempty"`
	ServiceTaggedAddresses   map[string]ServiceAddress `json:",omitempty"`
	ServiceSocketPath        string                    `json:",omitempty"`
	ServiceProxy             RawObject                 `json:",omitempty"`
	ServiceConnect           RawObject                 `json:",omitempty"`
	ServiceLocality          *Locality                 `json:",omitempty"`
	RaftIndex
}

// NewServiceNode is the table row for svc on node. An instance without an
// ID is registered under its name; one without weights gets 1 and 1.
func NewServiceNode(node string, svc *NodeService) *ServiceNode {
	sn := &ServiceNode{
		Node:                     node,
		ServiceID:                svc.ID,
		ServiceName:              svc.Service,
		ServiceTags:              svc.Tags,
		ServiceAddress:           svc.Address,
		ServiceMeta:              svc.Meta,
		ServicePort:              svc.Port,
		ServiceWeights:           Weights{Passing: 1, Warning: 1},
		ServiceEnableTagOverride: svc.EnableTagOverride,
		ServiceKind:              svc.Kind,
		ServiceTaggedAddresses:   svc.TaggedAddresses,
		ServiceSocketPath:        svc.SocketPath,
		ServiceProxy:             svc.Proxy,
		ServiceConnect:           svc.Connect,
		ServiceLocality:          svc.Locality,
	}
	if sn.ServiceID == "" {
		sn.ServiceID = sn.ServiceName
	}
	if svc.Weights != nil {
		sn.ServiceWeights = *svc.Weights
	}
	return sn
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
		TaggedAddresses:   s.ServiceTaggedAddresses,
		Meta:              s.ServiceMeta,
		Port:              s.ServicePort,
		SocketPath:        s.ServiceSocketPath,
		Weights:           &w,
		EnableTagOverride: s.ServiceEnableTagOverride,
		Proxy:             s.ServiceProxy,
		Connect:           s.ServiceConnect,
		Locality:          s.ServiceLocality,
		RaftIndex:         s.RaftIndex,
	}
}

// SameAs reports whether two rows hold the same registration, indexes
// aside, so that a re-registration that changes nothing writes nothing.
func (s *ServiceNode) SameAs(o *ServiceNode) bool {
	return s.Node == o.Node && s.ServiceID == o.ServiceID && s.ServiceName == o.ServiceName &&
		slices.Equal(s.ServiceTags, o.ServiceTags) && s.ServiceAddress == o.ServiceAddress &&
		maps.Equal(s.ServiceMeta, o.ServiceMeta) && s.ServicePort == o.ServicePort &&
		s.ServiceWeights == o.ServiceWeights && s.ServiceEnableTagOverride == o.ServiceEnableTagOverride &&
		s.ServiceKind == o.ServiceKind && maps.Equal(s.ServiceTaggedAddresses, o.ServiceTaggedAddresses) &&
		s.ServiceSocketPath == o.ServiceSocketPath && s.ServiceProxy.Equal(o.ServiceProxy) &&
		s.ServiceConnect.Equal(o.ServiceConnect) && s.ServiceLocality.Equal(o.ServiceLocality)
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
	ServiceTaggedAddresses   map[string]ServiceAddress `json:",omitempty"`
	ServiceSocketPath        string                    `json:",omitempty"`
	ServiceProxy             RawObject                 `bexpr:"-"`
	ServiceConnect           RawObject                 `bexpr:"-"`
	ServiceLocality          *Locality                 `json:",omitempty" bexpr:"-"`
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
		ServiceTaggedAddresses:   sn.ServiceTaggedAddresses,
		ServiceSocketPath:        sn.ServiceSocketPath,
		ServiceProxy:             sn.ServiceProxy,
		ServiceConnect:           sn.ServiceConnect,
		ServiceLocality:          sn.ServiceLocality,
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
	// Definition is how the check runs, as registered through the catalog
	// or a transaction; the catalog keeps it and returns it.
	Definition HealthCheckDefinition `bexpr:"-"`
	RaftIndex
}

// HealthCheckDefinition is a check's definition as Consul's catalog keeps
// it: durations are written as Go duration strings and left out when zero.
type HealthCheckDefinition struct {
	HTTP                           string              `json:",omitempty"`
	TLSServerName                  string              `json:",omitempty"`
	TLSSkipVerify                  bool                `json:",omitempty"`
	Header                         map[string][]string `json:",omitempty"`
	Method                         string              `json:",omitempty"`
	Body                           string              `json:",omitempty"`
	DisableRedirects               bool                `json:",omitempty"`
	TCP                            string              `json:",omitempty"`
	TCPUseTLS                      bool                `json:",omitempty"`
	UDP                            string              `json:",omitempty"`
	H2PING                         string              `json:",omitempty"`
	H2PingUseTLS                   bool                `json:",omitempty"`
	OSService                      string              `json:",omitempty"`
	GRPC                           string              `json:",omitempty"`
	GRPCUseTLS                     bool                `json:",omitempty"`
	ScriptArgs                     []string            `json:",omitempty"`
	DockerContainerID              string              `json:",omitempty"`
	Shell                          string              `json:",omitempty"`
	AliasNode                      string              `json:",omitempty"`
	AliasService                   string              `json:",omitempty"`
	Interval                       Duration            `json:",omitempty"`
	Timeout                        Duration            `json:",omitempty"`
	TTL                            Duration            `json:",omitempty"`
	DeregisterCriticalServiceAfter Duration            `json:",omitempty"`
	OutputMaxSize                  int                 `json:",omitempty"`
}

// Equal reports whether two definitions are the same.
func (d *HealthCheckDefinition) Equal(o *HealthCheckDefinition) bool {
	a, b := *d, *o
	if !maps.EqualFunc(a.Header, b.Header, slices.Equal[[]string]) || !slices.Equal(a.ScriptArgs, b.ScriptArgs) {
		return false
	}
	// What is left is comparable field by field.
	a.Header, b.Header, a.ScriptArgs, b.ScriptArgs = nil, nil, nil, nil
	return reflect.DeepEqual(a, b)
}

// Kind is the check type the definition describes, as Consul derives a
// catalog check's Type from it: "" when it names none (or lacks the
// interval a polling check needs).
func (d *HealthCheckDefinition) Kind() string {
	polls := d.Interval > 0
	switch {
	case d.GRPC != "" && polls:
		return CheckGRPC
	case d.HTTP != "" && polls:
		return CheckHTTP
	case d.TTL > 0:
		return CheckTTL
	case d.TCP != "" && polls:
		return CheckTCP
	case d.UDP != "" && polls:
		return "udp"
	case d.AliasNode != "" || d.AliasService != "":
		return CheckAlias
	case d.DockerContainerID != "" && polls:
		return CheckDocker
	case len(d.ScriptArgs) > 0 && polls:
		return CheckScript
	case d.H2PING != "" && polls:
		return "h2ping"
	case d.OSService != "" && polls:
		return "os_service"
	}
	return ""
}

// SameAs reports whether two checks are the same, indexes aside.
func (c *HealthCheck) SameAs(o *HealthCheck) bool {
	return c.Node == o.Node && c.CheckID == o.CheckID && c.Name == o.Name && c.Status == o.Status &&
		c.Notes == o.Notes && c.Output == o.Output && c.ServiceID == o.ServiceID &&
		c.ServiceName == o.ServiceName && slices.Equal(c.ServiceTags, o.ServiceTags) && c.Type == o.Type &&
		c.Definition.Equal(&o.Definition)
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

// NodeServiceList is the catalog/node-services/:node result: the same with
// the services as a list, sorted by ID.
type NodeServiceList struct {
	Node     *Node
	Services []*NodeService
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

// RawObject is a JSON object the catalog keeps as sent without reading it
// (a service's Connect blocks). Unset, it is written as {} rather than
// null, as Consul writes its zero-valued structs; {} and null read back as
// unset, so that a registration echoing a response changes nothing.
type RawObject []byte

// MarshalJSON writes the object, or {} when unset.
func (r RawObject) MarshalJSON() ([]byte, error) {
	if len(r) == 0 {
		return []byte("{}"), nil
	}
	return r, nil
}

// UnmarshalJSON keeps an object in compact form; anything but an object or
// null is an error.
func (r *RawObject) UnmarshalJSON(b []byte) error {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return err
	}
	switch c := buf.Bytes(); {
	case bytes.Equal(c, []byte("null")), bytes.Equal(c, []byte("{}")):
		*r = nil
	case c[0] != '{':
		return fmt.Errorf("must be a JSON object, not %s", b)
	default:
		*r = RawObject(bytes.Clone(c))
	}
	return nil
}

// Equal reports whether two objects are the same bytes.
func (r RawObject) Equal(o RawObject) bool { return bytes.Equal(r, o) }
