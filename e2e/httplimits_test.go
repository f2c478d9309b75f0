package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The HTTP API's connection limits, set in the Corefile: a client address
// holds at most http_max_conns_per_client connections (the next one gets
// 429 and is closed, and a freed slot is taken again), a keep-alive
// connection idle for http_idle_timeout is closed, and so is one that has
// not sent its headers within http_read_header_timeout.
func TestHTTPConnectionLimits(t *testing.T) {
	multiProcess(t)
	n := newNode(t)
	n.Extra = "http_max_conns_per_client 4\n        http_idle_timeout 3s\n        http_read_header_timeout 1s"
	start(t, n)
	// The test's connections come from 127.0.0.2, so the readiness probes'
	// keep-alive connections from 127.0.0.1 do not count against them.
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}, Timeout: 2 * time.Second}
	addr := fmt.Sprintf("127.0.0.1:%d", n.HTTP)
	dial := func() (net.Conn, *bufio.Reader) {
		t.Helper()
		c, err := dialer.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(10 * time.Second))
		return c, bufio.NewReader(c)
	}
	get := func(c net.Conn, r *bufio.Reader) (*http.Response, string, error) {
		if _, err := io.WriteString(c, "GET /v1/status/leader HTTP/1.1\r\nHost: coord\r\n\r\n"); err != nil {
			return nil, "", err
		}
		return readResponse(r)
	}

	conns := make([]net.Conn, 4)
	for i := range conns {
		c, r := dial()
		resp, body, err := get(c, r)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("connection %d: %v %v %q", i+1, err, resp, body)
		}
		conns[i] = c
	}
	refused0 := metricValue(t, n, "coredns_coord_http_connections_refused_total")
	_, r5 := dial()
	resp, body, err := readResponse(r5)
	if err != nil || resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "http_max_conns_per_client") {
		t.Fatalf("fifth connection: %v %v %q, want 429 naming http_max_conns_per_client", err, resp, body)
	}
	if _, err := r5.ReadByte(); err != io.EOF {
		t.Fatalf("fifth connection left open after 429: %v", err)
	}
	if got := metricValue(t, n, "coredns_coord_http_connections_refused_total"); got != refused0+1 {
		t.Errorf("coredns_coord_http_connections_refused_total %v, want %v", got, refused0+1)
	}

	// A closed connection frees its slot.
	conns[0].Close()
	eventually(t, "a slot freed by a closed connection", 5*time.Second, func() (bool, string) {
		c, r := dial()
		defer c.Close()
		resp, body, err := get(c, r)
		if err != nil {
			return false, err.Error()
		}
		return resp.StatusCode == http.StatusOK, fmt.Sprintf("%d %q", resp.StatusCode, body)
	})

	// Idle keep-alive connections are closed by the server (without the
	// idle timeout the read would hit the 10 s deadline instead).
	for i, c := range conns[1:] {
		if _, err := c.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("idle connection %d: read %v, want EOF (closed by the server)", i+2, err)
		}
	}

	// A client that never finishes its headers is cut off.
	c, r := dial()
	if _, err := io.WriteString(c, "GET /v1/status/leader HTTP/1.1\r\nHost: co"); err != nil {
		t.Fatal(err)
	}
	if b, err := io.ReadAll(r); err != nil {
		t.Fatalf("slow headers: %v (read %q), want the server to close the connection", err, b)
	}
}

func readResponse(r *bufio.Reader) (*http.Response, string, error) {
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return resp, string(b), err
	}
	return resp, string(b), nil
}
