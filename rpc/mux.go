package rpc

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/coredns-coord/coredns-coord/internal/tlsutil"
)

// Connection types: the first byte a dialer writes. TLSByte opens a TLS
// handshake, inside which the dialer writes RaftByte or GRPCByte (Consul
// tells its connection types apart the same way).
const (
	RaftByte byte = 0x01
	TLSByte  byte = 0x04
	GRPCByte byte = 0x08
)

// firstByteTimeout bounds how long an accepted connection may stay silent
// before it says what it is, TLS handshake included: a slow or stalled
// handshake holds only its own goroutine, never the accept loop. A
// variable so that tests can shorten it.
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
	// tls (nil: plaintext only) accepts TLS connections, and refuses
	// plaintext ones under verify_incoming.
	tls *tlsutil.Configurator
}

// Listen binds addr; advertise is the address other servers dial (it must
// be an IP address and port, as Raft keeps it in its configuration). With
// tlsc the port accepts TLS, and Raft dials with it under verify_outgoing.
func Listen(bind, advertise string, tlsc *tlsutil.Configurator) (*Mux, error) {
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
	m := &Mux{ln: ln, advertise: adv, done: make(chan struct{}), tls: tlsc}
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
	kind, err := readByte(conn)
	if err != nil {
		conn.Close()
		return
	}
	secure := kind == TLSByte
	if secure {
		if conn, kind, err = m.handshake(conn); err != nil {
			rpcLog.Warningf("TLS connection from %s refused: %v", conn.RemoteAddr(), err)
			conn.Close()
			return
		}
	}
	conn.SetReadDeadline(time.Time{})
	var to *chanListener
	switch kind {
	case RaftByte:
		to = m.raft
	case GRPCByte:
		to = m.grpc
	default:
		rpcLog.Warningf("connection from %s opened with unknown type 0x%02x; closed", conn.RemoteAddr(), kind)
		conn.Close()
		return
	}
	if !secure && m.tls.VerifyIncoming() {
		rpcLog.Warningf("plaintext %s connection from %s refused: verify_incoming requires TLS with a certificate signed by the CA", kindName(kind), conn.RemoteAddr())
		conn.Close()
		return
	}
	if !to.put(conn) {
		conn.Close()
	}
}

// handshake runs the server side of a TLS connection and reads the type
// byte inside it. A Raft connection must come from a server when
// verify_incoming and verify_server_hostname are both on.
func (m *Mux) handshake(raw net.Conn) (net.Conn, byte, error) {
	if !m.tls.CanServe() {
		return raw, 0, errors.New("this server has no tls cert_file")
	}
	conn := tls.Server(raw, m.tls.Incoming())
	if err := conn.Handshake(); err != nil {
		return raw, 0, fmt.Errorf("handshake: %w", err)
	}
	kind, err := readByte(conn)
	if err != nil {
		return raw, 0, err
	}
	if kind == RaftByte {
		if err := m.tls.CheckServerPeer(conn.ConnectionState()); err != nil {
			return raw, 0, fmt.Errorf("raft from a peer that is not a server of this datacenter (verify_server_hostname): %w", err)
		}
	}
	return conn, kind, nil
}

func readByte(r io.Reader) (byte, error) {
	var b [1]byte
	_, err := io.ReadFull(r, b[:])
	return b[0], err
}

func kindName(kind byte) string {
	if kind == RaftByte {
		return "raft"
	}
	return "rpc"
}

// GRPCListener yields the gRPC connections.
func (m *Mux) GRPCListener() net.Listener { return m.grpc }

// RaftLayer is the raft.StreamLayer for the Raft connections; it dials
// other servers with the Raft byte.
func (m *Mux) RaftLayer() raft.StreamLayer {
	return &raftLayer{chanListener: m.raft, advertise: m.advertise, local: boundIP(m.ln.Addr()), tls: m.tls}
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
	tls       *tlsutil.Configurator
}

func (l *raftLayer) Addr() net.Addr { return l.advertise }

func (l *raftLayer) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return dialTyped(string(addr), RaftByte, timeout, l.local, l.tls.Outgoing())
}

// dialTyped connects to a server port and announces the connection type,
// inside TLS when tlsConfig is set (verify_outgoing). A server dials from
// the address it is bound to (local, nil for any), so that its peers (and
// a firewall) see where a connection comes from.
func dialTyped(addr string, kind byte, timeout time.Duration, local net.IP, tlsConfig *tls.Config) (net.Conn, error) {
	d := net.Dialer{Timeout: timeout}
	if local != nil {
		d.LocalAddr = &net.TCPAddr{IP: local}
	}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	conn.SetDeadline(time.Now().Add(timeout))
	if tlsConfig != nil {
		if _, err := conn.Write([]byte{TLSByte}); err != nil {
			conn.Close()
			return nil, err
		}
		tc := tls.Client(conn, tlsConfig)
		if err := tc.Handshake(); err != nil {
			conn.Close()
			return nil, fmt.Errorf("tls handshake with %s: %w", addr, err)
		}
		conn = tc
	}
	if _, err := conn.Write([]byte{kind}); err != nil {
		conn.Close()
		return nil, err
	}
	conn.SetDeadline(time.Time{})
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
