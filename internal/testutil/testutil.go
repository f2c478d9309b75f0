// Package testutil holds what the tests of several packages need: free
// loopback ports and a buffer a process may write while a test reads it.
// It imports nothing of ours, so any package's tests may use it; it also
// holds real targets for health checks and a catalog-status probe.
package testutil

import (
	"bytes"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// FreePort returns a port free for both TCP and UDP on 127.0.0.1, for a
// process the test starts to bind. It picks at random below the kernel's
// ephemeral range: a port the kernel handed out (listen on :0) may be taken
// again by any outgoing connection before the child binds it, which made
// agents fail to start under load. Ports are never handed out twice in one
// test binary.
func FreePort(t testing.TB) int {
	t.Helper()
	portsMu.Lock()
	defer portsMu.Unlock()
	lo, hi := testPortRange()
	for range 500 {
		port := lo + rand.IntN(hi-lo)
		if handedOut[port] {
			continue
		}
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			continue
		}
		ln.Close()
		pc, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			continue
		}
		pc.Close()
		handedOut[port] = true
		return port
	}
	t.Fatal("no free port on 127.0.0.1")
	return 0
}

var (
	portsMu   sync.Mutex
	handedOut = map[int]bool{}
)

// testPortRange is [10000, start of the ephemeral range), or the ports
// above the ephemeral range when that leaves too few.
func testPortRange() (lo, hi int) {
	ephLo, ephHi := 32768, 60999
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			ephLo, _ = strconv.Atoi(f[0])
			ephHi, _ = strconv.Atoi(f[1])
		}
	}
	if ephLo-10000 >= 4096 {
		return 10000, ephLo
	}
	return ephHi + 1, 65536
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
