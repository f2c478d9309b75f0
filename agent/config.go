// Package agent owns the lifetime of one coredns-coord agent: its Raft
// server and state store, its HTTP listener, and its own catalog entry. The
// DNS plugin and the HTTP API read through it; it knows neither.
package agent

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

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
	// BindAddr is the address the agent advertises for itself and binds
	// Raft to.
	BindAddr   string
	ServerPort int
	// HTTPAddr is host:port of the HTTP API; empty disables it.
	HTTPAddr string
	NodeMeta map[string]string
	// BootstrapExpect is the number of servers to wait for; 1 makes a
	// lone server bootstrap itself.
	BootstrapExpect int
}

// Defaults, as Consul's.
const (
	DefaultDatacenter = "dc1"
	DefaultBindAddr   = "127.0.0.1"
	DefaultServerPort = 8300
	DefaultHTTPAddr   = "127.0.0.1:8500"
)

// DefaultConfig is a server in dc1 named after the host.
func DefaultConfig() Config {
	host, _ := os.Hostname()
	if host == "" {
		host = "coredns-coord"
	}
	return Config{
		NodeName:        strings.ToLower(strings.Split(host, ".")[0]),
		Datacenter:      DefaultDatacenter,
		BindAddr:        DefaultBindAddr,
		ServerPort:      DefaultServerPort,
		HTTPAddr:        DefaultHTTPAddr,
		BootstrapExpect: 1,
	}
}

// Validate refuses configurations the agent cannot run.
func (c *Config) Validate() error {
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
	if net.ParseIP(c.BindAddr) == nil {
		return fmt.Errorf("bind address %q is not an IP address", c.BindAddr)
	}
	if c.ServerPort <= 0 || c.ServerPort > 65535 {
		return fmt.Errorf("server_port %d out of range", c.ServerPort)
	}
	if c.HTTPAddr != "" {
		if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
			return fmt.Errorf("http address %q: %w", c.HTTPAddr, err)
		}
	}
	if c.BootstrapExpect != 1 {
		return fmt.Errorf("bootstrap_expect %d: only a single server (1) is supported so far", c.BootstrapExpect)
	}
	if c.NodeID != "" {
		if _, err := uuid.Parse(c.NodeID); err != nil {
			return fmt.Errorf("node_id %q is not a UUID", c.NodeID)
		}
	}
	return nil
}

// RaftAddr is the host:port Raft binds and advertises.
func (c *Config) RaftAddr() string {
	return net.JoinHostPort(c.BindAddr, strconv.Itoa(c.ServerPort))
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
