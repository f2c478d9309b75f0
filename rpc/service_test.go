package rpc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/coredns-coord/coredns-coord/structs"
)

// testBackend is the service's Backend for these tests: each method calls
// its function field when set (a zero one answers with defaults) and
// records the request it got.
type testBackend struct {
	apply        func(context.Context, *ApplyRequest) *ApplyResponse
	renewSession func(context.Context, *RenewSessionRequest) *RenewSessionResponse
	operator     func(context.Context, *OperatorRequest) *OperatorResponse
	subscribe    func(context.Context, *SubscribeRequest, func(*Update) error) error
	readIndex    uint64

	mu   sync.Mutex
	reqs []any
}

func (b *testBackend) record(req any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.reqs = append(b.reqs, req)
}

// lastRequest is the last request the backend received.
func (b *testBackend) lastRequest() any {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.reqs) == 0 {
		return nil
	}
	return b.reqs[len(b.reqs)-1]
}

func (b *testBackend) Apply(ctx context.Context, req *ApplyRequest) *ApplyResponse {
	b.record(req)
	if b.apply != nil {
		return b.apply(ctx, req)
	}
	return &ApplyResponse{}
}

func (b *testBackend) ReadIndex(_ context.Context, req *ReadIndexRequest) *ReadIndexResponse {
	b.record(req)
	return &ReadIndexResponse{Index: b.readIndex}
}

func (b *testBackend) RenewSession(ctx context.Context, req *RenewSessionRequest) *RenewSessionResponse {
	b.record(req)
	if b.renewSession != nil {
		return b.renewSession(ctx, req)
	}
	return &RenewSessionResponse{}
}

func (b *testBackend) ResolveToken(context.Context, *ResolveTokenRequest) *ResolveTokenResponse {
	return &ResolveTokenResponse{Error: &Error{Kind: "acl-not-found", Message: "ACL not found"}}
}

func (b *testBackend) Operator(ctx context.Context, req *OperatorRequest) *OperatorResponse {
	b.record(req)
	if b.operator != nil {
		return b.operator(ctx, req)
	}
	return &OperatorResponse{}
}

func (b *testBackend) Subscribe(ctx context.Context, req *SubscribeRequest, send func(*Update) error) error {
	b.record(req)
	if b.subscribe != nil {
		return b.subscribe(ctx, req, send)
	}
	return nil
}

// serve runs a real gRPC server for b on a loopback mux and returns its
// address, the server and the mux; a pool to call it is the test's.
func serve(t testing.TB, b Backend) (string, *grpc.Server, *Mux) {
	t.Helper()
	m := listenMux(t)
	srv := NewServer(b)
	served := make(chan struct{})
	go func() {
		defer close(served)
		srv.Serve(m.GRPCListener())
	}()
	t.Cleanup(func() {
		srv.Stop()
		m.Close()
		<-served
	})
	return m.Addr().String(), srv, m
}

func newPool(t testing.TB) *Pool {
	p := NewPool(nil, nil)
	t.Cleanup(p.Close)
	return p
}

func callCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

