package checks

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/coredns-coord/coredns-coord/state"
	"github.com/coredns-coord/coredns-coord/structs"
)

// Alias check timing: a watch that fires nothing is re-queried anyway after
// aliasRefresh, in case an edge was missed; a store that is not there yet or
// fails is retried after aliasRetry.
var (
	aliasRefresh = time.Minute
	aliasRetry   = time.Second
)

// aliasCheck mirrors the health of a node, or of one service instance on a
// node, from the local state store, as Consul's alias check does:
//
//   - with AliasService set, the node's node-level checks and the checks of
//     that service instance count, and if the node has no such service the
//     alias is critical;
//   - with AliasService empty, the node's node-level checks count (Consul
//     skips every check that belongs to a service in this case).
//
// The worst status wins. The check itself is never counted, so a node-level
// alias of its own node does not feed on its own result.
//
// One goroutine per alias check blocks on a memdb watch set over the
// query's rows and re-evaluates when it fires; it reports once at start and
// then only when status or output change.
type aliasCheck struct {
	checkID   string
	node      string
	serviceID string
	self      bool // node is this agent's own node
	state     func() *state.Store
	gate      *gate

	mu      sync.Mutex
	started bool
	stopped bool
	cancel  context.CancelFunc
}

func newAlias(ct *structs.CheckType, g *gate, opts Options) (*aliasCheck, error) {
	if opts.State == nil {
		return nil, errors.New("checks: alias check needs the state store")
	}
	node := ct.AliasNode
	if node == "" {
		node = opts.Node
	}
	if node == "" {
		return nil, errors.New("checks: alias check without alias_node needs the agent's node name")
	}
	return &aliasCheck{
		checkID:   g.id,
		node:      node,
		serviceID: ct.AliasService,
		self:      strings.EqualFold(node, opts.Node),
		state:     opts.State,
		gate:      g,
	}, nil
}

func (a *aliasCheck) Start() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.started || a.stopped {
		return
	}
	a.started = true
	ctx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	go a.loop(ctx)
}

func (a *aliasCheck) Stop() {
	a.mu.Lock()
	if a.stopped {
		a.mu.Unlock()
		return
	}
	a.stopped = true
	if a.cancel != nil {
		a.cancel()
	}
	a.mu.Unlock()
	a.gate.close()
}

func (a *aliasCheck) loop(ctx context.Context) {
	var lastStatus, lastOutput string
	reported := false
	for {
		ws := memdb.NewWatchSet()
		status, output, err := a.evaluate(ws)
		wait := aliasRefresh
		switch {
		case err != nil:
			log.Warningf("alias check %q: %v", a.checkID, err)
			ws, wait = nil, aliasRetry
		case !reported || status != lastStatus || output != lastOutput:
			if !a.gate.send(status, output) {
				return
			}
			reported, lastStatus, lastOutput = true, status, output
		}
		wctx, cancel := context.WithTimeout(ctx, wait)
		if ws != nil {
			_ = ws.WatchCtx(wctx)
		} else {
			<-wctx.Done()
		}
		cancel()
		if ctx.Err() != nil {
			return
		}
	}
}

// evaluate computes the alias's status from the store, adding what it read
// to ws.
func (a *aliasCheck) evaluate(ws memdb.WatchSet) (status, output string, err error) {
	st := a.state()
	if st == nil {
		return "", "", errors.New("no state store yet")
	}
	_, checks, err := st.NodeChecks(ws, a.node)
	if err != nil {
		return "", "", err
	}
	if a.serviceID != "" {
		_, ns, err := st.NodeServices(ws, a.node)
		if err != nil {
			return "", "", err
		}
		if ns == nil || ns.Services[a.serviceID] == nil {
			return structs.HealthCritical, fmt.Sprintf("Service %s could not be found on node %s", a.serviceID, a.node), nil
		}
	}
	status, output = structs.HealthPassing, "No checks found."
	for _, chk := range checks {
		if chk.ServiceID != "" && chk.ServiceID != a.serviceID {
			continue
		}
		if a.self && chk.CheckID == a.checkID {
			continue
		}
		switch chk.Status {
		case structs.HealthCritical:
			return structs.HealthCritical, fmt.Sprintf("Aliased check %q failing: %s", chk.Name, chk.Output), nil
		case structs.HealthWarning:
			if status != structs.HealthWarning {
				status, output = structs.HealthWarning, fmt.Sprintf("Aliased check %q failing: %s", chk.Name, chk.Output)
			}
		default:
			if status == structs.HealthPassing {
				output = "All checks passing."
			}
		}
	}
	return status, output, nil
}
