package checks

import (
	"testing"

	"github.com/coredns-coord/coredns-coord/internal/testutil"
	"github.com/coredns-coord/coredns-coord/structs"
)

func TestTCP(t *testing.T) {
	ln := testutil.TCPTarget(t)
	addr := ln.Addr().String()

	var r recorder
	start(t, "tcp", &structs.CheckType{TCP: addr, Interval: ms(20), Timeout: ms(500)}, &r, Options{})
	waitLast(t, &r, structs.HealthPassing, equals("TCP connect "+addr+": Success"))
	ln.Close()
	waitLast(t, &r, structs.HealthCritical, contains("connection refused"))
}
