package httpapi

import (
	"net"
	"strconv"
)

// selfDebugConfig is agent/self's DebugConfig: the part of Consul's
// (sanitised runtime configuration) that has a counterpart here, under
// Consul's names. Clients read addresses from it: the official client's
// tests join SerfAdvertiseAddrLAN. Addresses are "tcp://host:port", as
// Consul writes them.
type selfDebugConfig struct {
	Datacenter           string
	PrimaryDatacenter    string
	NodeName             string
	NodeID               string
	NodeMeta             map[string]string
	ServerMode           bool
	BootstrapExpect      int
	DataDir              string
	BindAddr             string
	AdvertiseAddrLAN     string
	SerfBindAddrLAN      string
	SerfAdvertiseAddrLAN string
	SerfPortLAN          int
	ServerPort           int
	RPCBindAddr          string
	RPCAdvertiseAddr     string
	HTTPAddrs            []string
	RetryJoinLAN         []string
	ReconnectTimeoutLAN  string
}

func tcpAddr(host string, port int) string {
	return "tcp://" + net.JoinHostPort(host, strconv.Itoa(port))
}

// debugConfig reports the ports actually in use (a configured 0 means a
// free port was picked).
func (s *server) debugConfig() selfDebugConfig {
	cfg := s.agent.Config()
	advertise := cfg.Advertise()
	serfPort := int(s.agent.LocalMember().Port)
	out := selfDebugConfig{
		Datacenter:           cfg.Datacenter,
		PrimaryDatacenter:    cfg.Datacenter,
		NodeName:             cfg.NodeName,
		NodeID:               s.agent.NodeID(),
		NodeMeta:             nonNilMap(cfg.NodeMeta),
		ServerMode:           cfg.Server,
		BootstrapExpect:      cfg.BootstrapExpect,
		DataDir:              cfg.DataDir,
		BindAddr:             cfg.BindAddr,
		AdvertiseAddrLAN:     advertise,
		SerfBindAddrLAN:      tcpAddr(cfg.BindAddr, serfPort),
		SerfAdvertiseAddrLAN: tcpAddr(advertise, serfPort),
		SerfPortLAN:          serfPort,
		ServerPort:           cfg.ServerPort,
		RPCBindAddr:          tcpAddr(cfg.BindAddr, cfg.ServerPort),
		RPCAdvertiseAddr:     tcpAddr(advertise, cfg.ServerPort),
		HTTPAddrs:            []string{},
		RetryJoinLAN:         cfg.RetryJoin,
		ReconnectTimeoutLAN:  cfg.ReconnectTimeout.String(),
	}
	if a := s.agent.HTTPAddr(); a != nil {
		out.HTTPAddrs = append(out.HTTPAddrs, "tcp://"+a.String())
	}
	if out.RetryJoinLAN == nil {
		out.RetryJoinLAN = []string{}
	}
	return out
}
