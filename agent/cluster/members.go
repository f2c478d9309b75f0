package cluster

import (
	"net"
	"strconv"

	"github.com/coredns-coord/coredns-coord/gossip"
)

// Gossip tags, as Consul's serf tags: every member says its role and node
// ID; a server also its server port and its bootstrap_expect.
const (
	TagRole    = "role"
	TagID      = "id"
	TagPort    = "port"
	TagExpect  = "expect"
	RoleServer = "consul"
	RoleClient = "node"
)

// ServerMember is a gossip member that runs Raft.
type ServerMember struct {
	Name, ID, Addr string
	Expect         int
	Status         gossip.Status
}

// IsServer reports whether m is tagged as a server.
func IsServer(m gossip.Member) bool { return m.Tags[TagRole] == RoleServer }

// Servers are the server members among members, with their server port
// addresses; a server whose port tag does not parse is left out.
func Servers(members []gossip.Member) []ServerMember {
	var out []ServerMember
	for _, m := range members {
		if !IsServer(m) {
			continue
		}
		port, err := strconv.Atoi(m.Tags[TagPort])
		if err != nil {
			continue
		}
		expect, _ := strconv.Atoi(m.Tags[TagExpect])
		out = append(out, ServerMember{
			Name: m.Name, ID: m.Tags[TagID], Expect: expect, Status: m.Status,
			Addr: net.JoinHostPort(m.Addr.String(), strconv.Itoa(port)),
		})
	}
	return out
}
