package raftstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	"github.com/hashicorp/raft-wal/metadb"

	"github.com/coredns-coord/coredns-coord/internal/logging"
	"github.com/coredns-coord/coredns-coord/state"
	"github.com/coredns-coord/coredns-coord/structs"
)

// What a failed Apply tells about the command. Only ErrNotLeader and
// ErrNotApplied prove that it was not applied; after ErrOutcomeUnknown it
// may still commit, so it may be re-sent only with its request ID.
var (
	// ErrNotLeader: this server does not lead; nothing was appended.
	ErrNotLeader = raft.ErrNotLeader
	// ErrNotApplied: the command was not appended (the leader's queue was
	// full for the request's whole time).
	ErrNotApplied = errors.New("not applied")
	// ErrOutcomeUnknown: the command was appended, but leadership was lost
	// (or the server stopped) before it committed.
	ErrOutcomeUnknown = errors.New("outcome unknown")
)

// applyTimeout bounds how long a write waits to be enqueued.
const applyTimeout = 10 * time.Second

// Config describes one Raft server.
type Config struct {
	// ID is the Raft server ID (the agent's node ID).
	ID string
	// DataDir holds raft/wal and raft/snapshots. Empty means in memory
	// (dev mode): nothing survives the process.
	DataDir string
	// Addr is the host:port this server advertises to the others.
	Addr string
	// Layer carries Raft's connections (the server port's multiplexer).
	// Nil uses an in-memory transport: a dev server that never has peers.
	Layer raft.StreamLayer
	// Bootstrap makes a server with no Raft state form a one-server
	// cluster on its own.
	Bootstrap bool
	// SnapshotThreshold and SnapshotInterval: a snapshot is taken (and the
	// log compacted) when at least SnapshotThreshold entries were written
	// since the last one, checked every SnapshotInterval (with jitter).
	// Zero keeps raft's defaults (8192 entries, 120 s).
	SnapshotThreshold uint64
	SnapshotInterval  time.Duration
	Logger            hclog.Logger
}

// Node is a Raft server and the state its FSM maintains.
type Node struct {
	raft     *raft.Raft
	fsm      *FSM
	addr     raft.ServerAddress
	id       raft.ServerID
	hasState bool
	closers  []io.Closer
	observer *raft.Observer
	observed chan raft.Observation
	notify   chan bool
	wal      *walStore // nil in memory (dev)
}

// lanTimings are tuned for servers on one LAN: a lost leader is noticed in
// about a second instead of raft's default two to four.
func lanTimings(c *raft.Config) {
	c.HeartbeatTimeout = 500 * time.Millisecond
	c.ElectionTimeout = 500 * time.Millisecond
	c.LeaderLeaseTimeout = 250 * time.Millisecond
	c.CommitTimeout = 10 * time.Millisecond
}

// PeersFile is the name of the recovery file an operator drops into
// data_dir/raft (Consul's peers.json, version 3 format).
const PeersFile = "peers.json"

