package agent

import (
	"time"

	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/coredns-coord/coredns-coord/gossip"
	"github.com/coredns-coord/coredns-coord/internal/tlsutil"

	"github.com/google/uuid"
)

// Config is what the coordcatalog Corefile block sets for the agent.
type Config struct {
	NodeName   string
	NodeID     string
	Datacenter string
	// DataDir keeps the Raft log, snapshots and node ID. Empty with Dev.
	DataDir string
	// Dev runs a single in-memory server that bootstraps itself.
	Dev bool
	// Server runs Raft; without it the agent is a client that forwards
	// writes and replicates the state from the servers.
	Server bool
	// BindAddr is the address the server port and gossip bind to;
	// AdvertiseAddr (default BindAddr) is the one other agents use and the
	// node's catalog address.
	BindAddr      string
	AdvertiseAddr string
	ServerPort    int
	SerfLANPort   int
	// HTTPAddr is host:port of the HTTP API; empty disables it.
	HTTPAddr string
	// HTTPSAddr is host:port of the HTTP API over TLS; empty disables it.
	HTTPSAddr string
	// TLS is the tls block: certificates for HTTPS, and TLS on the server
	// port (RPC and Raft). A reload re-reads the files it names and may
	// change its settings, but not turn TLS on or off.
	TLS tlsutil.Config
	// HTTPMaxConnsPerClient caps the HTTP connections one client address
	// holds open (0: no cap); the next gets 429 and is closed.
	HTTPMaxConnsPerClient int
	// HTTPReadHeaderTimeout bounds reading a request's headers;
	// HTTPIdleTimeout closes a keep-alive connection idle that long.
	HTTPReadHeaderTimeout time.Duration
	HTTPIdleTimeout       time.Duration
	NodeMeta              map[string]string
	// BootstrapExpect is the number of servers that form the cluster once
	// they have met by gossip; 1 makes a lone server bootstrap itself, 0
	// waits to be added to a cluster that exists.
	BootstrapExpect int
	// RetryJoin are gossip addresses (host or host:port) joined at start,
	// retried until one answers.
	RetryJoin []string
	// Encrypt is the base64 gossip encryption key (16, 24 or 32 bytes).
	Encrypt string
	// ReconnectTimeout is how long a failed node stays in the catalog
	// before it is reaped.
	ReconnectTimeout time.Duration
	// SnapshotThreshold and SnapshotInterval tune Raft log compaction
	// (zero: raft's defaults).
	SnapshotThreshold uint64
	SnapshotInterval  time.Duration
	// CleanupDeadServers lets the leader remove failed servers from the
	// Raft configuration when the quorum allows (autopilot).
	CleanupDeadServers bool
	// ACL is the acl { } block (acl_config.go); without it, ACLs are off.
	ACL ACLConfig
}

// Defaults, as Consul's.
const (
	DefaultDatacenter = "dc1"
	DefaultBindAddr   = "127.0.0.1"
	DefaultServerPort = 8300
	DefaultSerfLAN    = gossip.DefaultLANPort
	DefaultHTTPAddr   = "127.0.0.1:8500"
	// DefaultReconnectTimeout is Consul's reconnect_timeout.
	DefaultReconnectTimeout = 72 * time.Hour
)

// DefaultConfig is a server in dc1 named after the host.
func DefaultConfig() Config {
	host, _ := os.Hostname()
	if host == "" {
		host = "coredns-coord"
	}
	return Config{
		NodeName:              strings.ToLower(strings.Split(host, ".")[0]),
		Datacenter:            DefaultDatacenter,
		BindAddr:              DefaultBindAddr,
		ServerPort:            DefaultServerPort,
		SerfLANPort:           DefaultSerfLAN,
		HTTPAddr:              DefaultHTTPAddr,
		HTTPMaxConnsPerClient: DefaultHTTPMaxConnsPerClient,
		HTTPReadHeaderTimeout: DefaultHTTPReadHeaderTimeout,
		HTTPIdleTimeout:       DefaultHTTPIdleTimeout,
		ReconnectTimeout:      DefaultReconnectTimeout,
		CleanupDeadServers:    true,
	}
}

