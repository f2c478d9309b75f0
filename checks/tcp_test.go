package checks

import (
	"net"
	"testing"

	"github.com/coredns-coord/coredns-coord/structs"
)

func TestTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()

	var r recorder
	start(t, "tcp", &structs.CheckType{TCP: addr, Interval: ms(20), Timeout: ms(500)}, &r, Options{})
	waitLast(t, &r, structs.HealthPassing, equals("TCP connect "+addr+": Success"))
	ln.Close()
	waitLast(t, &r, structs.HealthCritical, contains("connection refused"))
}
