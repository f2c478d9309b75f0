package rpc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"github.com/coredns-coord/coredns-coord/internal/testutil"
	"github.com/coredns-coord/coredns-coord/raftstore"
	"github.com/coredns-coord/coredns-coord/structs"
)

// testTimeout bounds every wait in these tests: nothing here should take
// more than a fraction of it on loopback.
const testTimeout = 5 * time.Second

// listenMux opens a mux on a loopback port 0. The advertise address only
// matters to Raft, which these tests do not use.
func listenMux(t testing.TB) *Mux {
	t.Helper()
	m, err := Listen("127.0.0.1:0", "127.0.0.1:1", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// listenMuxAdvertised opens a mux that advertises the address it is bound
// to, as Raft needs. Listen takes the advertise address before it binds, so
// a free port is picked first (and picked again if it was taken since).
func listenMuxAdvertised(t testing.TB) *Mux {
	t.Helper()
	var err error
	for range 10 {
		addr := testutil.FreeAddr(t)
		var m *Mux
		if m, err = Listen(addr, addr, nil); err == nil {
			t.Cleanup(func() { m.Close() })
			return m
		}
	}
	t.Fatal(err)
	return nil
}

// dialRaw connects to the mux and writes prefix as the first bytes.
func dialRaw(t testing.TB, m *Mux, prefix []byte) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", m.Addr().String(), testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if len(prefix) > 0 {
		if _, err := c.Write(prefix); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// acceptWithin accepts one connection from ln, failing after testTimeout.
func acceptWithin(t testing.TB, ln net.Listener) net.Conn {
	t.Helper()
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		c, err := ln.Accept()
		ch <- result{c, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("accept: %v", r.err)
		}
		t.Cleanup(func() { r.c.Close() })
		return r.c
	case <-time.After(testTimeout):
		// Unblock the goroutine so that it does not outlive the test.
		ln.Close()
		t.Fatal("no connection reached the listener")
		return nil
	}
}

// expectRead reads exactly len(want) bytes from c and compares them.
func expectRead(t testing.TB, c net.Conn, want []byte) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(testTimeout))
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("read: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("read %q, want %q", got, want)
	}
}

// expectEOF reads from c until the mux closes it: it must see a clean
// end of stream (io.EOF) before the deadline, and no data.
func expectEOF(t testing.TB, c net.Conn, within time.Duration) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(within))
	n, err := c.Read(make([]byte, 16))
	if n > 0 {
		t.Fatalf("read %d bytes from a connection the mux should have closed", n)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection still open after %s", within)
	}
	if !errors.Is(err, io.EOF) {
		t.Fatalf("connection ended with %v, want io.EOF", err)
	}
}

func TestListenRejectsBadAdvertise(t *testing.T) {
	for _, adv := range []string{"0.0.0.0:8300", "[::]:8300", ":8300", "not an address"} {
		if m, err := Listen("127.0.0.1:0", adv, nil); err == nil {
			m.Close()
			t.Errorf("advertise %q accepted", adv)
		}
	}
}

func TestMuxRoutesRaftBytes(t *testing.T) {
	m := listenMux(t)
	c := dialRaw(t, m, []byte{RaftByte, 'p', 'i', 'n', 'g'})
	s := acceptWithin(t, m.RaftLayer())
	// The type byte is consumed by the mux; the rest is the stream.
	expectRead(t, s, []byte("ping"))
	if _, err := s.Write([]byte("pong")); err != nil {
		t.Fatal(err)
	}
	expectRead(t, c, []byte("pong"))
	if n := len(m.grpc.conns); n != 0 {
		t.Errorf("%d Raft connections went to gRPC", n)
	}
}

func TestMuxRoutesGRPCBytes(t *testing.T) {
	m := listenMux(t)
	dialRaw(t, m, []byte{GRPCByte, 'h', 'i'})
	s := acceptWithin(t, m.GRPCListener())
	expectRead(t, s, []byte("hi"))
	if n := len(m.raft.conns); n != 0 {
		t.Errorf("%d gRPC connections went to Raft", n)
	}
}