func TestApplyRoundTrip(t *testing.T) {
	b := &testBackend{apply: func(_ context.Context, req *ApplyRequest) *ApplyResponse {
		switch string(req.Command) {
		case "\x02refuse":
			return &ApplyResponse{Error: &Error{Kind: "invalid-session", Message: "invalid session \"x\""}}
		case "\x02empty":
			return &ApplyResponse{Index: 9}
		}
		return &ApplyResponse{Result: json.RawMessage(`{"Results":[{"KV":{"Key":"k"}}],"Errors":null}`), Index: 42}
	}}
	addr, _, _ := serve(t, b)
	p := newPool(t)
	ctx := callCtx(t)

	// Every byte of a command survives the JSON codec.
	cmd := []byte{0x02, 0x00, 0xff, '"', '\\', 0x80}
	resp, err := p.Apply(ctx, addr, &ApplyRequest{Command: cmd, Hops: 2})
	if err != nil {
		t.Fatal(err)
	}
	got := b.lastRequest().(*ApplyRequest)
	if !bytes.Equal(got.Command, cmd) || got.Hops != 2 {
		t.Errorf("server got %+v", got)
	}
	if resp.Index != 42 || resp.Error != nil || string(resp.Result) != `{"Results":[{"KV":{"Key":"k"}}],"Errors":null}` {
		t.Errorf("response %+v (result %s)", resp, resp.Result)
	}

	resp, err = p.Apply(ctx, addr, &ApplyRequest{Command: []byte("\x02refuse")})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Error == nil || resp.Error.Kind != "invalid-session" || resp.Error.Message != `invalid session "x"` || resp.Result != nil {
		t.Errorf("refusal arrived as %+v", resp)
	}

	resp, err = p.Apply(ctx, addr, &ApplyRequest{Command: []byte("\x02empty")})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Index != 9 || len(resp.Result) != 0 || resp.Error != nil {
		t.Errorf("empty result arrived as %+v (result %q)", resp, resp.Result)
	}
}

func TestReadIndexRoundTrip(t *testing.T) {
	b := &testBackend{readIndex: 1<<63 + 5}
	addr, _, _ := serve(t, b)
	resp, err := newPool(t).ReadIndex(callCtx(t), addr, &ReadIndexRequest{Hops: 1})
	if err != nil {
		t.Fatal(err)
	}
	// Indexes above 2^53 must not lose precision in JSON.
	if resp.Index != 1<<63+5 || resp.Error != nil {
		t.Errorf("response %+v", resp)
	}
	if got := b.lastRequest().(*ReadIndexRequest); got.Hops != 1 {
		t.Errorf("server got %+v", got)
	}
}

