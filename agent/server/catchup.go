package server

import (
	"time"

	"github.com/coredns-coord/coredns-coord/agent/cluster"
)

// catchUp marks this server caught up once it has applied the leader's
// read index, learned after it started. A restarted server's Raft restores
// its last snapshot and applies the log after it only as it learns the
// commit index, so until then its state lacks acknowledged writes.
func (s *Server) catchUp() {
	defer s.wg.Done()
	backoff := 50 * time.Millisecond
	for {
		err := cluster.ConsistentRead(s.ctx, s)
		if err == nil {
			s.caughtUp.Mark()
			agentLog.Infof("caught up with the cluster at index %d", s.Feed().Last())
			return
		}
		select {
		case <-s.ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}
