package testutil

import (
	"net"
	"testing"

	"github.com/hashicorp/consul/api"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// AcceptAndClose accepts connections on ln and closes each at once, until
// ln is closed: a TCP check's healthy target.
func AcceptAndClose(ln net.Listener) {
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
}

// TCPTarget is a loopback listener serving AcceptAndClose; closing it makes
// the target fail. The test's end closes it too.
func TCPTarget(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	AcceptAndClose(ln)
	return ln
}

// GRPCHealthTarget is a real gRPC server with the standard health service
// on loopback; the test sets statuses on the returned health server and may
// stop the server early.
func GRPCHealthTarget(t testing.TB) (string, *health.Server, *grpc.Server) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	return ln.Addr().String(), hs, srv
}

// CheckStatus is a check's status and output as the catalog has it
// (health/checks/:service), or "absent".
func CheckStatus(t testing.TB, c *api.Client, service, checkID string) (status, output string) {
	t.Helper()
	checks, _, err := c.Health().Checks(service, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, hc := range checks {
		if hc.CheckID == checkID {
			return hc.Status, hc.Output
		}
	}
	return "absent", ""
}
