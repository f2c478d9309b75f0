package agent

import (
	"errors"
	"fmt"
	"log"
	"net"
	"path/filepath"
	"strconv"
	"time"

	"github.com/coredns-coord/coredns-coord/agent/cluster"
	"github.com/coredns-coord/coredns-coord/gossip"
)

// Gossip tags, as Consul's serf tags (see package cluster).
const (
	tagRole      = cluster.TagRole
	tagID        = cluster.TagID
	tagPort      = cluster.TagPort
	tagExpect    = cluster.TagExpect
	roleServer   = cluster.RoleServer
	roleClient   = cluster.RoleClient
	leaveTimeout = 5 * time.Second
)

// retryJoinInterval paces retry_join; a LAN agent usually finds its peers
// on the first or second try.
const (
	retryJoinMin = time.Second
	retryJoinMax = 30 * time.Second
)

func (a *Agent) startGossip() error {
	cfg := gossip.Config{
		NodeName:         a.cfg.NodeName,
		Datacenter:       a.cfg.Datacenter,
		BindAddr:         a.cfg.BindAddr,
		BindPort:         a.cfg.SerfLANPort,
		AdvertiseAddr:    a.cfg.Advertise(),
		ReconnectTimeout: a.cfg.ReconnectTimeout,
		Tags:             a.gossipTags(),
		Tuning:           gossip.DefaultLANTuning(),
		// The process's logger already stamps the time.
		Logger: log.New(log.Writer(), "", 0),
	}
	if a.cfg.Encrypt != "" {
		key, err := gossip.DecodeKey(a.cfg.Encrypt)
		if err != nil {
			return fmt.Errorf("agent: encrypt: %w", err)
		}
		cfg.Keyring = [][]byte{key}
	}
	if a.cfg.DataDir != "" {
		cfg.KeyringFile = filepath.Join(a.cfg.DataDir, "serf", "local.keyring")
		cfg.SnapshotPath = filepath.Join(a.cfg.DataDir, "serf", "local.snapshot")
	}
	p, err := gossip.Create(cfg)
	if err != nil {
		return fmt.Errorf("agent: gossip: %w", err)
	}
	a.gossip = p
	a.wg.Add(1)
	go a.gossipLoop()
	if len(a.cfg.RetryJoin) > 0 {
		a.wg.Add(1)
		go a.retryJoin()
	}
	return nil
}

func (a *Agent) gossipTags() map[string]string {
	tags := map[string]string{tagRole: roleClient, tagID: a.nodeID}
	if a.cfg.Server {
		tags[tagRole] = roleServer
		tags[tagPort] = strconv.Itoa(a.cfg.ServerPort)
		tags[tagExpect] = strconv.Itoa(a.cfg.BootstrapExpect)
	}
	return tags
}

// gossipLoop tells the role of membership changes (a server's leader
// reconciles the catalog, a client refreshes its server list) and turns
// user events into the agent's event list.
func (a *Agent) gossipLoop() {
	defer a.wg.Done()
	for {
		select {
		case <-a.stopCh:
			return
		case ev := <-a.gossip.Events():
			a.role.MemberChanged(ev.Member)
		case ue := <-a.gossip.UserEvents():
			a.receiveEvent(ue)
		}
	}
}

func (a *Agent) retryJoin() {
	defer a.wg.Done()
	backoff := retryJoinMin
	for attempt := 1; ; attempt++ {
		n, err := a.gossip.Join(a.joinAddrs(a.cfg.RetryJoin))
		if err == nil {
			agentLog.Infof("retry_join: joined %d agent(s)", n)
			return
		}
		agentLog.Warningf("retry_join attempt %d: %v; retrying in %s", attempt, err, backoff)
		select {
		case <-a.stopCh:
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, retryJoinMax)
	}
}

// joinAddrs adds the LAN gossip port to addresses given without one.
func (a *Agent) joinAddrs(addrs []string) []string {
	out := make([]string, len(addrs))
	for i, s := range addrs {
		if _, _, err := net.SplitHostPort(s); err == nil {
			out[i] = s
		} else {
			out[i] = net.JoinHostPort(s, strconv.Itoa(DefaultSerfLAN))
		}
	}
	return out
}

// Join joins the gossip pool through the given addresses (agent/join).
func (a *Agent) Join(addrs []string) (int, error) { return a.gossip.Join(a.joinAddrs(addrs)) }

// Members lists the LAN pool's members as this agent sees them, by name.
func (a *Agent) Members() []gossip.Member { return a.gossip.Members() }

// LocalMember is this agent's own member entry.
func (a *Agent) LocalMember() gossip.Member { return a.gossip.LocalMember() }

// ForceLeave marks a failed member as left (prune: forget it at once).
// Naming this agent itself changes nothing: Consul accepts it and the
// live member refutes the leave at once, so we answer the same without
// the round trip.
func (a *Agent) ForceLeave(node string, prune bool) error {
	if node == a.cfg.NodeName {
		agentLog.Infof("force-leave of %q ignored: it is this agent, and alive", node)
		return nil
	}
	return a.gossip.ForceLeave(node, prune)
}

// Keyring is the gossip pool, for key operations (operator/keyring).
func (a *Agent) Keyring() *gossip.Pool { return a.gossip }

// Leave leaves the pool gracefully: the leader deregisters this node (and a
// server is removed from Raft). The agent keeps running until stopped.
func (a *Agent) Leave() error {
	if a.left.Swap(true) {
		return nil
	}
	if err := a.gossip.Leave(leaveTimeout); err != nil && !errors.Is(err, gossip.ErrLeft) {
		return err
	}
	return nil
}
