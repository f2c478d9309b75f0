package raftstore

import (
	"fmt"

	"github.com/hashicorp/raft"
)

// TransferLeadership hands leadership to the server with ID id, or to the
// most up-to-date follower when id is empty; only the leader can. It
// returns once the transfer has succeeded or failed.
func (n *Node) TransferLeadership(id string) error {
	if id == "" {
		if err := n.raft.LeadershipTransfer().Error(); err != nil {
			return fmt.Errorf("raftstore: leadership transfer: %w", err)
		}
		return nil
	}
	servers, _, err := n.Configuration()
	if err != nil {
		return err
	}
	for _, s := range servers {
		if s.ID != id {
			continue
		}
		if !s.Voter {
			return fmt.Errorf("raftstore: leadership transfer: server %s is not a voter", id)
		}
		f := n.raft.LeadershipTransferToServer(raft.ServerID(s.ID), raft.ServerAddress(s.Address))
		if err := f.Error(); err != nil {
			return fmt.Errorf("raftstore: leadership transfer to %s: %w", id, err)
		}
		return nil
	}
	return fmt.Errorf("%w: id %q", ErrUnknownPeer, id)
}