// A real gRPC server on GRPCListener answers a real client that dials with
// the gRPC byte.
func TestMuxServesGRPC(t *testing.T) {
	m := listenMux(t)
	b := &testBackend{readIndex: 7}
	srv := NewServer(b)
	go srv.Serve(m.GRPCListener())
	t.Cleanup(srv.Stop)
	pool := NewPool(nil, nil)
	t.Cleanup(pool.Close)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	resp, err := pool.ReadIndex(ctx, m.Addr().String(), &ReadIndexRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Index != 7 {
		t.Fatalf("index %d, want 7", resp.Index)
	}
}

func TestMuxClosesUnknownType(t *testing.T) {
	m := listenMux(t)
	// Only the type byte is sent: the mux reads exactly one byte, so the
	// close is a clean FIN (bytes left unread would turn it into a reset).
	for _, b := range []byte{0x00, 0x02, 0x07, 0x09, 'G', 0xff} {
		c := dialRaw(t, m, []byte{b})
		expectEOF(t, c, testTimeout)
	}
	if n := len(m.raft.conns) + len(m.grpc.conns); n != 0 {
		t.Errorf("%d connections with an unknown type were handed over", n)
	}
}

func TestMuxClosesSilentConnection(t *testing.T) {
	old := firstByteTimeout
	firstByteTimeout = 100 * time.Millisecond
	t.Cleanup(func() { firstByteTimeout = old })
	m := listenMux(t)
	start := time.Now()
	c := dialRaw(t, m, nil)
	expectEOF(t, c, testTimeout)
	if el := time.Since(start); el < firstByteTimeout/2 {
		t.Errorf("closed after %s, before the %s allowed", el, firstByteTimeout)
	}
	// A connection that speaks in time is not affected by the deadline
	// once routed.
	c = dialRaw(t, m, []byte{RaftByte})
	s := acceptWithin(t, m.RaftLayer())
	time.Sleep(2 * firstByteTimeout)
	if _, err := c.Write([]byte("late")); err != nil {
		t.Fatal(err)
	}
	expectRead(t, s, []byte("late"))
}

func TestMuxCloseStopsAccept(t *testing.T) {
	m := listenMux(t)
	errs := make(chan error, 2)
	for _, ln := range []net.Listener{m.RaftLayer(), m.GRPCListener()} {
		go func() {
			c, err := ln.Accept()
			if c != nil {
				c.Close()
			}
			errs <- err
		}()
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		select {
		case err := <-errs:
			if !errors.Is(err, net.ErrClosed) {
				t.Errorf("Accept after Close: %v, want net.ErrClosed", err)
			}
		case <-time.After(testTimeout):
			t.Fatal("Accept still blocked after Close")
		}
	}
	// Later Accepts fail at once, a second Close is harmless and the port
	// is released.
	if _, err := m.GRPCListener().Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if c, err := net.DialTimeout("tcp", m.Addr().String(), time.Second); err == nil {
		c.Close()
		t.Error("the server port still accepts connections after Close")
	}
}

// A connection the mux routed but nobody accepted yet belongs to no one
// once the mux is closed: it must be closed, not left hanging.
func TestMuxCloseClosesPendingConnections(t *testing.T) {
	m := listenMux(t)
	c := dialRaw(t, m, []byte{RaftByte})
	// Wait until the mux has queued it for Raft.
	deadline := time.Now().Add(testTimeout)
	for len(m.raft.conns) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the connection was never routed")
		}
		time.Sleep(time.Millisecond)
	}
	m.Close()
	c.SetReadDeadline(time.Now().Add(time.Second))
	if _, err := c.Read(make([]byte, 1)); err != nil && !errors.Is(err, io.EOF) {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatal("BUG: a routed connection nobody accepted stays open after Mux.Close " +
				"(chanListener's queue is never drained): the dialer hangs until its own timeout")
		}
	}
}

// Closing one consumer's listener (gRPC's Stop does) leaves the other
// working.
func TestMuxListenerCloseIsPerConsumer(t *testing.T) {
	m := listenMux(t)
	m.GRPCListener().Close()
	if _, err := m.GRPCListener().Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept on a closed gRPC listener: %v", err)
	}
	dialRaw(t, m, []byte{RaftByte, 'o', 'k'})
	expectRead(t, acceptWithin(t, m.RaftLayer()), []byte("ok"))
}

func TestRaftLayerDialWritesRaftByte(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	m, err := Listen("127.0.0.1:0", "127.0.0.1:8300", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	layer := m.RaftLayer()
	if got := layer.Addr().String(); got != "127.0.0.1:8300" {
		t.Errorf("RaftLayer().Addr() = %s, want the advertised address", got)
	}
	c, err := layer.Dial(raft.ServerAddress(ln.Addr().String()), testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("after")); err != nil {
		t.Fatal(err)
	}
	s := acceptWithin(t, ln)
	expectRead(t, s, []byte{RaftByte, 'a', 'f', 't', 'e', 'r'})

	// Dialing nothing fails within the timeout.
	start := time.Now()
	if c, err := layer.Dial("127.0.0.1:1", 500*time.Millisecond); err == nil {
		c.Close()
		t.Error("Dial to a closed port succeeded")
	}
	if el := time.Since(start); el > testTimeout {
		t.Errorf("Dial to a closed port took %s", el)
	}
}

// quietLogger keeps Raft's warnings out of the test output.
func quietLogger(name string) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Name: name, Level: hclog.Error, Output: os.Stderr})
}

func newMuxTransport(t testing.TB, m *Mux) *raft.NetworkTransport {
	t.Helper()
	tr := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream:  m.RaftLayer(),
		MaxPool: 2,
		Timeout: testTimeout,
		Logger:  quietLogger("transport"),
	})
	t.Cleanup(func() { tr.Close() })
	return tr
}

