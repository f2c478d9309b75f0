package cluster

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"

	"github.com/coredns-coord/coredns-coord/raftstore"
	"github.com/coredns-coord/coredns-coord/rpc"
)

// cutAfterRequest is a server port that takes each connection, reads what
// the caller sends and hangs up: the call was sent, its answer lost.
func cutAfterRequest(t *testing.T) (addr string, conns *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	conns = new(atomic.Int32)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				buf := make([]byte, 64<<10)
				c.Read(buf) // the type byte and the start of the call
				c.Close()
			}()
		}
	}()
	return ln.Addr().String(), conns
}

// A transfer of leadership or a peer removal whose answer was lost is not
// sent again (it may have worked); a read-only command is.
func TestOperatorChangeNotResentAfterLostAnswer(t *testing.T) {
	addr, conns := cutAfterRequest(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := NewForwarder(ctx, rpc.NewPool(net.ParseIP("127.0.0.1"), nil), func() string { return addr }, nil)

	_, err := f.Operator(&rpc.OperatorRequest{Op: OpTransferLeader})
	if !errors.Is(err, raftstore.ErrOutcomeUnknown) {
		t.Fatalf("transfer with its answer lost: %v, want ErrOutcomeUnknown", err)
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("the transfer reached the server %d times, want once", n)
	}

	if testing.Short() {
		return // the read's retries run out the 7 s hold time
	}
	before := conns.Load()
	if _, err := f.Operator(&rpc.OperatorRequest{Op: OpConfiguration}); err == nil || errors.Is(err, raftstore.ErrOutcomeUnknown) {
		t.Fatalf("read with every answer lost: %v, want a no-leader error after retries", err)
	}
	if n := conns.Load() - before; n < 2 {
		t.Errorf("the read was sent %d times, want it retried", n)
	}
}
