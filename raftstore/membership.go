package raftstore

import (
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"
)

// changeTimeout bounds a configuration change (add or remove a server).
const changeTimeout = 10 * time.Second

// ErrUnknownPeer is a removal of a server the configuration does not hold.
var ErrUnknownPeer = errors.New("no such Raft peer")

// Server is one server of the Raft configuration.
type Server struct {
	ID      string
	Address string
	Voter   bool
}

// ID is this server's Raft ID.
func (n *Node) ID() string { return string(n.id) }

// LeaderID is the leader's server ID, or "".
func (n *Node) LeaderID() string {
	_, id := n.raft.LeaderWithID()
	return string(id)
}

// Configuration is the latest Raft configuration and its log index.
func (n *Node) Configuration() ([]Server, uint64, error) {
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, 0, fmt.Errorf("raftstore: configuration: %w", err)
	}
	out := []Server{}
	for _, s := range f.Configuration().Servers {
		out = append(out, Server{ID: string(s.ID), Address: string(s.Address), Voter: s.Suffrage == raft.Voter})
	}
	return out, f.Index(), nil
}

// AddVoter adds (or re-addresses) a voting server; only the leader can.
func (n *Node) AddVoter(id, addr string) error {
	if err := n.raft.AddVoter(raft.ServerID(id), raft.ServerAddress(addr), 0, changeTimeout).Error(); err != nil {
		return fmt.Errorf("raftstore: add voter %s at %s: %w", id, addr, err)
	}
	return nil
}

// RemoveServer removes a server by ID, or by address when id is empty;
// only the leader can.
func (n *Node) RemoveServer(id, addr string) error {
	servers, _, err := n.Configuration()
	if err != nil {
		return err
	}
	for _, s := range servers {
		if (id != "" && s.ID == id) || (id == "" && addr != "" && s.Address == addr) {
			if err := n.raft.RemoveServer(raft.ServerID(s.ID), 0, changeTimeout).Error(); err != nil {
				return fmt.Errorf("raftstore: remove server %s: %w", s.ID, err)
			}
			return nil
		}
	}
	if id != "" {
		return fmt.Errorf("%w: id %q", ErrUnknownPeer, id)
	}
	return fmt.Errorf("%w: address %q", ErrUnknownPeer, addr)
}

// ReadIndex confirms leadership with a quorum and returns the index a
// linearizable read must wait for: every write acknowledged so far has
// been applied here, at or below it.
func (n *Node) ReadIndex() (uint64, error) {
	if err := n.raft.VerifyLeader().Error(); err != nil {
		if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) {
			return 0, fmt.Errorf("%w: %v", ErrNotLeader, err)
		}
		return 0, fmt.Errorf("raftstore: verify leader: %w", err)
	}
	return n.fsm.feed.Last(), nil
}

// Stats are the figures the metrics report.
type Stats struct {
	State        string
	Term         uint64
	CommitIndex  uint64
	AppliedIndex uint64
	LastContact  time.Duration
}

// Stats reads the Raft figures now.
func (n *Node) Stats() Stats {
	return Stats{
		State:        n.raft.State().String(),
		Term:         n.raft.CurrentTerm(),
		CommitIndex:  n.raft.CommitIndex(),
		AppliedIndex: n.raft.AppliedIndex(),
		LastContact:  n.LastContact(),
	}
}