// Open starts a Raft server over a fresh state store.
func Open(cfg Config) (*Node, error) {
	if cfg.Logger == nil {
		cfg.Logger = hclog.New(&hclog.LoggerOptions{Name: "raft", Level: hclog.Warn, Output: logging.Writer(), DisableTime: true})
	}
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(cfg.ID)
	rc.Logger = cfg.Logger
	lanTimings(rc)
	if cfg.SnapshotThreshold > 0 {
		rc.SnapshotThreshold = cfg.SnapshotThreshold
	}
	if cfg.SnapshotInterval > 0 {
		rc.SnapshotInterval = cfg.SnapshotInterval
	}
	n := &Node{fsm: NewFSM(state.NewStore(), true), addr: raft.ServerAddress(cfg.Addr), id: rc.LocalID, notify: make(chan bool, 16)}
	rc.NotifyCh = n.notify
	var (
		logs   raft.LogStore
		stable raft.StableStore
		snaps  raft.SnapshotStore
		trans  raft.Transport
	)
	dir := ""
	if cfg.DataDir == "" {
		mem := raft.NewInmemStore()
		logs, stable = mem, mem
		snaps = raft.NewInmemSnapshotStore()
	} else {
		dir = filepath.Join(cfg.DataDir, "raft")
		if err := os.MkdirAll(filepath.Join(dir, "wal"), 0o700); err != nil {
			return nil, fmt.Errorf("raftstore: create %s: %w", dir, err)
		}
		// The meta database outlives each WAL (a reopen replaces it): we
		// own it and close it after the last one.
		meta := &metadb.BoltMetaDB{}
		n.closers = append(n.closers, meta)
		w, err := openLog(filepath.Join(dir, "wal"), meta, cfg.Logger)
		if err != nil {
			n.close()
			return nil, err
		}
		n.closers = append(n.closers, w)
		n.wal = w
		logs, stable = checkedLogs{w}, w
		removeUnfinishedSnapshots(filepath.Join(dir, "snapshots"), cfg.Logger)
		fs, err := raft.NewFileSnapshotStoreWithLogger(dir, 2, cfg.Logger.Named("snapshot"))
		if err != nil {
			n.close()
			return nil, fmt.Errorf("raftstore: open snapshot store: %w", err)
		}
		snaps = fs
		if err := verifyLog(checkedLogs{w}, snapshotCovered(fs), cfg.Logger.Named("wal").Warn); err != nil {
			n.close()
			return nil, err
		}
	}
	if cfg.Layer == nil {
		_, trans = raft.NewInmemTransport(n.addr)
	} else {
		nt := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
			Stream:  cfg.Layer,
			MaxPool: 3,
			Timeout: 10 * time.Second,
			Logger:  cfg.Logger.Named("transport"),
			// No pipelined replication: hashicorp/raft v1.8.0's pipeline
			// can deadlock (the send parks on inprogressCh while the
			// response decoder parks on doneCh, whose reader left after a
			// refused append), so the leader stops replicating to that
			// follower and Shutdown never returns. The fault suite caught
			// servers that did not stop on SIGTERM this way; raft's own
			// measurements show pipelining gains little on a LAN.
			MaxRPCsInFlight: 1,
		})
		n.closers = append(n.closers, nt)
		trans = nt
	}

	has, err := raft.HasExistingState(logs, stable, snaps)
	if err != nil {
		n.close()
		return nil, fmt.Errorf("raftstore: inspect existing state: %w", err)
	}
	n.hasState = has
	if dir != "" {
		if err := n.recoverFromPeersFile(dir, rc, logs, stable, snaps, trans); err != nil {
			n.close()
			return nil, err
		}
	}
	if cfg.Bootstrap && !n.hasState {
		conf := raft.Configuration{Servers: []raft.Server{{ID: rc.LocalID, Address: n.addr}}}
		if err := raft.BootstrapCluster(rc, logs, stable, snaps, trans, conf); err != nil {
			n.close()
			return nil, fmt.Errorf("raftstore: bootstrap: %w", err)
		}
		n.hasState = true
	}

	r, err := raft.NewRaft(rc, n.fsm, logs, stable, snaps, trans)
	if err != nil {
		n.close()
		return nil, fmt.Errorf("raftstore: start raft: %w", err)
	}
	n.raft = r
	n.observeLeader()
	return n, nil
}

