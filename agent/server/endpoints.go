package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/coredns-coord/coredns-coord/acl"
	"github.com/coredns-coord/coredns-coord/agent/cluster"
	"github.com/coredns-coord/coredns-coord/raftstore"
	"github.com/coredns-coord/coredns-coord/rpc"
)

// rpcBackend answers the server port's RPCs.
type rpcBackend struct{ s *Server }

var _ rpc.Backend = rpcBackend{}

// Apply forwards or applies a command for another agent. ctx carries that
// agent's deadline, so this hop stops re-sending when it does.
func (b rpcBackend) Apply(ctx context.Context, req *rpc.ApplyRequest) *rpc.ApplyResponse {
	res, idx, err := b.s.fwd.Apply(cluster.Forwarded(ctx, req.Token), req.Command, req.Hops)
	if err != nil {
		return &rpc.ApplyResponse{Error: cluster.ToWire(err)}
	}
	if res == nil {
		return &rpc.ApplyResponse{Index: idx}
	}
	raw, err := json.Marshal(res)
	if err != nil {
		return &rpc.ApplyResponse{Error: cluster.ToWire(fmt.Errorf("agent: encode result: %w", err))}
	}
	return &rpc.ApplyResponse{Result: raw, Index: idx}
}

func (b rpcBackend) ReadIndex(_ context.Context, req *rpc.ReadIndexRequest) *rpc.ReadIndexResponse {
	idx, err := b.s.readIndex(req.Hops)
	return &rpc.ReadIndexResponse{Index: idx, Error: cluster.ToWire(err)}
}

func (b rpcBackend) RenewSession(_ context.Context, req *rpc.RenewSessionRequest) *rpc.RenewSessionResponse {
	session, err := b.s.renewSession(req.ID, req.Token, req.Hops, true)
	return &rpc.RenewSessionResponse{Session: session, Error: cluster.ToWire(err)}
}

func (b rpcBackend) Operator(_ context.Context, req *rpc.OperatorRequest) *rpc.OperatorResponse {
	switch req.Op {
	case cluster.OpLocalConfiguration:
		servers, idx, err := b.s.raftServers()
		return &rpc.OperatorResponse{Servers: servers, Index: idx, Error: cluster.ToWire(err)}
	case cluster.OpLocalStats:
		return &rpc.OperatorResponse{Servers: []rpc.RaftServer{b.s.localStats()}}
	}
	resp, err := b.s.Operator(req)
	if err != nil {
		return &rpc.OperatorResponse{Error: cluster.ToWire(err)}
	}
	return resp
}

// ResolveToken answers what a token is, for a client agent.
func (b rpcBackend) ResolveToken(_ context.Context, req *rpc.ResolveTokenRequest) *rpc.ResolveTokenResponse {
	if b.s.cfg.ResolveToken == nil {
		return &rpc.ResolveTokenResponse{Error: cluster.ToWire(acl.ErrNotFound)}
	}
	tok, policies, err := b.s.cfg.ResolveToken(req.Token)
	if err != nil {
		return &rpc.ResolveTokenResponse{Error: cluster.ToWire(err)}
	}
	return &rpc.ResolveTokenResponse{Token: tok, Policies: policies}
}

// Streaming: at most subscribeBatch commands (and about subscribeBytes)
// per update, a heartbeat update at least every subscribeHeartbeat so that a subscriber can tell a
// quiet server from a dead one, snapshots in chunks of snapshotChunk.
const (
	subscribeBatch     = 512
	subscribeBytes     = 4 << 20
	subscribeHeartbeat = time.Second
	snapshotChunk      = 256 << 10
)

func (b rpcBackend) Subscribe(ctx context.Context, req *rpc.SubscribeRequest, send func(*rpc.Update) error) error {
	s := b.s
	feed := s.raft.Feed()
	from := req.Index
	heartbeat := time.NewTicker(subscribeHeartbeat)
	defer heartbeat.Stop()
	for {
		entries, last, changed, needSnapshot := feed.Since(from, subscribeBatch)
		if needSnapshot {
			idx, err := b.sendSnapshot(feed, send)
			if err != nil {
				return err
			}
			from = idx
			continue
		}
		if len(entries) > 0 {
			u := s.updateHeader(last)
			size := 0
			for _, e := range entries {
				if size > 0 && size+len(e.Data) > subscribeBytes {
					break
				}
				size += len(e.Data)
				u.Entries = append(u.Entries, rpc.Entry{Index: e.Index, Data: e.Data})
			}
			if err := send(u); err != nil {
				return err
			}
			from = u.Entries[len(u.Entries)-1].Index
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.ctx.Done():
			return nil
		case <-changed:
		case <-heartbeat.C:
			if err := send(s.updateHeader(last)); err != nil {
				return err
			}
		}
	}
}

// sendSnapshot streams the whole state in chunks; the subscriber is at the
// returned index once it has applied them.
func (b rpcBackend) sendSnapshot(feed *raftstore.Feed, send func(*rpc.Update) error) (uint64, error) {
	snap, idx := feed.Snapshot()
	defer snap.Release()
	var buf bytes.Buffer
	if err := snap.Persist(&buf); err != nil {
		return 0, fmt.Errorf("agent: snapshot for subscriber: %w", err)
	}
	snapshotsStreamed.Inc()
	for data := buf.Bytes(); ; {
		n := min(len(data), snapshotChunk)
		u := b.s.updateHeader(idx)
		u.Snapshot, data = data[:n], data[n:]
		u.SnapshotEnd = len(data) == 0
		if err := send(u); err != nil {
			return 0, err
		}
		if u.SnapshotEnd {
			return idx, nil
		}
	}
}

func (s *Server) updateHeader(index uint64) *rpc.Update {
	leader := s.raft.Leader()
	return &rpc.Update{Index: index, Leader: leader, KnownLeader: leader != "", LastContact: s.raft.LastContact()}
}
