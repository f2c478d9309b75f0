package server

import (
	"fmt"
	"time"
)

// catchUp marks this server caught up once it has applied the leader's
// read index, learned after it started. A restarted server's Raft restores
// its last snapshot and applies the log after it only as it learns the
// commit index, so until then its state lacks acknowledged writes.
func (s *Server) catchUp() {
	defer s.wg.Done()
	backoff := 50 * time.Millisecond
	for {
		err := s.consistentRead()
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

// consistentRead waits until the local state has applied the leader's
// read index.
func (s *Server) consistentRead() error {
	idx, err := s.ReadIndex()
	if err != nil {
		return err
	}
	if err := s.Feed().WaitFor(s.ctx, idx); err != nil {
		return fmt.Errorf("agent: wait for index %d: %w", idx, err)
	}
	return nil
}
