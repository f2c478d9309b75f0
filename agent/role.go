package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/coredns-coord/coredns-coord/agent/client"
	"github.com/coredns-coord/coredns-coord/agent/cluster"
	"github.com/coredns-coord/coredns-coord/agent/server"
	"github.com/coredns-coord/coredns-coord/internal/tlsutil"
	"github.com/coredns-coord/coredns-coord/raftstore"
	"github.com/coredns-coord/coredns-coord/state"
)

// ErrNoLeader is a write or consistent read that found no leader within
// the hold time (Consul's "No cluster leader"): nothing was applied.
var ErrNoLeader = cluster.ErrNoLeader

// openRole opens the role the configuration asks for: a server (Raft on
// the server port) or a client (a replica streamed from the servers). It
// is the one place that tells them apart; ctx ends when the agent stops.
func openRole(ctx context.Context, cfg Config, nodeID string, tls *tlsutil.Configurator, acls serverACLs) (cluster.Role, error) {
	source := net.ParseIP(cfg.BindAddr)
	if !cfg.Server {
		return client.New(ctx, client.Config{RetryJoin: cfg.RetryJoin, SourceIP: source, TLS: tls}), nil
	}
	s, err := server.Open(ctx, server.Config{
		NodeName:           cfg.NodeName,
		NodeID:             nodeID,
		Datacenter:         cfg.Datacenter,
		DataDir:            cfg.DataDir,
		BindAddr:           cfg.RaftAddr(),
		Addr:               cfg.ServerAddr(),
		SourceIP:           source,
		BootstrapExpect:    cfg.BootstrapExpect,
		SnapshotThreshold:  cfg.SnapshotThreshold,
		SnapshotInterval:   cfg.SnapshotInterval,
		CleanupDeadServers: cfg.CleanupDeadServers,
		TLS:                tls,
		Authorize:          acls.authorize,
		ResolveToken:       acls.resolve,
		AuthorizeOperator:  acls.operator,
		AuthorizeSession:   acls.session,
	})
	if err != nil {
		// Not a nil *Server in the interface: Stop must see no role.
		return nil, err
	}
	return s, nil
}

// IsServer reports whether this agent runs Raft.
func (a *Agent) IsServer() bool { return a.cfg.Server }

// State is the local state store (a server's, or a client's replica):
// reads never leave the process.
func (a *Agent) State() *state.Store { return a.role.State() }

// feed tracks the index the local state is at.
func (a *Agent) feed() *raftstore.Feed { return a.role.Feed() }

// Leader is the Raft leader's server address, or "".
func (a *Agent) Leader() string { return a.role.Leader() }

// LastContact is how long ago this agent's copy was known current: a
// server's time since it heard from the leader, a client's time since its
// last update plus its server's.
func (a *Agent) LastContact() time.Duration { return a.role.LastContact() }

// waitForLeader blocks until a leader is known or ctx ends.
func (a *Agent) waitForLeader(ctx context.Context) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for a.Leader() == "" {
		select {
		case <-ctx.Done():
			return fmt.Errorf("agent: no leader: %w", ctx.Err())
		case <-t.C:
		}
	}
	return nil
}

// ConsistentRead makes the next local read linearizable: it learns the
// leader's read index and waits until the local state has applied it.
func (a *Agent) ConsistentRead(ctx context.Context) error { return cluster.ConsistentRead(ctx, a.role) }

// apply writes a command through Raft and waits (briefly) until this
// agent's copy has applied it. The command gets its request ID here, once;
// every re-send carries it, so it is applied at most once.
func apply[Req, Res any](w Writer, cmd raftstore.Command[Req, Res], req Req) (Res, error) {
	return cluster.Apply(func(buf []byte) (any, error) { return w.a.applyAndWait(w.token, buf) }, cmd, req)
}

// readYourWritesWait bounds how long a write waits for the local copy to
// apply it; past it the write still succeeds (it is committed).
const readYourWritesWait = 2 * time.Second

// applyAndWait applies an encoded command and waits (briefly) until this
// agent's copy has applied it too.
func (a *Agent) applyAndWait(token string, buf []byte) (any, error) {
	ctx, cancel := context.WithTimeout(a.stopCtx, cluster.WriteTimeout)
	defer cancel()
	ctx = cluster.WithToken(ctx, token)
	res, idx, err := a.role.Apply(ctx, buf)
	if err == nil && idx > 0 && a.feed().Last() < idx {
		// Read your writes: what this agent answers next includes it (on
		// the leader it already does: Apply returns after the FSM ran).
		ctx, cancel := context.WithTimeout(context.Background(), readYourWritesWait)
		defer cancel()
		if werr := a.feed().WaitFor(ctx, idx); werr != nil {
			agentLog.Warningf("local copy has not applied index %d after %s", idx, readYourWritesWait)
		}
	}
	return res, err
}

// ErrCatchingUp is a default-mode read on an agent whose state does not
// yet hold everything committed before it started: a restarted server
// replaying its log, a client before its first sync.
var ErrCatchingUp = errors.New("this agent is still catching up with the cluster")

// CaughtUp reports whether the local state holds every write the cluster
// had committed when this agent started. It stays true once it is: later
// staleness is what X-Consul-LastContact reports.
func (a *Agent) CaughtUp() bool {
	select {
	case <-a.role.CaughtUp():
		return true
	default:
		return false
	}
}

// WaitCaughtUp blocks until CaughtUp, for at most the hold time.
func (a *Agent) WaitCaughtUp(ctx context.Context) error {
	if a.CaughtUp() {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, cluster.HoldTimeout)
	defer cancel()
	select {
	case <-a.role.CaughtUp():
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w (use ?stale to read what it has)", ErrCatchingUp)
	case <-a.stopCh:
		return ErrCatchingUp
	}
}
