package raftstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	wal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/metadb"

	"github.com/coredns-coord/coredns-coord/raftstore/state"
)

// ErrNotLeader is returned by Apply on a server that is not the leader.
var ErrNotLeader = raft.ErrNotLeader

// applyTimeout bounds how long a write waits to be enqueued.
const applyTimeout = 10 * time.Second

// Config describes one Raft server.
type Config struct {
	// ID is the Raft server ID (the agent's node ID).
	ID string
	// DataDir holds raft/wal and raft/snapshots. Empty means in memory
	// (dev mode): nothing survives the process.
	DataDir string
	// Addr is the host:port Raft listens on and advertises.
	Addr string
	// Bootstrap makes a server with no Raft state form a one-server
	// cluster on its own.
	Bootstrap bool
	Logger    hclog.Logger
}

// Node is a Raft server and the state its FSM maintains.
type Node struct {
	raft     *raft.Raft
	store    *state.Store
	addr     raft.ServerAddress
	closers  []io.Closer
	observer *raft.Observer
	observed chan raft.Observation
}

// lanTimings are tuned for servers on one LAN: a lost leader is noticed in
// about a second instead of raft's default two to four.
func lanTimings(c *raft.Config) {
	c.HeartbeatTimeout = 500 * time.Millisecond
	c.ElectionTimeout = 500 * time.Millisecond
	c.LeaderLeaseTimeout = 250 * time.Millisecond
	c.CommitTimeout = 10 * time.Millisecond
}

// Open starts a Raft server over a fresh state store.
func Open(cfg Config) (*Node, error) {
	if cfg.Logger == nil {
		cfg.Logger = hclog.New(&hclog.LoggerOptions{Name: "raft", Level: hclog.Warn, Output: os.Stderr})
	}
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(cfg.ID)
	rc.Logger = cfg.Logger
	lanTimings(rc)

	n := &Node{store: state.NewStore(), addr: raft.ServerAddress(cfg.Addr)}
	var (
		logs   raft.LogStore
		stable raft.StableStore
		snaps  raft.SnapshotStore
		trans  raft.Transport
	)
	if cfg.DataDir == "" {
		mem := raft.NewInmemStore()
		logs, stable = mem, mem
		snaps = raft.NewInmemSnapshotStore()
		_, trans = raft.NewInmemTransport(n.addr)
	} else {
		dir := filepath.Join(cfg.DataDir, "raft")
		if err := os.MkdirAll(filepath.Join(dir, "wal"), 0o700); err != nil {
			return nil, fmt.Errorf("raftstore: create %s: %w", dir, err)
		}
		// raft-wal v0.4.0's Close leaves its meta database open (and
		// locked), so we own it and close it after the WAL.
		meta := &metadb.BoltMetaDB{}
		n.closers = append(n.closers, meta)
		w, err := wal.Open(filepath.Join(dir, "wal"), wal.WithLogger(cfg.Logger.Named("wal")), wal.WithMetaStore(meta))
		if err != nil {
			n.close()
			return nil, fmt.Errorf("raftstore: open log store: %w", err)
		}
		n.closers = append(n.closers, w)
		logs, stable = w, w
		fs, err := raft.NewFileSnapshotStoreWithLogger(dir, 2, cfg.Logger.Named("snapshot"))
		if err != nil {
			n.close()
			return nil, fmt.Errorf("raftstore: open snapshot store: %w", err)
		}
		snaps = fs
		tcp, err := newTCPTransport(cfg.Addr, cfg.Logger)
		if err != nil {
			n.close()
			return nil, err
		}
		n.closers = append(n.closers, tcp)
		trans = tcp
	}

	if cfg.Bootstrap {
		has, err := raft.HasExistingState(logs, stable, snaps)
		if err != nil {
			n.close()
			return nil, fmt.Errorf("raftstore: inspect existing state: %w", err)
		}
		if !has {
			conf := raft.Configuration{Servers: []raft.Server{{ID: rc.LocalID, Address: n.addr}}}
			if err := raft.BootstrapCluster(rc, logs, stable, snaps, trans, conf); err != nil {
				n.close()
				return nil, fmt.Errorf("raftstore: bootstrap: %w", err)
			}
		}
	}

	r, err := raft.NewRaft(rc, NewFSM(n.store), logs, stable, snaps, trans)
	if err != nil {
		n.close()
		return nil, fmt.Errorf("raftstore: start raft: %w", err)
	}
	n.raft = r
	n.observeLeader()
	return n, nil
}