// Validate refuses configurations the agent cannot run. The checks run in
// a fixed order, so the first problem found is the one reported.
func (c *Config) Validate() error {
	checks := []func() error{
		c.validateIdentity, c.validateAddresses, c.validateHTTP, c.validateCluster, c.validateNodeID,
		c.ACL.validate,
	}
	for _, check := range checks {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// validateIdentity checks the names the node has in DNS and where it keeps
// its state.
func (c *Config) validateIdentity() error {
	if c.NodeName == "" {
		return errors.New("node name is empty")
	}
	if !validLabel(c.NodeName) {
		return fmt.Errorf("node name %q is not a valid DNS label", c.NodeName)
	}
	if !validLabel(c.Datacenter) {
		return fmt.Errorf("datacenter %q is not a valid DNS label", c.Datacenter)
	}
	if !c.Dev && c.DataDir == "" {
		return errors.New("data_dir is required unless dev is set")
	}
	if c.Dev && c.DataDir != "" {
		return errors.New("dev keeps all state in memory: drop data_dir, or dev")
	}
	return nil
}

// validateAddresses checks the addresses and ports of Raft and gossip.
func (c *Config) validateAddresses() error {
	if net.ParseIP(c.BindAddr) == nil {
		return fmt.Errorf("bind address %q is not an IP address", c.BindAddr)
	}
	if c.AdvertiseAddr != "" {
		if ip := net.ParseIP(c.AdvertiseAddr); ip == nil || ip.IsUnspecified() {
			return fmt.Errorf("advertise address %q is not a routable IP address", c.AdvertiseAddr)
		}
	} else if net.ParseIP(c.BindAddr).IsUnspecified() {
		return fmt.Errorf("bind %s needs an advertise address", c.BindAddr)
	}
	if c.ServerPort <= 0 || c.ServerPort > 65535 {
		return fmt.Errorf("server_port %d out of range", c.ServerPort)
	}
	if c.SerfLANPort < 0 || c.SerfLANPort > 65535 {
		return fmt.Errorf("serf_lan_port %d out of range", c.SerfLANPort)
	}
	return nil
}

// validateHTTP checks the HTTP API listener's settings.
func (c *Config) validateHTTP() error {
	if c.HTTPAddr != "" {
		if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
			return fmt.Errorf("http address %q: %w", c.HTTPAddr, err)
		}
	}
	if c.HTTPSAddr != "" {
		if _, _, err := net.SplitHostPort(c.HTTPSAddr); err != nil {
			return fmt.Errorf("https address %q: %w", c.HTTPSAddr, err)
		}
		if c.TLS.CertFile == "" {
			return errors.New("https needs a tls block with cert_file and key_file")
		}
	}
	if err := validTLS(c.Server, c.TLS); err != nil {
		return err
	}
	if c.HTTPMaxConnsPerClient < 0 {
		return fmt.Errorf("http_max_conns_per_client %d is negative", c.HTTPMaxConnsPerClient)
	}
	if c.HTTPReadHeaderTimeout < 0 || c.HTTPIdleTimeout < 0 {
		return errors.New("http timeouts must not be negative")
	}
	return nil
}

// validateCluster checks how the agent forms or joins its cluster.
func (c *Config) validateCluster() error {
	if c.Dev && (!c.Server || c.BootstrapExpect != 1) {
		return errors.New("dev is a single server: it implies server and bootstrap_expect 1")
	}
	if c.BootstrapExpect < 0 {
		return fmt.Errorf("bootstrap_expect %d is negative", c.BootstrapExpect)
	}
	if c.BootstrapExpect > 0 && !c.Server {
		return fmt.Errorf("bootstrap_expect %d needs server: a client agent does not run Raft", c.BootstrapExpect)
	}
	if c.Encrypt != "" {
		if _, err := gossip.DecodeKey(c.Encrypt); err != nil {
			return fmt.Errorf("encrypt: %w", err)
		}
	}
	if c.ReconnectTimeout < 0 {
		return fmt.Errorf("reconnect_timeout %s is negative", c.ReconnectTimeout)
	}
	return nil
}

func (c *Config) validateNodeID() error {
	if c.NodeID != "" {
		if _, err := uuid.Parse(c.NodeID); err != nil {
			return fmt.Errorf("node_id %q is not a UUID", c.NodeID)
		}
	}
	return nil
}

// Advertise is the address other agents reach this one at.
func (c *Config) Advertise() string {
	if c.AdvertiseAddr != "" {
		return c.AdvertiseAddr
	}
	return c.BindAddr
}

// RaftAddr is the server port's bind address.
func (c *Config) RaftAddr() string {
	return net.JoinHostPort(c.BindAddr, strconv.Itoa(c.ServerPort))
}

// ServerAddr is the server port's advertised address (Raft and RPC).
func (c *Config) ServerAddr() string {
	return net.JoinHostPort(c.Advertise(), strconv.Itoa(c.ServerPort))
}

// key identifies the agent in the process-wide registry: two Corefile
// blocks (or a reload) naming the same data directory or, in dev mode, the
// same Raft address share one agent.
func (c *Config) key() string {
	if c.DataDir != "" {
		return "dir:" + filepath.Clean(c.DataDir)
	}
	return "dev:" + c.RaftAddr()
}

// validLabel accepts what Consul accepts for node and datacenter names that
// must appear in DNS: letters, digits and hyphens, at most 63 bytes.
func validLabel(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// loadNodeID returns the configured ID, or the one kept in data_dir, or a new
// one (kept there when there is a data_dir).
func (c *Config) loadNodeID() (string, error) {
	if c.NodeID != "" {
		return c.NodeID, nil
	}
	if c.DataDir == "" {
		return uuid.NewString(), nil
	}
	path := filepath.Join(c.DataDir, "node-id")
	if b, err := os.ReadFile(path); err == nil {
		id := strings.TrimSpace(string(b))
		if _, err := uuid.Parse(id); err != nil {
			return "", fmt.Errorf("%s holds %q, not a UUID", path, id)
		}
		return id, nil
	} else if !os.IsNotExist(err) {
		return "", fmt.Errorf("read node id: %w", err)
	}
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return "", fmt.Errorf("create data_dir: %w", err)
	}
	id := uuid.NewString()
	if err := os.WriteFile(path, []byte(id+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write node id: %w", err)
	}
	return id, nil
}
