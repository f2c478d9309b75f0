package agent

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc"

	"github.com/coredns-coord/coredns-coord/raftstore"
	"github.com/coredns-coord/coredns-coord/rpc"
	"github.com/coredns-coord/coredns-coord/structs"
)

// Operator commands.
const (
	opConfiguration = "configuration"
	opRemovePeer    = "remove"
	// opLocalConfiguration asks one server for its own view, unforwarded:
	// a server about to bootstrap uses it to learn that a cluster exists.
	opLocalConfiguration = "local-configuration"
)

// startServer opens the server port, Raft on it, and the RPC service
// (served by serveRPC).
func (a *Agent) startServer() error {
	mux, err := rpc.Listen(a.cfg.RaftAddr(), a.cfg.ServerAddr())
	if err != nil {
		return err
	}
	a.mux = mux
	a.raft, err = raftstore.Open(raftstore.Config{
		ID:                a.nodeID,
		DataDir:           a.cfg.DataDir,
		Addr:              a.cfg.ServerAddr(),
		Layer:             mux.RaftLayer(),
		Bootstrap:         a.cfg.BootstrapExpect == 1,
		SnapshotThreshold: a.cfg.SnapshotThreshold,
		SnapshotInterval:  a.cfg.SnapshotInterval,
	})
	if err != nil {
		mux.Close()
		return err
	}
	a.rpcServer = rpc.NewServer(rpcBackend{a})
	a.wg.Add(2)
	go a.leadershipLoop()
	go a.catchUpServer()
	return nil
}

// serveRPC serves the RPC service, once the gossip pool exists: its
// handlers read the members (a peer that learnt of this server by gossip
// may call it at once).
func (a *Agent) serveRPC() {
	go func(s *grpc.Server) {
		if err := s.Serve(a.mux.GRPCListener()); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			agentLog.Errorf("rpc server: %v", err)
		}
	}(a.rpcServer)
}

// stopServer stops RPC, Raft and the server port, in that order.
func (a *Agent) stopServer() error {
	if a.rpcServer != nil {
		a.rpcServer.Stop()
	}
	err := a.raft.Shutdown()
	a.mux.Close()
	return err
}

// readIndex returns the index a consistent read must wait for, from the
// leader (forwarded there from anywhere else).
func (a *Agent) readIndex(hops int) (uint64, error) {
	if a.raft != nil && a.raft.IsLeader() {
		if !a.leaderReady.Load() {
			return 0, fmt.Errorf("%w: the new leader has not applied its predecessors' log yet", ErrNoLeader)
		}
		return a.raft.ReadIndex()
	}
	var idx uint64
	err := a.forward(hops, "read-index", func(ctx context.Context, addr string) error {
		resp, err := a.pool.ReadIndex(ctx, addr, &rpc.ReadIndexRequest{Hops: hops + 1})
		if err != nil {
			return err
		}
		if err := leaderAnswer(resp.Error); err != nil {
			return err
		}
		idx = resp.Index
		return nil
	})
	return idx, err
}

// leaderAnswer turns the error of a read-only call forwarded to the leader
// into errRetry when it reached no leader (safe to repeat), or the error.
func leaderAnswer(e *rpc.Error) error {
	if e != nil && (e.Kind == "no-leader" || e.Kind == "not-leader") {
		return errRetry
	}
	return fromWire(e)
}

// ConsistentRead makes the next local read linearizable: it learns the
// leader's read index and waits until the local state has applied it.
func (a *Agent) ConsistentRead(ctx context.Context) error {
	idx, err := a.readIndex(0)
	if err != nil {
		return err
	}
	if err := a.feed().WaitFor(ctx, idx); err != nil {
		return fmt.Errorf("agent: wait for index %d: %w", idx, err)
	}
	return nil
}

