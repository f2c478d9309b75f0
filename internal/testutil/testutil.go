// Package testutil holds what the tests of several packages need: free
// loopback ports, a buffer a process may write while a test reads it, and
// a TestMain helper that runs tests which mostly wait more at a time
// (RunWaitBound). It imports nothing of ours, so any package's tests may
// use it; it also holds real targets for health checks and a
// catalog-status probe.
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

// FreePort returns a port free for both TCP and UDP on 127.0.0.1 (and so,
// in practice, on the other loopback addresses), for a process the test
// starts to bind. Ports come from below the kernel's ephemeral range: a
// port the kernel handed out (listen on :0) may be taken again by any
// outgoing connection before the child binds it. Each test binary reserves
// blocks of that range for itself, by listening on a block's first port
// for as long as it runs, so that test binaries running side by side
// (go test runs packages in parallel) never hand out the same port.
func FreePort(t testing.TB) int {
	t.Helper()
	ports.mu.Lock()
	defer ports.mu.Unlock()
	for range 4 * portBlockSize {
		if ports.next == ports.end && !ports.reserveBlock() {
			break
		}
		port := ports.next
		ports.next++
		if ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
			ln.Close()
			if pc, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
				pc.Close()
				return port
			}
		}
	}
	t.Fatal("no free port on 127.0.0.1")
	return 0
}

const portBlockSize = 1024

type portAllocator struct {
	mu        sync.Mutex
	next, end int            // the ports left in the current block
	held      []net.Listener // one per reserved block, never closed
}

var ports portAllocator

// reserveBlock claims a free block and hands out the ports after its first.
func (p *portAllocator) reserveBlock() bool {
	lo, hi := testPortRange()
	blocks := (hi - lo) / portBlockSize
	first := rand.IntN(blocks)
	for i := range blocks {
		base := lo + ((first+i)%blocks)*portBlockSize
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(base))
		if err != nil {
			continue // another test binary's, or in use
		}
		p.held = append(p.held, ln)
		p.next, p.end = base+1, base+portBlockSize
		return true
	}
	return false
}

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
	if ephLo-10000 >= 4*portBlockSize {
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

// Take returns what was written since the last Take and empties the buffer.
func (s *SyncBuffer) Take() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.b.String()
	s.b.Reset()
	return out
}