// Two Raft network transports, each over its own mux, exchange an
// AppendEntries with its entries and an answer.
func TestRaftTransportOverMux(t *testing.T) {
	m1, m2 := listenMuxAdvertised(t), listenMuxAdvertised(t)
	t1, t2 := newMuxTransport(t, m1), newMuxTransport(t, m2)
	if t2.LocalAddr() != raft.ServerAddress(m2.Addr().String()) {
		t.Fatalf("transport address %s, mux %s", t2.LocalAddr(), m2.Addr())
	}

	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	got := make(chan *raft.AppendEntriesRequest, 1)
	go func() {
		select {
		case r := <-t2.Consumer():
			req, ok := r.Command.(*raft.AppendEntriesRequest)
			if !ok {
				r.Respond(nil, fmt.Errorf("unexpected %T", r.Command))
				return
			}
			got <- req
			r.Respond(&raft.AppendEntriesResponse{Term: req.Term, LastLog: req.Entries[len(req.Entries)-1].Index, Success: true}, nil)
		case <-ctx.Done():
		}
	}()

	req := &raft.AppendEntriesRequest{
		RPCHeader:         raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte("s1"), Addr: []byte(t1.LocalAddr())},
		Term:              3,
		PrevLogEntry:      9,
		PrevLogTerm:       2,
		LeaderCommitIndex: 9,
		Entries: []*raft.Log{
			{Index: 10, Term: 3, Type: raft.LogCommand, Data: []byte("ten")},
			{Index: 11, Term: 3, Type: raft.LogCommand, Data: []byte("eleven")},
		},
	}
	var resp raft.AppendEntriesResponse
	if err := t1.AppendEntries("s2", t2.LocalAddr(), req, &resp); err != nil {
		t.Fatal(err)
	}
	if !resp.Success || resp.Term != 3 || resp.LastLog != 11 {
		t.Errorf("response %+v", resp)
	}
	select {
	case r := <-got:
		if r.Term != 3 || r.PrevLogEntry != 9 || len(r.Entries) != 2 || string(r.Entries[1].Data) != "eleven" {
			t.Errorf("request arrived as %+v", r)
		}
	case <-ctx.Done():
		t.Fatal("the request never reached the other transport")
	}
}

// Three real Raft servers (in-memory stores) over three muxes, each mux
// also serving gRPC: they elect a leader, a command applied on the leader
// reaches every follower, and gRPC on the same ports keeps working.
func TestRaftClusterOverMux(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-server, long: starts a three-server Raft cluster; runs in make test")
	}
	const size = 3
	var (
		muxes   [size]*Mux
		nodes   [size]*raftstore.Node
		servers []raft.Server
	)
	for i := range size {
		muxes[i] = listenMuxAdvertised(t)
		addr := muxes[i].Addr().String()
		srv := NewServer(&testBackend{readIndex: uint64(100 + i)})
		go srv.Serve(muxes[i].GRPCListener())
		t.Cleanup(srv.Stop)
		n, err := raftstore.Open(raftstore.Config{
			ID:     fmt.Sprintf("server-%d", i),
			Addr:   addr,
			Layer:  muxes[i].RaftLayer(),
			Logger: quietLogger(fmt.Sprintf("raft-%d", i)),
		})
		if err != nil {
			t.Fatal(err)
		}
		nodes[i] = n
		t.Cleanup(func() { n.Shutdown() })
		// Raft blocks on the leadership channel: drain it.
		stop := make(chan struct{})
		t.Cleanup(func() { close(stop) })
		go func() {
			for {
				select {
				case <-n.Leadership():
				case <-stop:
					return
				}
			}
		}()
		servers = append(servers, raft.Server{ID: raft.ServerID(n.ID()), Address: raft.ServerAddress(addr), Suffrage: raft.Voter})
	}
	for _, n := range nodes {
		if err := n.BootstrapCluster(servers); err != nil {
			t.Fatal(err)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var leader *raftstore.Node
	for leader == nil {
		for _, n := range nodes {
			if n.IsLeader() {
				leader = n
			}
		}
		if leader != nil {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("no leader elected")
		case <-time.After(20 * time.Millisecond):
		}
	}

	buf, err := raftstore.EncodeCommand(raftstore.KVCommand, structs.NewRequestID(), &structs.KVRequest{Op: structs.KVSet, DirEnt: structs.DirEntry{Key: "over/mux", Value: []byte("yes")}})
	if err != nil {
		t.Fatal(err)
	}
	res, idx, err := leader.ApplyEncoded(context.Background(), buf)
	if err != nil || res != true {
		t.Fatalf("apply on the leader: %v, %v", res, err)
	}
	for i, n := range nodes {
		if err := n.Feed().WaitFor(ctx, idx); err != nil {
			t.Fatalf("server %d never applied index %d: %v", i, idx, err)
		}
		_, e, err := n.State().KVGet(nil, "over/mux")
		if err != nil || e == nil || string(e.Value) != "yes" {
			t.Errorf("server %d: %+v, %v", i, e, err)
		}
		if l := n.Leader(); l != leader.Addr() {
			t.Errorf("server %d knows leader %q, want %q", i, l, leader.Addr())
		}
	}

	pool := NewPool(nil, nil)
	defer pool.Close()
	for i, m := range muxes {
		resp, err := pool.ReadIndex(ctx, m.Addr().String(), &ReadIndexRequest{})
		if err != nil || resp.Index != uint64(100+i) {
			t.Errorf("gRPC next to Raft on server %d: %+v, %v", i, resp, err)
		}
	}
}
