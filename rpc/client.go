package rpc

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"

	"github.com/coredns-coord/coredns-coord/internal/tlsutil"
)

// dialTimeout bounds connecting to a server.
const dialTimeout = 2 * time.Second

// Pool keeps one gRPC connection per server address; calls on it are
// multiplexed.
type Pool struct {
	mu    sync.Mutex
	conns map[string]*grpc.ClientConn
	local net.IP
	tls   *tlsutil.Configurator
}

// NewPool returns an empty pool whose connections come from the address
// local (nil: any), over TLS when tlsc says verify_outgoing (read at each
// dial, so that a reload's certificates are used from the next one).
func NewPool(local net.IP, tlsc *tlsutil.Configurator) *Pool {
	if local.IsUnspecified() {
		local = nil
	}
	return &Pool{conns: map[string]*grpc.ClientConn{}, local: local, tls: tlsc}
}

func (p *Pool) conn(addr string) (*grpc.ClientConn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.conns[addr]; ok {
		return c, nil
	}
	c, err := grpc.NewClient("passthrough:///"+addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, a string) (net.Conn, error) {
			timeout := dialTimeout
			if d, ok := ctx.Deadline(); ok {
				timeout = min(timeout, time.Until(d))
			}
			return dialTyped(a, GRPCByte, timeout, p.local, p.tls.Outgoing())
		}),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(jsonCodec{}),
			grpc.MaxCallRecvMsgSize(MaxMessageSize), grpc.MaxCallSendMsgSize(MaxMessageSize)),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: keepaliveTime, Timeout: keepaliveTimeout, PermitWithoutStream: true}),
		// A server that was down is dialled again within a second of its
		// return. gRPC's default backoff grows to two minutes, and while it
		// waits every call on the connection fails at once: client agents
		// that had seen every server restart could not forward for tens of
		// seconds (the fault suite's clients stalled on them).
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 50 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second},
			MinConnectTimeout: dialTimeout,
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("rpc: connect to %s: %w", addr, err)
	}
	p.conns[addr] = c
	return c, nil
}

// Close closes every connection.
func (p *Pool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for addr, c := range p.conns {
		c.Close()
		delete(p.conns, addr)
	}
}

func invoke[Resp any](ctx context.Context, p *Pool, addr, method string, req any) (*Resp, error) {
	c, err := p.conn(addr)
	if err != nil {
		return nil, err
	}
	resp := new(Resp)
	if err := c.Invoke(ctx, "/"+serviceName+"/"+method, req, resp); err != nil {
		return nil, fmt.Errorf("rpc: %s on %s: %w", method, addr, err)
	}
	return resp, nil
}

// Apply forwards a command to the server at addr.
func (p *Pool) Apply(ctx context.Context, addr string, req *ApplyRequest) (*ApplyResponse, error) {
	return invoke[ApplyResponse](ctx, p, addr, "Apply", req)
}

// ReadIndex asks the server at addr for the leader's read index.
func (p *Pool) ReadIndex(ctx context.Context, addr string, req *ReadIndexRequest) (*ReadIndexResponse, error) {
	return invoke[ReadIndexResponse](ctx, p, addr, "ReadIndex", req)
}

// RenewSession renews a session on the leader through the server at addr.
func (p *Pool) RenewSession(ctx context.Context, addr string, req *RenewSessionRequest) (*RenewSessionResponse, error) {
	return invoke[RenewSessionResponse](ctx, p, addr, "RenewSession", req)
}

// Operator runs a Raft operator command through the server at addr.
func (p *Pool) Operator(ctx context.Context, addr string, req *OperatorRequest) (*OperatorResponse, error) {
	return invoke[OperatorResponse](ctx, p, addr, "Operator", req)
}

// ResolveToken asks the server at addr what a token is.
func (p *Pool) ResolveToken(ctx context.Context, addr string, req *ResolveTokenRequest) (*ResolveTokenResponse, error) {
	return invoke[ResolveTokenResponse](ctx, p, addr, "ResolveToken", req)
}

// Subscribe opens the replication stream on the server at addr and calls
// recv for every update until ctx ends, the stream breaks or recv fails.
func (p *Pool) Subscribe(ctx context.Context, addr string, req *SubscribeRequest, recv func(*Update) error) error {
	c, err := p.conn(addr)
	if err != nil {
		return err
	}
	// Ending the call (recv failed, or the server went quiet) must end the
	// stream on the server too.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.NewStream(ctx, &serviceDesc.Streams[0], "/"+serviceName+"/Subscribe")
	if err != nil {
		return fmt.Errorf("rpc: subscribe on %s: %w", addr, err)
	}
	if err := stream.SendMsg(req); err != nil {
		return fmt.Errorf("rpc: subscribe on %s: %w", addr, err)
	}
	if err := stream.CloseSend(); err != nil {
		return fmt.Errorf("rpc: subscribe on %s: %w", addr, err)
	}
	for {
		u := new(Update)
		if err := stream.RecvMsg(u); err != nil {
			return fmt.Errorf("rpc: subscription to %s: %w", addr, err)
		}
		if err := recv(u); err != nil {
			return err
		}
	}
}

// NotSent reports whether a failed call certainly never reached the
// server: the connection could not be made. Any other failure (a timeout,
// a connection cut mid-call) leaves the call's effect unknown.
func NotSent(err error) bool {
	st, ok := status.FromError(err)
	if !ok {
		return false
	}
	// gRPC fails a call on a connection it could not establish with
	// Unavailable and the dialer's error; a call on an established
	// connection that broke says "connection closed", "EOF" or "reset".
	return st.Code() == codes.Unavailable && strings.Contains(st.Message(), "Error while dialing")
}