func newTCPTransport(addr string, logger hclog.Logger) (*raft.NetworkTransport, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("raftstore: bad address %q: %w", addr, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return nil, fmt.Errorf("raftstore: bad port in %q: %w", addr, err)
	}
	adv := &net.TCPAddr{IP: net.ParseIP(host), Port: p}
	t, err := raft.NewTCPTransportWithLogger(addr, adv, 3, 10*time.Second, logger.Named("transport"))
	if err != nil {
		return nil, fmt.Errorf("raftstore: listen on %s: %w", addr, err)
	}
	return t, nil
}

func (n *Node) observeLeader() {
	ch := make(chan raft.Observation, 8)
	n.observed = ch
	n.observer = raft.NewObserver(ch, false, func(o *raft.Observation) bool {
		_, ok := o.Data.(raft.LeaderObservation)
		return ok
	})
	n.raft.RegisterObserver(n.observer)
	go func() {
		for range ch {
			leaderChanges.Inc()
		}
	}()
}

// State is the store this server's FSM keeps current.
func (n *Node) State() *state.Store { return n.store }

// Apply submits a command and waits until it is committed and applied. The
// result is the FSM's: nil, or a bool for KV check-and-set.
func (n *Node) Apply(t CommandType, req any) (any, error) {
	buf, err := encodeCommand(t, req)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	f := n.raft.Apply(buf, applyTimeout)
	err = f.Error()
	if err == nil {
		if ferr, ok := f.Response().(error); ok {
			err = ferr
		}
	}
	applyDuration.WithLabelValues(t.String()).Observe(time.Since(start).Seconds())
	if err != nil {
		appliesTotal.WithLabelValues(t.String(), "error").Inc()
		if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) {
			return nil, fmt.Errorf("%w: %v", ErrNotLeader, err)
		}
		return nil, err
	}
	appliesTotal.WithLabelValues(t.String(), "ok").Inc()
	return f.Response(), nil
}

// Addr is the address this server advertises.
func (n *Node) Addr() string { return string(n.addr) }

// Leader returns the leader's address, or "" when none is known.
func (n *Node) Leader() string {
	addr, _ := n.raft.LeaderWithID()
	return string(addr)
}

// IsLeader reports whether this server leads.
func (n *Node) IsLeader() bool { return n.raft.State() == raft.Leader }

// LastContact is how long ago this server heard from a leader; zero on the
// leader itself.
func (n *Node) LastContact() time.Duration {
	if n.IsLeader() {
		return 0
	}
	last := n.raft.LastContact()
	if last.IsZero() {
		return 0
	}
	return time.Since(last)
}

// VerifyLeader confirms that this server still leads (for ?consistent).
func (n *Node) VerifyLeader() error { return n.raft.VerifyLeader().Error() }

// Peers lists the voters' addresses.
func (n *Node) Peers() ([]string, error) {
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, fmt.Errorf("raftstore: configuration: %w", err)
	}
	out := []string{}
	for _, s := range f.Configuration().Servers {
		if s.Suffrage == raft.Voter {
			out = append(out, string(s.Address))
		}
	}
	return out, nil
}

// WaitForLeader blocks until a leader is known or ctx ends.
func (n *Node) WaitForLeader(ctx context.Context) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for n.Leader() == "" {
		select {
		case <-ctx.Done():
			return fmt.Errorf("raftstore: no leader: %w", ctx.Err())
		case <-t.C:
		}
	}
	return nil
}

// Snapshot forces a snapshot now (log compaction, tests).
func (n *Node) Snapshot() error { return n.raft.Snapshot().Error() }

// Shutdown stops Raft and closes the stores.
func (n *Node) Shutdown() error {
	n.raft.DeregisterObserver(n.observer)
	close(n.observed)
	err := n.raft.Shutdown().Error()
	n.close()
	if err != nil {
		return fmt.Errorf("raftstore: shutdown: %w", err)
	}
	return nil
}

func (n *Node) close() {
	for i := len(n.closers) - 1; i >= 0; i-- {
		n.closers[i].Close()
	}
	n.closers = nil
}
