package server

import (
	"context"
	"sync"
	"time"

	"github.com/coredns-coord/coredns-coord/agent/cluster"
	"github.com/coredns-coord/coredns-coord/gossip"
	"github.com/coredns-coord/coredns-coord/rpc"
)

// Autopilot health, as Consul's operator/autopilot/health: a server is
// healthy when gossip sees it alive, it heard from the leader within the
// autopilot configuration's LastContactThreshold, it is in the leader's
// term and at most MaxTrailingLogs entries behind (autopilot_config.go).
const (
	statsTimeout = time.Second
	// deadServerStabilization is how long a server must have been failed
	// before autopilot removes it from the Raft configuration.
	deadServerStabilization = 10 * time.Second
)

// stableSince remembers when each server's health last changed, and when
// it last answered a stats request.
type stableSince struct {
	mu       sync.Mutex
	state    map[string]healthSince
	answered map[string]time.Time
}

// unanswered is how long ago server id last answered (since this leader
// first asked it, if never).
func (s *stableSince) unanswered(id string, ok bool, now time.Time) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.answered == nil {
		s.answered = map[string]time.Time{}
	}
	last, seen := s.answered[id]
	if ok || !seen {
		s.answered[id] = now
		last = now
	}
	return now.Sub(last)
}

type healthSince struct {
	healthy bool
	since   time.Time
}

func (s *stableSince) observe(id string, healthy bool, now time.Time) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == nil {
		s.state = map[string]healthSince{}
	}
	h, ok := s.state[id]
	if !ok || h.healthy != healthy {
		h = healthSince{healthy: healthy, since: now}
		s.state[id] = h
	}
	return h.since
}

// localStats is this server's own Raft figures.
func (s *Server) localStats() rpc.RaftServer {
	st := s.raft.Stats()
	return rpc.RaftServer{ID: s.raft.ID(), LastTerm: st.Term, LastIndex: st.AppliedIndex, LastContact: st.LastContact}
}

// autopilotHealth is computed on the leader: its configuration, each
// server's gossip status, and each server's own Raft figures asked over
// RPC (a server that does not answer in time is unhealthy).
func (s *Server) autopilotHealth() ([]rpc.RaftServer, error) {
	servers, _, err := s.raftServers()
	if err != nil {
		return nil, err
	}
	status := map[string]gossip.Status{}
	for _, m := range cluster.Servers(s.members.Members()) {
		status[m.ID] = m.Status
	}
	leader := s.localStats()
	var wg sync.WaitGroup
	for i := range servers {
		srv := &servers[i]
		if st, ok := status[srv.ID]; ok {
			srv.SerfStatus = st.String()
		} else {
			srv.SerfStatus = "none"
		}
		if srv.ID == leader.ID {
			srv.LastTerm, srv.LastIndex = leader.LastTerm, leader.LastIndex
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(s.ctx, statsTimeout)
			defer cancel()
			resp, err := s.fwd.Pool().Operator(ctx, srv.Address, &rpc.OperatorRequest{Op: cluster.OpLocalStats})
			if err != nil || resp.Error != nil || len(resp.Servers) != 1 {
				srv.NoAnswer = true
				srv.LastContact = s.stable.unanswered(srv.ID, false, time.Now())
				return
			}
			s.stable.unanswered(srv.ID, true, time.Now())
			st := resp.Servers[0]
			srv.LastTerm, srv.LastIndex, srv.LastContact = st.LastTerm, st.LastIndex, st.LastContact
		}()
	}
	wg.Wait()
	now := time.Now()
	ap := s.autopilotConfig()
	for i := range servers {
		srv := &servers[i]
		srv.Healthy = srv.SerfStatus == gossip.StatusAlive.String() &&
			!srv.NoAnswer && srv.LastContact <= time.Duration(ap.LastContactThreshold) &&
			srv.LastTerm == leader.LastTerm && srv.LastIndex+ap.MaxTrailingLogs >= leader.LastIndex
		srv.StableSince = s.stable.observe(srv.ID, srv.Healthy, now)
	}
	return servers, nil
}

// cleanupDeadServers is autopilot's dead-server cleanup: voters that
// gossip has seen failed (or does not know) for deadServerStabilization
// are removed, as long as fewer than half of the voters are removed, so
// that a partition can never shrink the quorum away.
func (s *Server) cleanupDeadServers(failedSince map[string]time.Time) {
	ap := s.autopilotConfig()
	if !ap.CleanupDeadServers {
		return
	}
	servers, _, err := s.raft.Configuration()
	if err != nil {
		return
	}
	status := map[string]gossip.Status{}
	for _, m := range cluster.Servers(s.members.Members()) {
		status[m.ID] = m.Status
	}
	now := time.Now()
	var dead []string
	voters := 0
	for _, srv := range servers {
		if !srv.Voter {
			continue
		}
		voters++
		st, ok := status[srv.ID]
		if srv.ID == s.raft.ID() || (ok && st != gossip.StatusFailed) {
			delete(failedSince, srv.ID)
			continue
		}
		since, seen := failedSince[srv.ID]
		if !seen {
			failedSince[srv.ID] = now
			continue
		}
		if now.Sub(since) >= deadServerStabilization {
			dead = append(dead, srv.ID)
		}
	}
	if len(dead) == 0 || len(dead)*2 >= voters || voters-len(dead) < int(ap.MinQuorum) {
		return
	}
	for _, id := range dead {
		if err := s.raft.RemoveServer(id, ""); err != nil {
			agentLog.Warningf("autopilot: remove dead server %s: %v", id, err)
			continue
		}
		delete(failedSince, id)
		autopilotRemoved.Inc()
		agentLog.Infof("autopilot: removed dead server %s", id)
	}
}