func TestRenewSessionRoundTrip(t *testing.T) {
	sess := &structs.Session{
		ID: "adf4238a-882b-9ddc-4a9d-5b6758e4159e", Name: "lock", Node: "n1",
		NodeChecks: []string{"serfHealth"}, ServiceChecks: []structs.ServiceCheck{{ID: "web-check"}},
		LockDelay: 15 * time.Second, Behavior: "delete", TTL: "30s",
		RaftIndex: structs.RaftIndex{CreateIndex: 3, ModifyIndex: 4},
	}
	b := &testBackend{renewSession: func(_ context.Context, req *RenewSessionRequest) *RenewSessionResponse {
		if req.ID == sess.ID {
			return &RenewSessionResponse{Session: sess}
		}
		return &RenewSessionResponse{Error: &Error{Kind: "not-found", Message: "no session " + req.ID}}
	}}
	addr, _, _ := serve(t, b)
	p := newPool(t)
	ctx := callCtx(t)

	resp, err := p.RenewSession(ctx, addr, &RenewSessionRequest{ID: sess.ID, Hops: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(resp.Session, sess) || resp.Error != nil {
		t.Errorf("session arrived as %+v, want %+v", resp.Session, sess)
	}
	if got := b.lastRequest().(*RenewSessionRequest); got.ID != sess.ID || got.Hops != 1 {
		t.Errorf("server got %+v", got)
	}

	resp, err = p.RenewSession(ctx, addr, &RenewSessionRequest{ID: "gone"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Session != nil || resp.Error == nil || *resp.Error != (Error{Kind: "not-found", Message: "no session gone"}) {
		t.Errorf("missing session arrived as %+v", resp)
	}
}

func TestOperatorRoundTrip(t *testing.T) {
	servers := []RaftServer{
		{ID: "a", Node: "s1", Address: "10.0.0.1:8300", Leader: true, Voter: true, Suffrage: "Voter"},
		{ID: "b", Node: "s2", Address: "10.0.0.2:8300", Voter: false, Suffrage: "Nonvoter"},
	}
	b := &testBackend{operator: func(_ context.Context, req *OperatorRequest) *OperatorResponse {
		switch req.Op {
		case "configuration":
			return &OperatorResponse{Servers: servers, Index: 17}
		case "remove":
			return &OperatorResponse{Error: &Error{Message: "no such peer " + req.ID + req.Address}}
		}
		return nil
	}}
	addr, _, _ := serve(t, b)
	p := newPool(t)
	ctx := callCtx(t)

	resp, err := p.Operator(ctx, addr, &OperatorRequest{Op: "configuration", Hops: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(resp.Servers, servers) || resp.Index != 17 || resp.Error != nil {
		t.Errorf("configuration arrived as %+v", resp)
	}

	resp, err = p.Operator(ctx, addr, &OperatorRequest{Op: "remove", ID: "x", Address: "10.0.0.9:8300"})
	if err != nil {
		t.Fatal(err)
	}
	if got := b.lastRequest().(*OperatorRequest); got.Op != "remove" || got.ID != "x" || got.Address != "10.0.0.9:8300" {
		t.Errorf("server got %+v", got)
	}
	// An Error without Kind keeps its message and an empty kind.
	if resp.Error == nil || resp.Error.Kind != "" || resp.Error.Message != "no such peer x10.0.0.9:8300" || resp.Servers != nil {
		t.Errorf("refusal arrived as %+v", resp)
	}

	// A backend that answers nil sends an empty response, not a failure.
	resp, err = p.Operator(ctx, addr, &OperatorRequest{Op: "other"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Error != nil || resp.Servers != nil || resp.Index != 0 {
		t.Errorf("nil response arrived as %+v", resp)
	}
}

// updateN is the n-th update a test backend streams.
func updateN(n int) *Update {
	return &Update{
		Entries:     []Entry{{Index: uint64(2*n + 1), Data: []byte{byte(n), 0xff}}, {Index: uint64(2*n + 2), Data: []byte("{}")}},
		Index:       uint64(2*n + 2),
		Leader:      "10.0.0.1:8300",
		KnownLeader: true,
		LastContact: time.Duration(n) * time.Millisecond,
	}
}

// The stream carries every update in order, and the subscription ends
// (with io.EOF underneath) when the server's Subscribe returns.
func TestSubscribeStreamsUntilServerReturns(t *testing.T) {
	const count = 20
	b := &testBackend{subscribe: func(_ context.Context, req *SubscribeRequest, send func(*Update) error) error {
		if req.Index != 5 {
			return fmt.Errorf("subscribed from %d", req.Index)
		}
		// A snapshot chunk first, as a far-behind subscriber gets.
		if err := send(&Update{Snapshot: []byte("state"), SnapshotEnd: true, Index: 1}); err != nil {
			return err
		}
		for i := range count {
			if err := send(updateN(i)); err != nil {
				return err
			}
		}
		return nil
	}}
	addr, _, _ := serve(t, b)
	var got []*Update
	err := newPool(t).Subscribe(callCtx(t), addr, &SubscribeRequest{Index: 5}, func(u *Update) error {
		got = append(got, u)
		return nil
	})
	if !errors.Is(err, io.EOF) {
		t.Fatalf("subscription ended with %v, want io.EOF", err)
	}
	if len(got) != count+1 {
		t.Fatalf("got %d updates, want %d", len(got), count+1)
	}
	if s := got[0]; string(s.Snapshot) != "state" || !s.SnapshotEnd || s.Index != 1 || s.Entries != nil {
		t.Errorf("snapshot update arrived as %+v", s)
	}
	for i, u := range got[1:] {
		if want := updateN(i); !reflect.DeepEqual(u, want) {
			t.Errorf("update %d: %+v, want %+v", i, u, want)
		}
	}
}

// A server error ends the subscription with that error's message.
func TestSubscribeServerError(t *testing.T) {
	b := &testBackend{subscribe: func(_ context.Context, _ *SubscribeRequest, send func(*Update) error) error {
		if err := send(updateN(0)); err != nil {
			return err
		}
		return errors.New("feed broke")
	}}
	addr, _, _ := serve(t, b)
	n := 0
	err := newPool(t).Subscribe(callCtx(t), addr, &SubscribeRequest{}, func(*Update) error { n++; return nil })
	if n != 1 || status.Code(err) != codes.Unknown || status.Convert(errors.Unwrap(err)).Message() != "feed broke" {
		t.Fatalf("after %d updates: %v", n, err)
	}
}

// blockingSubscribe streams one update and then waits for its context,
// reporting when the server saw the subscription end.
func blockingSubscribe(ended chan<- error) func(context.Context, *SubscribeRequest, func(*Update) error) error {
	return func(ctx context.Context, _ *SubscribeRequest, send func(*Update) error) error {
		if err := send(updateN(0)); err != nil {
			ended <- err
			return err
		}
		// Keep sending, as a busy server does, until the stream ends.
		for i := 1; ; i++ {
			select {
			case <-ctx.Done():
				ended <- ctx.Err()
				return nil
			case <-time.After(5 * time.Millisecond):
			}
			if err := send(updateN(i)); err != nil {
				ended <- err
				return err
			}
		}
	}
}

// Cancelling the client's context ends the subscription on both sides.
func TestSubscribeEndsOnClientCancel(t *testing.T) {
	ended := make(chan error, 1)
	addr, _, _ := serve(t, &testBackend{subscribe: blockingSubscribe(ended)})
	ctx, cancel := context.WithCancel(callCtx(t))
	n := 0
	err := newPool(t).Subscribe(ctx, addr, &SubscribeRequest{}, func(*Update) error {
		if n++; n == 3 {
			cancel()
		}
		return nil
	})
	if status.Code(err) != codes.Canceled {
		t.Fatalf("subscription ended with %v, want Canceled", err)
	}
	select {
	case <-ended:
	case <-time.After(testTimeout):
		t.Fatal("the server's Subscribe still runs after the client cancelled")
	}
}

// When recv fails, Subscribe returns that error and the server's Subscribe
// ends even though the caller's context lives on.
func TestSubscribeEndsOnRecvError(t *testing.T) {
	ended := make(chan error, 1)
	addr, _, _ := serve(t, &testBackend{subscribe: blockingSubscribe(ended)})
	errStop := errors.New("replica refused the update")
	err := newPool(t).Subscribe(context.Background(), addr, &SubscribeRequest{}, func(*Update) error { return errStop })
	if !errors.Is(err, errStop) {
		t.Fatalf("subscription ended with %v, want recv's error", err)
	}
	select {
	case <-ended:
	case <-time.After(2 * time.Second):
		t.Fatal("BUG: Pool.Subscribe returned on a recv error without cancelling its stream: " +
			"the server's Subscribe keeps running (and the stream stays open) until the caller's context ends")
	}
}

// Calls to a server that stopped fail within a bounded time, and so do
// calls to an address where nothing listens.
func TestCallToClosedServerFails(t *testing.T) {
	addr, srv, m := serve(t, &testBackend{readIndex: 1})
	p := newPool(t)
	if _, err := p.ReadIndex(callCtx(t), addr, &ReadIndexRequest{}); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	m.Close()
	for _, target := range []string{addr, "127.0.0.1:1"} {
		ctx, cancel := context.WithTimeout(context.Background(), 3*dialTimeout)
		start := time.Now()
		_, err := p.ReadIndex(ctx, target, &ReadIndexRequest{})
		el := time.Since(start)
		cancel()
		if err == nil {
			t.Errorf("%s: call to a closed server succeeded", target)
			continue
		}
		if code := status.Code(err); code != codes.Unavailable && code != codes.DeadlineExceeded {
			t.Errorf("%s: %v (code %s)", target, err, code)
		}
		if el > 2*dialTimeout {
			t.Errorf("%s: took %s to fail", target, el)
		}
	}
}

// Calls in flight on one connection are multiplexed: a slow call does not
// hold up the others.
func TestPoolMultiplexesCalls(t *testing.T) {
	release := make(chan struct{})
	var slow atomic.Int32
	b := &testBackend{apply: func(ctx context.Context, req *ApplyRequest) *ApplyResponse {
		if string(req.Command) == "slow" {
			slow.Add(1)
			select {
			case <-release:
			case <-ctx.Done():
			}
		}
		return &ApplyResponse{Index: uint64(len(req.Command))}
	}}
	addr, _, _ := serve(t, b)
	p := newPool(t)
	ctx := callCtx(t)
	done := make(chan error, 1)
	go func() {
		_, err := p.Apply(ctx, addr, &ApplyRequest{Command: []byte("slow")})
		done <- err
	}()
	for slow.Load() == 0 {
		select {
		case <-ctx.Done():
			t.Fatal("the slow call never arrived")
		case <-time.After(time.Millisecond):
		}
	}
	for i := range 10 {
		resp, err := p.Apply(ctx, addr, &ApplyRequest{Command: make([]byte, i+1)})
		if err != nil || resp.Index != uint64(i+1) {
			t.Fatalf("call %d next to a slow one: %+v, %v", i, resp, err)
		}
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func BenchmarkRPCApply(b *testing.B) {
	result := json.RawMessage(`true`)
	backend := &testBackend{apply: func(_ context.Context, req *ApplyRequest) *ApplyResponse {
		return &ApplyResponse{Result: result, Index: uint64(len(req.Command))}
	}}
	// Skip recording requests: a benchmark would only grow the slice.
	noRecord := applyOnly{backend}
	addr, _, _ := serve(b, noRecord)
	cmd := append([]byte{0x02}, `{"Op":"set","DirEnt":{"Key":"bench/key","Value":"dmFsdWU=","Flags":0}}`...)
	call := func(p *Pool) {
		resp, err := p.Apply(context.Background(), addr, &ApplyRequest{Command: cmd})
		if err != nil || resp.Index != uint64(len(cmd)) {
			b.Fatalf("apply: %+v, %v", resp, err)
		}
	}
	b.Run("serial", func(b *testing.B) {
		p := newPool(b)
		call(p) // connect outside the timing
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			call(p)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		p := newPool(b)
		call(p)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				call(p)
			}
		})
	})
}

// applyOnly answers Apply with the wrapped backend's function without
// recording requests.
type applyOnly struct{ *testBackend }

func (a applyOnly) Apply(ctx context.Context, req *ApplyRequest) *ApplyResponse {
	return a.apply(ctx, req)
}

// BenchmarkSubscribeThroughput streams b.N entries of about 100 bytes (a
// KV set's size) to one subscriber in updates of batch entries, as the
// agent's Subscribe does, and reports entries per second.
func BenchmarkSubscribeThroughput(b *testing.B) {
	data := append([]byte{0x02}, `{"Op":"set","DirEnt":{"Key":"service/web/config/key-0001","Value":"c29tZSB2YWx1ZQ==","Flags":0}}`...)
	for _, batch := range []int{1, 64, 512} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			total := b.N
			backend := &testBackend{subscribe: func(ctx context.Context, req *SubscribeRequest, send func(*Update) error) error {
				next := req.Index + 1
				for next <= uint64(total) {
					n := min(batch, total-int(next)+1)
					u := &Update{Entries: make([]Entry, n), Index: uint64(total), KnownLeader: true, Leader: "10.0.0.1:8300"}
					for i := range u.Entries {
						u.Entries[i] = Entry{Index: next, Data: data}
						next++
					}
					if err := send(u); err != nil {
						return err
					}
				}
				return nil
			}}
			addr, _, _ := serve(b, backend)
			p := newPool(b)
			var got uint64
			b.SetBytes(int64(len(data)))
			b.ResetTimer()
			err := p.Subscribe(context.Background(), addr, &SubscribeRequest{}, func(u *Update) error {
				for _, e := range u.Entries {
					if e.Index != got+1 {
						return fmt.Errorf("entry %d after %d", e.Index, got)
					}
					got = e.Index
				}
				return nil
			})
			b.StopTimer()
			if !errors.Is(err, io.EOF) {
				b.Fatal(err)
			}
			if got != uint64(total) {
				b.Fatalf("received %d entries of %d", got, total)
			}
			b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "entries/s")
		})
	}
}
