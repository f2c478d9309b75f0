package checks

import (
	"testing"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/coredns-coord/coredns-coord/internal/testutil"
	"github.com/coredns-coord/coredns-coord/structs"
)

func TestGRPC(t *testing.T) {
	addr, hs, srv := testutil.GRPCHealthTarget(t)

	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus("billing", healthpb.HealthCheckResponse_SERVING)

	var whole, svc, unknown recorder
	start(t, "whole", &structs.CheckType{GRPC: addr, Interval: ms(20), Timeout: ms(1000)}, &whole, Options{})
	start(t, "svc", &structs.CheckType{GRPC: addr + "/billing", Interval: ms(20), Timeout: ms(1000)}, &svc, Options{})
	start(t, "unknown", &structs.CheckType{GRPC: addr + "/nope", Interval: ms(20), Timeout: ms(1000)}, &unknown, Options{})

	waitLast(t, &whole, structs.HealthPassing, equals("gRPC check "+addr+": success"))
	waitLast(t, &svc, structs.HealthPassing, equals("gRPC check "+addr+"/billing: success"))
	waitLast(t, &unknown, structs.HealthCritical, contains("NotFound"))

	// The service alone stops serving: only its check notices.
	hs.SetServingStatus("billing", healthpb.HealthCheckResponse_NOT_SERVING)
	waitLast(t, &svc, structs.HealthCritical, equals("gRPC "+addr+"/billing serving status: NOT_SERVING"))
	if got, _ := whole.last(); got.status != structs.HealthPassing {
		t.Fatalf("server-wide check went %+v", got)
	}
	hs.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	waitLast(t, &whole, structs.HealthCritical, contains("NOT_SERVING"))

	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus("billing", healthpb.HealthCheckResponse_SERVING)
	waitLast(t, &whole, structs.HealthPassing, nil)
	waitLast(t, &svc, structs.HealthPassing, nil)

	// The server goes away: critical with the transport error.
	srv.Stop()
	waitLast(t, &whole, structs.HealthCritical, contains("Unavailable"))
}

// Stop closes the check's connection, and a run after that cannot reopen it.
func TestGRPCStopClosesConnection(t *testing.T) {
	addr, _, _ := testutil.GRPCHealthTarget(t)

	var r recorder
	c := start(t, "g", &structs.CheckType{GRPC: addr, Interval: ms(20), Timeout: ms(1000)}, &r, Options{})
	waitLast(t, &r, structs.HealthPassing, nil)
	c.Stop()
	g := c.(*intervalCheck)
	gc := g.closeFn
	if gc == nil {
		t.Fatal("gRPC check has no close function")
	}
	// A run racing Stop gets an error, not a new connection.
	status, out := g.run(t.Context())
	if status != structs.HealthCritical || out != errGRPCClosed.Error() {
		t.Fatalf("run after Stop: %s %q", status, out)
	}
}
