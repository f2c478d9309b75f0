package structs

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Check kinds, as Consul writes them in a check's Type.
const (
	CheckHTTP   = "http"
	CheckTCP    = "tcp"
	CheckTTL    = "ttl"
	CheckScript = "script"
	CheckGRPC   = "grpc"
	CheckAlias  = "alias"
	CheckDocker = "docker"
)

// Check timing limits. Consul clamps an interval under one second to one
// second; we do the same and also clamp a timeout longer than the interval,
// so that a check's verdict never takes longer than interval+timeout.
const (
	MinCheckInterval     = time.Second
	DefaultCheckTimeout  = 10 * time.Second
	DefaultScriptTimeout = 30 * time.Second
	DefaultOutputMaxSize = 4 * 1024
)

// Duration is a time.Duration that reads and writes JSON as Consul's API
// does: a Go duration string ("10s"); a bare number is nanoseconds.
type Duration time.Duration

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a duration string or a number of nanoseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch x := v.(type) {
	case nil:
		*d = 0
	case float64:
		*d = Duration(x)
	case string:
		if x == "" {
			*d = 0
			return nil
		}
		p, err := time.ParseDuration(x)
		if err != nil {
			return fmt.Errorf("invalid duration %q", x)
		}
		*d = Duration(p)
	default:
		return fmt.Errorf("invalid duration %s", b)
	}
	return nil
}

// CheckType says how a check runs: exactly one of ScriptArgs (in a Docker
// container when DockerContainerID is set), HTTP, TCP, TTL, GRPC or an
// alias (AliasNode/AliasService), with its timing and thresholds. The JSON
// names are those of the Consul client's AgentServiceCheck, so a service
// registration's Check decodes into it.
type CheckType struct {
	CheckID string
	Name    string
	Status  string `json:",omitempty"`
	Notes   string `json:",omitempty"`

	ScriptArgs []string `json:",omitempty"`
	// DockerContainerID makes ScriptArgs run in that container. Shell is
	// accepted for Consul's sake: Consul uses it only with the "script"
	// field it removed in 1.1, never with ScriptArgs.
	DockerContainerID string `json:",omitempty"`
	Shell             string `json:",omitempty"`

	HTTP             string              `json:",omitempty"`
	Header           map[string][]string `json:",omitempty"`
	Method           string              `json:",omitempty"`
	Body             string              `json:",omitempty"`
	DisableRedirects bool                `json:",omitempty"`
	TLSServerName    string              `json:",omitempty"`
	TLSSkipVerify    bool                `json:",omitempty"`
	TCP              string              `json:",omitempty"`
	GRPC             string              `json:",omitempty"`
	GRPCUseTLS       bool                `json:",omitempty"`
	AliasNode        string              `json:",omitempty"`
	AliasService     string              `json:",omitempty"`

	Interval                       Duration `json:",omitempty"`
	Timeout                        Duration `json:",omitempty"`
	TTL                            Duration `json:",omitempty"`
	DeregisterCriticalServiceAfter Duration `json:",omitempty"`

	SuccessBeforePassing   int `json:",omitempty"`
	FailuresBeforeWarning  int `json:",omitempty"`
	FailuresBeforeCritical int `json:",omitempty"`
	OutputMaxSize          int `json:",omitempty"`
}

// Kind is the check's type (CheckHTTP, ...), or "" when it names none.
// Validate makes sure there is exactly one.
func (c *CheckType) Kind() string {
	kinds := c.kinds()
	if len(kinds) == 0 {
		return ""
	}
	return kinds[0]
}

func (c *CheckType) kinds() []string {
	var k []string
	if len(c.ScriptArgs) > 0 {
		// As Consul's IsDocker: args with a container are run there.
		if c.DockerContainerID != "" {
			k = append(k, CheckDocker)
		} else {
			k = append(k, CheckScript)
		}
	}
	if c.HTTP != "" {
		k = append(k, CheckHTTP)
	}
	if c.TCP != "" {
		k = append(k, CheckTCP)
	}
	if c.TTL != 0 {
		k = append(k, CheckTTL)
	}
	if c.GRPC != "" {
		k = append(k, CheckGRPC)
	}
	if c.AliasNode != "" || c.AliasService != "" {
		k = append(k, CheckAlias)
	}
	return k
}

// ErrInvalidCheck wraps every reason Validate gives.
var ErrInvalidCheck = errors.New("invalid check")

func invalidCheck(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidCheck, fmt.Sprintf(format, args...))
}

