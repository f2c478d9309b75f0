package e2e

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/miekg/dns"
)

// cluster is several coredns-coord processes on their own loopback
// addresses (127.0.0.10 and up), every one with retry_join to all servers.
type cluster struct {
	t       testing.TB
	servers []*node
	clients []*node
	procs   map[*node]*proc
}

// newCluster starts servers (bootstrap_expect = servers) and clients and
// waits until every agent is ready. extra goes into every coordcatalog
// block.
func newCluster(t testing.TB, servers, clients int, extra string) *cluster {
	t.Helper()
	return newClusterEach(t, servers, clients, func(*node) string { return extra })
}

// newClusterEach is newCluster with the extra coordcatalog lines of each
// node (named, bound and joined by then) from extra.
func newClusterEach(t testing.TB, servers, clients int, extra func(*node) string) *cluster {
	t.Helper()
	c := &cluster{t: t, procs: map[*node]*proc{}}
	for i := 0; i < servers+clients; i++ {
		n := newNode(t)
		n.Bind = fmt.Sprintf("127.0.0.%d", 10+i)
		n.DataDir = filepath.Join(t.TempDir(), "data")
		n.Expect = servers
		if i < servers {
			n.Name = fmt.Sprintf("s%d", i+1)
			c.servers = append(c.servers, n)
		} else {
			n.Name = fmt.Sprintf("c%d", i-servers+1)
			n.Client = true
			c.clients = append(c.clients, n)
		}
	}
	for _, n := range c.all() {
		for _, s := range c.servers {
			if s != n {
				n.Join = append(n.Join, s.serfAddr())
			}
		}
	}
	for _, n := range c.all() {
		n.Extra = extra(n)
		c.procs[n] = launch(t, n)
	}
	for _, n := range c.all() {
		c.procs[n].waitReady()
	}
	return c
}

func (n *node) serfAddr() string   { return net.JoinHostPort(n.Bind, strconv.Itoa(n.Serf)) }
func (n *node) serverAddr() string { return net.JoinHostPort(n.Bind, strconv.Itoa(n.Raft)) }

func (c *cluster) all() []*node { return append(append([]*node{}, c.servers...), c.clients...) }

// alive are the nodes whose process runs.
func (c *cluster) alive() []*node {
	var out []*node
	for _, n := range c.all() {
		select {
		case <-c.procs[n].exited:
		default:
			out = append(out, n)
		}
	}
	return out
}

func (c *cluster) kill(n *node) { c.procs[n].kill() }

// restart starts n again on its data directory and waits until it is ready.
func (c *cluster) restart(n *node) {
	c.procs[n] = launch(c.t, n)
	c.procs[n].waitReady()
}

// leader is the running server that leads, as every running server
// agrees (right after a kill they may still name the dead one).
func (c *cluster) leader() *node {
	c.t.Helper()
	var found *node
	waitFor(c.t, "one leader that every running server reports", func() bool {
		found = nil
		addr := ""
		for _, n := range c.alive() {
			if n.Client {
				continue
			}
			l, err := n.client(c.t).Status().Leader()
			if err != nil || l == "" || (addr != "" && l != addr) {
				return false
			}
			addr = l
		}
		for _, s := range c.alive() {
			if !s.Client && s.serverAddr() == addr {
				found = s
			}
		}
		return found != nil
	})
	return found
}

// followers are the running servers that do not lead.
func (c *cluster) followers(leader *node) []*node {
	var out []*node
	for _, n := range c.alive() {
		if !n.Client && n != leader {
			out = append(out, n)
		}
	}
	return out
}

// dnsA returns the A records of name on n, sorted as given.
func dnsA(t testing.TB, n *node, name string) []string {
	r, err := exchange(n, "udp", name, dns.TypeA)
	if err != nil || r.Rcode != dns.RcodeSuccess {
		return nil
	}
	var out []string
	for _, rr := range r.Answer {
		if a, ok := rr.(*dns.A); ok {
			out = append(out, a.A.String())
		}
	}
	return out
}

// waitAll waits until cond holds on every given node and returns, for each,
// how long after the start it first did (polled every millisecond).
func waitAll(t testing.TB, what string, nodes []*node, limit time.Duration, cond func(*node) bool) map[string]time.Duration {
	t.Helper()
	start := time.Now()
	out := map[string]time.Duration{}
	for time.Since(start) < limit && len(out) < len(nodes) {
		for _, n := range nodes {
			if _, ok := out[n.Name]; !ok && cond(n) {
				out[n.Name] = time.Since(start)
			}
		}
		time.Sleep(time.Millisecond)
	}
	if len(out) < len(nodes) {
		var missing []string
		for _, n := range nodes {
			if _, ok := out[n.Name]; !ok {
				missing = append(missing, n.Name)
			}
		}
		t.Fatalf("%s: not on %s after %s", what, strings.Join(missing, ", "), limit)
	}
	return out
}

// nodeID is the node ID an agent keeps in its data directory.
func nodeID(t testing.TB, n *node) string {
	b, err := os.ReadFile(filepath.Join(n.DataDir, "node-id"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// members returns the member statuses n's agent sees, by name.
func members(t testing.TB, n *node) map[string]int {
	ms, err := n.client(t).Agent().Members(false)
	if err != nil {
		return nil
	}
	out := map[string]int{}
	for _, m := range ms {
		out[m.Name] = m.Status
	}
	return out
}

// serfStatus is the status of node's serfHealth check as n's catalog has it.
func serfStatus(t testing.TB, n *node, node string) string {
	checks, _, err := n.client(t).Health().Node(node, &api.QueryOptions{AllowStale: true})
	if err != nil {
		return ""
	}
	for _, hc := range checks {
		if hc.CheckID == "serfHealth" {
			return hc.Status
		}
	}
	return ""
}

// metricValue reads one sample (name with its labels, sorted as the
// exposition writes them) from n's scrape.
func metricValue(t testing.TB, n *node, sample string) float64 {
	return metricSum(n.scrape(t), sample)
}
