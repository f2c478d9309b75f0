package cluster

import "context"

// A write carries its token in its context: the agent that received it
// puts it there, the forwards send it in rpc.ApplyRequest.Token, and a
// server that received it over the server port marks it forwarded, so
// that the leader checks it before applying it (a write made on the
// leader itself was checked by its HTTP API already).

type tokenKey struct{}

type writeToken struct {
	secret    string
	forwarded bool
}

// WithToken is ctx carrying the SecretID a write is made with.
func WithToken(ctx context.Context, secret string) context.Context {
	return context.WithValue(ctx, tokenKey{}, writeToken{secret: secret})
}

// Forwarded is ctx carrying the token of a write another agent sent over
// the server port: the leader checks it before applying it.
func Forwarded(ctx context.Context, secret string) context.Context {
	return context.WithValue(ctx, tokenKey{}, writeToken{secret: secret, forwarded: true})
}

func tokenOf(ctx context.Context) writeToken {
	t, _ := ctx.Value(tokenKey{}).(writeToken)
	return t
}

// Authorize checks an encoded command against a token (a SecretID): nil
// when the token may make it, else why not.
type Authorize func(secret string, cmd []byte) error

// SetAuthorize makes the forwarder check forwarded writes with check
// before this server applies them (nil: no ACLs, no check). Set before
// the server port serves.
func (f *Forwarder) SetAuthorize(check Authorize) { f.authorize = check }
