package checks

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/coredns-coord/coredns-coord/structs"
)

// grpcCheck asks a server's standard health service (grpc.health.v1) about
// a service, "" meaning the server as a whole. SERVING is passing, any
// other answer or an error critical. The check keeps one client connection,
// opened at its first run and closed by Stop.
type grpcCheck struct {
	target  string // as configured: host:port or host:port/service
	server  string // host:port
	service string
	creds   credentials.TransportCredentials

	mu     sync.Mutex
	closed bool
	conn   *grpc.ClientConn
	client healthpb.HealthClient
}

var errGRPCClosed = errors.New("gRPC check stopped")

func newGRPC(ct *structs.CheckType) (*grpcCheck, error) {
	server, service, _ := strings.Cut(ct.GRPC, "/")
	host, port, err := net.SplitHostPort(server)
	if err != nil || host == "" || port == "" {
		return nil, fmt.Errorf("checks: grpc %q must be host:port or host:port/service", ct.GRPC)
	}
	creds := insecure.NewCredentials()
	if ct.GRPCUseTLS {
		creds = credentials.NewTLS(&tls.Config{
			InsecureSkipVerify: ct.TLSSkipVerify, //nolint:gosec // the check's own choice
			ServerName:         ct.TLSServerName,
		})
	}
	return &grpcCheck{target: ct.GRPC, server: server, service: service, creds: creds}, nil
}

func (g *grpcCheck) healthClient() (healthpb.HealthClient, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil, errGRPCClosed
	}
	if g.client == nil {
		// passthrough: dial the address as given, as grpc.Dial did, without
		// the DNS resolver's background re-resolution.
		conn, err := grpc.NewClient("passthrough:///"+g.server, grpc.WithTransportCredentials(g.creds))
		if err != nil {
			return nil, err
		}
		g.conn, g.client = conn, healthpb.NewHealthClient(conn)
	}
	return g.client, nil
}

func (g *grpcCheck) run(ctx context.Context) (string, string) {
	client, err := g.healthClient()
	if err != nil {
		return structs.HealthCritical, err.Error()
	}
	resp, err := client.Check(ctx, &healthpb.HealthCheckRequest{Service: g.service})
	if err != nil {
		return structs.HealthCritical, err.Error()
	}
	if st := resp.GetStatus(); st != healthpb.HealthCheckResponse_SERVING {
		return structs.HealthCritical, fmt.Sprintf("gRPC %s serving status: %s", g.target, st)
	}
	return structs.HealthPassing, "gRPC check " + g.target + ": success"
}

func (g *grpcCheck) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
	if g.conn != nil {
		g.conn.Close()
		g.conn, g.client = nil, nil
	}
}