// renewSession resets a session's TTL timer on the leader, which runs the
// timers.
func (a *Agent) renewSession(id string, hops int) (*structs.Session, error) {
	if a.raft != nil && a.raft.IsLeader() {
		_, s, err := a.State().SessionGet(nil, id)
		if err != nil || s == nil {
			return nil, err
		}
		if ttl := s.TTLDuration(); ttl > 0 {
			a.sessions.reset(id, ttl)
		}
		return s, nil
	}
	var s *structs.Session
	err := a.forward(hops, "renew-session", func(ctx context.Context, addr string) error {
		resp, err := a.pool.RenewSession(ctx, addr, &rpc.RenewSessionRequest{ID: id, Hops: hops + 1})
		if err != nil {
			return err
		}
		if err := leaderAnswer(resp.Error); err != nil {
			return err
		}
		s = resp.Session
		return nil
	})
	return s, err
}

// raftServers is this server's view of the Raft configuration, with the
// node names gossip knows for the IDs.
func (a *Agent) raftServers() ([]rpc.RaftServer, uint64, error) {
	if a.raft == nil {
		return nil, 0, errors.New("agent: not a server")
	}
	servers, idx, err := a.raft.Configuration()
	if err != nil {
		return nil, 0, err
	}
	leader := a.raft.LeaderID()
	names := a.serverNames()
	out := make([]rpc.RaftServer, 0, len(servers))
	for _, s := range servers {
		suffrage := "Nonvoter"
		if s.Voter {
			suffrage = "Voter"
		}
		out = append(out, rpc.RaftServer{
			ID: s.ID, Node: names[s.ID], Address: s.Address,
			Leader: s.ID == leader, Voter: s.Voter, Suffrage: suffrage,
		})
	}
	return out, idx, nil
}

// operator runs a Raft operator command on the leader.
func (a *Agent) operator(req *rpc.OperatorRequest) (*rpc.OperatorResponse, error) {
	if a.raft != nil && a.raft.IsLeader() {
		switch req.Op {
		case opConfiguration:
			servers, idx, err := a.raftServers()
			return &rpc.OperatorResponse{Servers: servers, Index: idx}, err
		case opAutopilotHealth:
			servers, err := a.autopilotHealth()
			return &rpc.OperatorResponse{Servers: servers}, err
		case opRemovePeer:
			if req.ID == a.raft.ID() || (req.ID == "" && req.Address == a.cfg.ServerAddr()) {
				return nil, errors.New("agent: the leader cannot remove itself; transfer leadership or stop it first")
			}
			return &rpc.OperatorResponse{}, a.raft.RemoveServer(req.ID, req.Address)
		}
		return nil, fmt.Errorf("agent: unknown operator command %q", req.Op)
	}
	var resp *rpc.OperatorResponse
	err := a.forward(req.Hops, "operator", func(ctx context.Context, addr string) error {
		fwd := *req
		fwd.Hops++
		r, err := a.pool.Operator(ctx, addr, &fwd)
		if err != nil {
			return err
		}
		if r.Error != nil && leaderAnswer(r.Error) == errRetry {
			return errRetry
		}
		resp = r
		return nil
	})
	if err != nil {
		return nil, err
	}
	return resp, fromWire(resp.Error)
}

// RaftConfiguration lists the Raft servers (operator/raft/configuration),
// as the leader sees them.
func (a *Agent) RaftConfiguration() ([]rpc.RaftServer, uint64, error) {
	resp, err := a.operator(&rpc.OperatorRequest{Op: opConfiguration})
	if err != nil {
		return nil, 0, err
	}
	return resp.Servers, resp.Index, nil
}

// RemovePeer removes a server from the Raft configuration by ID or address.
func (a *Agent) RemovePeer(id, address string) error {
	if id == "" && address == "" {
		return errors.New("agent: remove-peer needs an ID or an address")
	}
	_, err := a.operator(&rpc.OperatorRequest{Op: opRemovePeer, ID: id, Address: address})
	return err
}

// remoteConfiguration asks the server at addr for its own Raft
// configuration.
func (a *Agent) remoteConfiguration(addr string) ([]rpc.RaftServer, uint64, error) {
	ctx, cancel := context.WithTimeout(a.stopCtx, rpcCallTimeout)
	defer cancel()
	resp, err := a.pool.Operator(ctx, addr, &rpc.OperatorRequest{Op: opLocalConfiguration})
	if err != nil {
		return nil, 0, err
	}
	return resp.Servers, resp.Index, fromWire(resp.Error)
}
