package client

import (
	"time"
)

// noServerWarnInterval is how often a client agent that knows no server
// says so; a variable for tests.
var noServerWarnInterval = 30 * time.Second

// warnWithoutServers logs, every noServerWarnInterval, that this client
// agent knows no alive server, and what would give it one: a client alone
// answers nothing from the catalog and accepts no write, and would
// otherwise wait silently.
func (c *Client) warnWithoutServers() {
	defer c.wg.Done()
	tick := time.NewTicker(noServerWarnInterval)
	defer tick.Stop()
	since := time.Now()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-tick.C:
		}
		if len(c.serverAddrs()) > 0 {
			since = time.Now()
			continue
		}
		alone := time.Since(since).Round(time.Second)
		if len(c.cfg.RetryJoin) == 0 {
			agentLog.Warningf("no server for %s: this client agent has no retry_join and no server has joined it; "+
				"add `retry_join <server address>` to its coordcatalog block, or `server` to run it as a server", alone)
		} else {
			agentLog.Warningf("no server for %s: no alive server found through retry_join %v; "+
				"check those addresses, or add `server` to run this agent as a server", alone, c.cfg.RetryJoin)
		}
	}
}
