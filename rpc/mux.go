package rpc

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// Connection types: the first byte a dialer writes.
const (
	RaftByte byte = 0x01
	GRPCByte byte = 0x08
)

// firstByteTimeout bounds how long an accepted connection may stay silent
// before it says what it is. A variable so that tests can shorten it.
var firstByteTimeout = 5 * time.Second

// Mux accepts connections on the server port and hands each to Raft or to
// gRPC by its first byte.
type Mux struct {
	ln        net.Listener
	advertise net.Addr
	raft      *chanListener
	grpc      *chanListener
	closeOnce sync.Once
	done      chan struct{}
}

// Listen binds addr; advertise is the address other servers dial (it must
// be an IP address and port, as Raft keeps it in its configuration).
func Listen(bind, advertise string) (*Mux, error) {
	adv, err := net.ResolveTCPAddr("tcp", advertise)
	if err != nil {
		return nil, fmt.Errorf("rpc: advertise address %q: %w", advertise, err)
	}
	if adv.IP == nil || adv.IP.IsUnspecified() {
		return nil, fmt.Errorf("rpc: advertise address %q must be a routable IP", advertise)
	}
	ln, err := net.Listen("tcp", bind)
	if err != nil {
		return nil, fmt.Errorf("rpc: listen on %s: %w", bind, err)
	}
	m := &Mux{ln: ln, advertise: adv, done: make(chan struct{})}
	m.raft = newChanListener(ln.Addr(), m.done)
	m.grpc = newChanListener(ln.Addr(), m.done)
	go m.serve()
	return m, nil
}

// Addr is the bound address.
func (m *Mux) Addr() net.Addr { return m.ln.Addr() }

// Close stops accepting; connections already handed over stay open.
func (m *Mux) Close() error {
	var err error
	m.closeOnce.Do(func() {
		close(m.done)
		err = m.ln.Close()
		m.raft.drain()
		m.grpc.drain()
	})
	return err
}

func (m *Mux) serve() {
	for {
		conn, err := m.ln.Accept()
		if err != nil {
			select {
			case <-m.done:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(5 * time.Millisecond)
				continue
			}
			rpcLog.Errorf("accept: %v", err)
			return
		}
		go m.route(conn)
	}
}

func (m *Mux) route(conn net.Conn) {
	conn.SetReadDeadline(time.Now().Add(firstByteTimeout))
	var b [1]byte
	if _, err := io.ReadFull(conn, b[:]); err != nil {
		conn.Close()
		return
	}
	conn.SetReadDeadline(time.Time{})
	var to *chanListener
	switch b[0] {
	case RaftByte:
		to = m.raft
	case GRPCByte:
		to = m.grpc
	default:
		rpcLog.Warningf("connection from %s opened with unknown type 0x%02x; closed", conn.RemoteAddr(), b[0])
		conn.Close()
		return
	}
	if !to.put(conn) {
		conn.Close()
	}
}

// GRPCListener yields the gRPC connections.
func (m *Mux) GRPCListener() net.Listener { return m.grpc }

// RaftLayer is the raft.StreamLayer for the Raft connections; it dials
// other servers with the Raft byte.
func (m *Mux) RaftLayer() raft.StreamLayer {
	return &raftLayer{chanListener: m.raft, advertise: m.advertise, local: boundIP(m.ln.Addr())}
}

// boundIP is the IP a listener is bound to, nil for a wildcard bind.
func boundIP(a net.Addr) net.IP {
	if tcp, ok := a.(*net.TCPAddr); ok && !tcp.IP.IsUnspecified() {
		return tcp.IP
	}
	return nil
}

type raftLayer struct {
	*chanListener
	advertise net.Addr
	local     net.IP
}

func (l *raftLayer) Addr() net.Addr { return l.advertise }

func (l *raftLayer) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return dialTyped(string(addr), RaftByte, timeout, l.local)
}

// dialTyped connects to a server port and announces the connection type.
// A server dials from the address it is bound to (local, nil for any), so
// that its peers (and a firewall) see where a connection comes from.
func dialTyped(addr string, kind byte, timeout time.Duration, local net.IP) (net.Conn, error) {
	d := net.Dialer{Timeout: timeout}
	if local != nil {
		d.LocalAddr = &net.TCPAddr{IP: local}
	}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	conn.SetWriteDeadline(time.Now().Add(timeout))
	if _, err := conn.Write([]byte{kind}); err != nil {
		conn.Close()
		return nil, err
	}
	conn.SetWriteDeadline(time.Time{})
	return conn, nil
}

// chanListener is a net.Listener fed by the mux. Closing it stops only
// its own consumer (Raft or gRPC); the mux owns the socket.
type chanListener struct {
	addr      net.Addr
	conns     chan net.Conn
	done      <-chan struct{}
	closed    chan struct{}
	closeOnce sync.Once
}

func newChanListener(addr net.Addr, done <-chan struct{}) *chanListener {
	return &chanListener{addr: addr, conns: make(chan net.Conn, 16), done: done, closed: make(chan struct{})}
}

func (l *chanListener) put(c net.Conn) bool {
	if l.isClosed() {
		return false
	}
	select {
	case l.conns <- c:
		return true
	case <-l.done:
	case <-l.closed:
	}
	return false
}

func (l *chanListener) isClosed() bool {
	select {
	case <-l.done:
		return true
	case <-l.closed:
		return true
	default:
		return false
	}
}

func (l *chanListener) Accept() (net.Conn, error) {
	if l.isClosed() {
		return nil, net.ErrClosed
	}
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
	case <-l.closed:
	}
	return nil, net.ErrClosed
}

func (l *chanListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	l.drain()
	return nil
}

// drain closes connections routed here that nobody will accept.
func (l *chanListener) drain() {
	for {
		select {
		case c := <-l.conns:
			c.Close()
		default:
			return
		}
	}
}

func (l *chanListener) Addr() net.Addr { return l.addr }
