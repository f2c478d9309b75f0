package agent

import (
	"context"
	"sync"
	"time"

	"github.com/coredns-coord/coredns-coord/gossip"
	"github.com/coredns-coord/coredns-coord/rpc"
)

// Autopilot health, as Consul's operator/autopilot/health: a server is
// healthy when gossip sees it alive, it heard from the leader within the
// autopilot configuration's LastContactThreshold, it is in the leader's
// term and at most MaxTrailingLogs entries behind.
const statsTimeout = time.Second

const (
	opAutopilotHealth = "autopilot-health"
	opLocalStats      = "local-stats"
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
func (a *Agent) localStats() rpc.RaftServer {
	st := a.raft.Stats()
	return rpc.RaftServer{ID: a.raft.ID(), LastTerm: st.Term, LastIndex: st.AppliedIndex, LastContact: st.LastContact}
}

// autopilotHealth is computed on the leader: its configuration, each
// server's gossip status, and each server's own Raft figures asked over
// RPC (a server that does not answer in time is unhealthy).
func (a *Agent) autopilotHealth() ([]rpc.RaftServer, error) {
	servers, _, err := a.raftServers()
	if err != nil {
		return nil, err
	}
	status := map[string]gossip.Status{}
	for _, s := range a.servers() {
		status[s.ID] = s.Status
	}
	leader := a.localStats()
	var wg sync.WaitGroup
	for i := range servers {
		s := &servers[i]
		if st, ok := status[s.ID]; ok {
			s.SerfStatus = st.String()
		} else {
			s.SerfStatus = "none"
		}
		if s.ID == leader.ID {
			s.LastTerm, s.LastIndex = leader.LastTerm, leader.LastIndex
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(a.stopCtx, statsTimeout)
			defer cancel()
			resp, err := a.pool.Operator(ctx, s.Address, &rpc.OperatorRequest{Op: opLocalStats})
			if err != nil || resp.Error != nil || len(resp.Servers) != 1 {
				s.NoAnswer = true
				s.LastContact = a.stable.unanswered(s.ID, false, time.Now())
				return
			}
			a.stable.unanswered(s.ID, true, time.Now())
			st := resp.Servers[0]
			s.LastTerm, s.LastIndex, s.LastContact = st.LastTerm, st.LastIndex, st.LastContact
		}()
	}
	wg.Wait()
	now := time.Now()
	ap := a.autopilotConfig()
	for i := range servers {
		s := &servers[i]
		s.Healthy = s.SerfStatus == gossip.StatusAlive.String() &&
			!s.NoAnswer && s.LastContact <= time.Duration(ap.LastContactThreshold) &&
			s.LastTerm == leader.LastTerm && s.LastIndex+ap.MaxTrailingLogs >= leader.LastIndex
		s.StableSince = a.stable.observe(s.ID, s.Healthy, now)
	}
	return servers, nil
}

// AutopilotHealth reports every server's health as the leader sees it and
// the cluster's failure tolerance (healthy voters beyond the quorum).
func (a *Agent) AutopilotHealth() (servers []rpc.RaftServer, healthy bool, tolerance int, err error) {
	resp, err := a.operator(&rpc.OperatorRequest{Op: opAutopilotHealth})
	if err != nil {
		return nil, false, 0, err
	}
	voters, healthyVoters := 0, 0
	healthy = true
	for _, s := range resp.Servers {
		if !s.Healthy {
			healthy = false
		}
		if s.Voter {
			voters++
			if s.Healthy {
				healthyVoters++
			}
		}
	}
	return resp.Servers, healthy, max(0, healthyVoters-(voters/2+1)), nil
}
