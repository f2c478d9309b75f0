// Package testutil holds what the tests of several packages need: free
// loopback ports and a buffer a process may write while a test reads it.
// It imports nothing of ours, so any package's tests may use it; it also
// holds real targets for health checks and a catalog-status probe.
package testutil

import (
	"bytes"
	"net"
	"strconv"
	"sync"
	"testing"
)

// FreePort returns a port that was free on 127.0.0.1 for both TCP and UDP a
// moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	for i := 0; i < 50; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		pc, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			continue
		}
		pc.Close()
		return port
	}
	t.Fatal("no free port on 127.0.0.1")
	return 0
}

// FreeAddr is FreePort as 127.0.0.1:port.
func FreeAddr(t testing.TB) string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(FreePort(t)))
}

// SyncBuffer is a bytes.Buffer that a process or goroutine may write while
// a test reads it.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
