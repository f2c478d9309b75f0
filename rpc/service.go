package rpc

import (
	"context"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
)

const serviceName = "coord.Server"

// Backend answers the RPCs; the agent implements it. Errors that belong to
// the request (a refused write, no leader) travel in the responses.
type Backend interface {
	Apply(ctx context.Context, req *ApplyRequest) *ApplyResponse
	ReadIndex(ctx context.Context, req *ReadIndexRequest) *ReadIndexResponse
	RenewSession(ctx context.Context, req *RenewSessionRequest) *RenewSessionResponse
	Operator(ctx context.Context, req *OperatorRequest) *OperatorResponse
	ResolveToken(ctx context.Context, req *ResolveTokenRequest) *ResolveTokenResponse
	// Subscribe streams updates after req.Index until ctx ends or send
	// fails.
	Subscribe(ctx context.Context, req *SubscribeRequest, send func(*Update) error) error
}

// MaxMessageSize bounds one RPC message: a forwarded snapshot restore is
// one message (the HTTP API caps archives at 256 MiB).
const MaxMessageSize = 320 << 20

// Keepalive: dead peers on a LAN are noticed in seconds, not the
// default two hours.
const (
	keepaliveTime    = 2 * time.Second
	keepaliveTimeout = 2 * time.Second
)

// NewServer returns a gRPC server for b; serve it on Mux.GRPCListener.
func NewServer(b Backend) *grpc.Server {
	s := grpc.NewServer(
		grpc.ForceServerCodec(jsonCodec{}),
		grpc.MaxRecvMsgSize(MaxMessageSize),
		grpc.MaxSendMsgSize(MaxMessageSize),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: keepaliveTime, Timeout: keepaliveTimeout}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: time.Second, PermitWithoutStream: true}),
	)
	s.RegisterService(&serviceDesc, b)
	return s
}

// unary builds a method handler that decodes Req and calls f.
func unary[Req any, Resp any](name string, f func(Backend, context.Context, *Req) *Resp) grpc.MethodDesc {
	return grpc.MethodDesc{
		MethodName: name,
		Handler: func(srv any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			req := new(Req)
			if err := dec(req); err != nil {
				return nil, err
			}
			return f(srv.(Backend), ctx, req), nil
		},
	}
}

var serviceDesc = grpc.ServiceDesc{
	ServiceName: serviceName,
	HandlerType: (*Backend)(nil),
	Methods: []grpc.MethodDesc{
		unary("Apply", Backend.Apply),
		unary("ReadIndex", Backend.ReadIndex),
		unary("RenewSession", Backend.RenewSession),
		unary("Operator", Backend.Operator),
		unary("ResolveToken", Backend.ResolveToken),
	},
	Streams: []grpc.StreamDesc{{
		StreamName:    "Subscribe",
		ServerStreams: true,
		Handler: func(srv any, stream grpc.ServerStream) error {
			req := new(SubscribeRequest)
			if err := stream.RecvMsg(req); err != nil {
				return err
			}
			return srv.(Backend).Subscribe(stream.Context(), req, func(u *Update) error { return stream.SendMsg(u) })
		},
	}},
}