// Validate refuses a check that cannot run. Field names in the messages are
// the snake_case names of Consul's definition files.
func (c *CheckType) Validate() error {
	// Before the kinds, so that a container without args is not taken for
	// some other check that ignores it.
	if c.DockerContainerID != "" && len(c.ScriptArgs) == 0 {
		return invalidCheck("docker_container_id needs args, the command to run in the container")
	}
	if c.Shell != "" && c.DockerContainerID == "" {
		return invalidCheck("shell is only for a Docker check (with docker_container_id)")
	}
	kinds := c.kinds()
	switch {
	case len(kinds) == 0:
		return invalidCheck("needs one of args, http, tcp, ttl, grpc, alias_node or alias_service")
	case len(kinds) > 1:
		return invalidCheck("has both %s and %s; a check runs one way only", kinds[0], kinds[1])
	}
	kind := kinds[0]
	if !ValidCheckStatus(c.Status) {
		return invalidCheck("status %q is not passing, warning or critical", c.Status)
	}
	if c.Interval < 0 || c.Timeout < 0 || c.TTL < 0 || c.DeregisterCriticalServiceAfter < 0 {
		return invalidCheck("durations must not be negative")
	}
	if c.SuccessBeforePassing < 0 || c.FailuresBeforeWarning < 0 || c.FailuresBeforeCritical < 0 {
		return invalidCheck("success_before_passing, failures_before_warning and failures_before_critical must not be negative")
	}
	if c.OutputMaxSize < 0 {
		return invalidCheck("output_max_size must not be negative")
	}
	switch kind {
	case CheckTTL:
		if c.Interval != 0 {
			return invalidCheck("ttl and interval cannot both be set")
		}
	case CheckAlias:
		if c.Interval != 0 {
			return invalidCheck("an alias check has no interval")
		}
	default:
		if c.Interval == 0 {
			return invalidCheck("interval is required for a %s check", kind)
		}
	}
	switch kind {
	case CheckHTTP:
		if !strings.HasPrefix(c.HTTP, "http://") && !strings.HasPrefix(c.HTTP, "https://") {
			return invalidCheck("http %q must be an http:// or https:// URL", c.HTTP)
		}
	case CheckTCP:
		if !strings.Contains(c.TCP, ":") {
			return invalidCheck("tcp %q must be host:port", c.TCP)
		}
	}
	return nil
}

// Normalize fills defaults and clamps what Consul clamps, returning one
// warning per change so that the caller can log it. Call it after Validate.
func (c *CheckType) Normalize() (warnings []string) {
	kind := c.Kind()
	if kind == CheckTTL || kind == CheckAlias {
		return nil
	}
	if c.Interval < Duration(MinCheckInterval) {
		warnings = append(warnings, fmt.Sprintf("interval %s is below the minimum; using %s", time.Duration(c.Interval), MinCheckInterval))
		c.Interval = Duration(MinCheckInterval)
	}
	if c.Timeout > c.Interval {
		warnings = append(warnings, fmt.Sprintf("timeout %s is longer than the interval; using %s", time.Duration(c.Timeout), time.Duration(c.Interval)))
		c.Timeout = c.Interval
	}
	if c.Timeout == 0 {
		def := DefaultCheckTimeout
		if kind == CheckScript || kind == CheckDocker {
			def = DefaultScriptTimeout
		}
		c.Timeout = Duration(min(def, time.Duration(c.Interval)))
	}
	return warnings
}

// CheckDefinition is a check registered on its own: agent/check/register's
// body (the Consul client's AgentCheckRegistration) and a definition file's
// "check" block. ID wins over CheckID.
type CheckDefinition struct {
	ID        string
	ServiceID string
	CheckType
}

// ServiceDefinition is agent/service/register's body (the Consul client's
// AgentServiceRegistration) and a definition file's "service" block.
type ServiceDefinition struct {
	Kind              string `json:",omitempty"`
	ID                string
	Name              string
	Tags              []string                  `json:",omitempty"`
	Address           string                    `json:",omitempty"`
	TaggedAddresses   map[string]ServiceAddress `json:",omitempty"`
	Meta              map[string]string         `json:",omitempty"`
	Port              int
	SocketPath        string       `json:",omitempty"`
	Weights           *Weights     `json:",omitempty"`
	EnableTagOverride bool         `json:",omitempty"`
	Locality          *Locality    `json:",omitempty"`
	Check             *CheckType   `json:",omitempty"`
	Checks            []*CheckType `json:",omitempty"`
}

// ServiceID is the ID the definition registers under: ID, or else Name.
func (s *ServiceDefinition) ServiceID() string {
	if s.ID != "" {
		return s.ID
	}
	return s.Name
}

// NodeService is the instance the definition registers.
func (s *ServiceDefinition) NodeService() *NodeService {
	return &NodeService{
		Kind:              s.Kind,
		ID:                s.ServiceID(),
		Service:           s.Name,
		Tags:              s.Tags,
		Address:           s.Address,
		TaggedAddresses:   s.TaggedAddresses,
		Meta:              s.Meta,
		Port:              s.Port,
		SocketPath:        s.SocketPath,
		Weights:           s.Weights,
		EnableTagOverride: s.EnableTagOverride,
		Locality:          s.Locality,
	}
}

// CheckTypes is Check and Checks together, nils dropped.
func (s *ServiceDefinition) CheckTypes() []*CheckType {
	var out []*CheckType
	if s.Check != nil {
		out = append(out, s.Check)
	}
	for _, c := range s.Checks {
		if c != nil {
			out = append(out, c)
		}
	}
	return out
}
