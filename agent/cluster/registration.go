package cluster

import "github.com/coredns-coord/coredns-coord/structs"

// Outputs of the serfHealth check, as Consul's.
const (
	SerfAliveOutput  = "Agent alive and reachable"
	SerfFailedOutput = "Agent not live or unreachable"
)

// NodeRegistration is an agent's catalog entry as the leader (or the agent
// itself) writes it: the node at addr with its tagged addresses, a passing
// serfHealth check and, for a server, the "consul" service on its server
// port (as in Consul).
func NodeRegistration(dc, name, id, addr string, server bool, serverPort int) *structs.RegisterRequest {
	req := &structs.RegisterRequest{
		Datacenter: dc,
		ID:         id,
		Node:       name,
		Address:    addr,
		TaggedAddresses: map[string]string{
			"lan": addr, "lan_ipv4": addr, "wan": addr, "wan_ipv4": addr,
		},
		Check: SerfHealth(name, structs.HealthPassing, SerfAliveOutput),
	}
	if server {
		req.Service = &structs.NodeService{ID: structs.ConsulServiceID, Service: structs.ConsulServiceID, Port: serverPort}
	}
	return req
}

// SerfHealth is a node's serfHealth check with status and output.
func SerfHealth(node, status, output string) *structs.HealthCheck {
	return &structs.HealthCheck{
		Node: node, CheckID: structs.SerfCheckID, Name: structs.SerfCheckName,
		Status: status, Output: output,
	}
}