// recoverFromPeersFile applies data_dir/raft/peers.json, as Consul does: the
// file replaces the Raft configuration (for a cluster that lost its
// quorum), the state is rebuilt from the log and snapshots, and the file is
// removed so that it applies once.
func (n *Node) recoverFromPeersFile(dir string, rc *raft.Config, logs raft.LogStore, stable raft.StableStore, snaps raft.SnapshotStore, trans raft.Transport) error {
	path := filepath.Join(dir, PeersFile)
	if _, err := os.Stat(path); os.IsNotExist(err) {
		return nil
	}
	conf, err := raft.ReadConfigJSON(path)
	if err != nil {
		return fmt.Errorf("raftstore: recovery file %s: %w", path, err)
	}
	// RecoverCluster replays the state into a scratch FSM to write a
	// snapshot; the real one is restored from it when Raft starts.
	if err := raft.RecoverCluster(rc, NewFSM(state.NewStore(), false), logs, stable, snaps, trans, conf); err != nil {
		return fmt.Errorf("raftstore: recover with %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("raftstore: remove %s after recovery: %w", path, err)
	}
	n.hasState = true
	rc.Logger.Warn("recovered the Raft configuration from peers.json", "servers", len(conf.Servers))
	return nil
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

// Leadership delivers true when this server becomes leader and false when
// it stops; the agent runs its leader duties in between. Raft blocks on it,
// so it must be read promptly.
func (n *Node) Leadership() <-chan bool { return n.notify }

// HasState reports whether the server had Raft state when it opened (or
// was bootstrapped since): such a server must not bootstrap again.
func (n *Node) HasState() bool { return n.hasState }

// BootstrapCluster forms a new cluster of servers; every server of the
// first quorum calls it with the same list.
func (n *Node) BootstrapCluster(servers []raft.Server) error {
	if err := n.raft.BootstrapCluster(raft.Configuration{Servers: servers}).Error(); err != nil {
		return fmt.Errorf("raftstore: bootstrap: %w", err)
	}
	n.hasState = true
	return nil
}

// Feed is the record of applied commands that client agents replicate.
func (n *Node) Feed() *Feed { return n.fsm.feed }

// State is the store this server's FSM keeps current.
func (n *Node) State() *state.Store { return n.fsm.store }

// Apply submits a command with a new request ID and waits until it is
// committed and applied. The result is the FSM's, untyped: the command's
// handle gives it its type (KV.Result, ...).
func (n *Node) Apply(t CommandType, req any) (any, error) {
	buf, err := EncodeCommand(t, structs.NewRequestID(), req)
	if err != nil {
		return nil, err
	}
	res, _, err := n.ApplyEncoded(context.Background(), buf)
	return res, err
}

// ApplyEncoded is Apply for a command already encoded (forwarded by
// another agent); it also returns the command's log index. The command is
// appended only before ctx's deadline.
func (n *Node) ApplyEncoded(ctx context.Context, buf []byte) (any, uint64, error) {
	if len(buf) == 0 {
		return nil, 0, fmt.Errorf("raftstore: %w: empty", ErrUndecodable)
	}
	t := CommandTypeOf(buf)
	enqueue := applyTimeout
	if d, ok := ctx.Deadline(); ok {
		// raft.Apply takes 0 as "no timeout": a request whose time is up
		// is refused here.
		if enqueue = min(enqueue, time.Until(d)); enqueue <= 0 {
			return nil, 0, fmt.Errorf("%w: the request's time ran out before it reached the log", ErrNotApplied)
		}
	}
	start := time.Now()
	f := n.raft.Apply(buf, enqueue)
	err := f.Error()
	if err == nil {
		if ferr, ok := f.Response().(error); ok {
			err = ferr
		}
	}
	applyDuration.WithLabelValues(t.String()).Observe(time.Since(start).Seconds())
	if err != nil {
		appliesTotal.WithLabelValues(t.String(), "error").Inc()
		return nil, 0, classifyApplyError(err)
	}
	appliesTotal.WithLabelValues(t.String(), "ok").Inc()
	return f.Response(), f.Index(), nil
}

// classifyApplyError says what a failed apply means for its outcome. A
// leader that cannot write its own log (a full disk) answers the entries
// of the failed batch with the store's error and steps down: they were
// never stored nor replicated, so they are not applied and may be sent to
// the next leader.
func classifyApplyError(err error) error {
	switch {
	case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipTransferInProgress):
		return fmt.Errorf("%w: %v", ErrNotLeader, err)
	case errors.Is(err, raft.ErrEnqueueTimeout):
		return fmt.Errorf("%w: %v", ErrNotApplied, err)
	case errors.Is(err, ErrLogWrite):
		return fmt.Errorf("%w: %w", ErrNotApplied, err)
	case errors.Is(err, raft.ErrLeadershipLost), errors.Is(err, raft.ErrRaftShutdown):
		return fmt.Errorf("%w: %v", ErrOutcomeUnknown, err)
	}
	return err
}

// LogWriteFailure is the last failed write of this server's Raft log (a
// full disk, say), nil once a write succeeds again.
func (n *Node) LogWriteFailure() error {
	if n.wal == nil {
		return nil
	}
	return n.wal.WriteFailure()
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

// Barrier waits until every entry committed before it is applied here.
func (n *Node) Barrier(timeout time.Duration) error { return n.raft.Barrier(timeout).Error() }

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

// removeUnfinishedSnapshots deletes the .tmp directories of snapshots that
// failed or were cut short (raft's file store leaves them when writing
// fails, on a full disk say, and warns about each one on every listing).
// Nothing is writing a snapshot before raft starts.
func removeUnfinishedSnapshots(dir string, logger hclog.Logger) {
	tmp, _ := filepath.Glob(filepath.Join(dir, "*.tmp"))
	for _, d := range tmp {
		if err := os.RemoveAll(d); err != nil {
			logger.Warn("cannot remove an unfinished snapshot", "dir", d, "error", err)
		}
	}
	if len(tmp) > 0 {
		logger.Warn("removed unfinished snapshots", "count", len(tmp))
	}
}
