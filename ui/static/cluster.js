import { h, replace, table, message, status, title } from './dom.js';
import { request, watch } from './api.js';

const memberStatus = ['none', 'alive', 'leaving', 'left', 'failed'];
// Gossip's role tag: Consul's servers carry "consul", clients "node".
const roles = { consul: 'server', node: 'client' };

// clusterPage shows the gossip members, the Raft configuration and
// autopilot's health. None of those reads blocks, so the page re-reads
// them whenever the catalog's checks change (a member joining, leaving or
// failing changes its serfHealth check) and on Refresh.
export function clusterPage(main, route) {
  const msg = h('p');
  const members = h('section', null, h('h2', null, 'Members'));
  const raft = h('section', null, h('h2', null, 'Raft servers'));
  const health = h('section', null, h('h2', null, 'Autopilot health'));
  const refresh = h('button', { type: 'button', onclick: () => load() }, 'Refresh');
  replace(main, title('Cluster'), h('p', null, refresh), msg, members, raft, health);
  const { signal } = route;

  // Each section is read and shown on its own: a token may read the
  // members (node:read) and not the Raft configuration (operator:read).
  const section = (el, heading, read, render) => read.then((r) => {
    if (!signal.aborted) replace(el, h('h2', null, heading), render(r.data));
  }, (e) => {
    if (!signal.aborted) replace(el, h('h2', null, heading), h('p', { class: 'message error', role: 'alert' }, e.message));
  });

  function load() {
    message(msg, '');
    section(members, 'Members', request('GET', '/v1/agent/members', { signal }),
      (m) => table(`${m.length} members (LAN)`, ['Name', 'Address', 'Status', 'Role', 'Datacenter'],
        m.map((x) => [x.Name, `${x.Addr}:${x.Port}`, memberState(x.Status), roles[x.Tags.role] || x.Tags.role || '—', x.Tags.dc || '—'])));
    section(raft, 'Raft servers', request('GET', '/v1/operator/raft/configuration', { signal }),
      (r) => table('Raft configuration', ['Node', 'ID', 'Address', 'Leader', 'Voter'],
        r.Servers.map((s) => [s.Node, s.ID, s.Address, s.Leader ? h('strong', null, 'leader') : 'follower', s.Voter ? 'yes' : 'no'])));
    // 429 is autopilot's answer when the cluster is unhealthy.
    section(health, 'Autopilot health', request('GET', '/v1/operator/autopilot/health', { signal, ok: [429] }),
      (hd) => [h('p', null, hd.Healthy ? status('passing') : status('critical'), ` ${hd.Healthy ? 'Healthy' : 'Unhealthy'}; failure tolerance ${hd.FailureTolerance}`),
        table('Servers as autopilot sees them', ['Name', 'Healthy', 'Voter', 'Last contact', 'Last term', 'Last index'],
          (hd.Servers || []).map((s) => [s.Name, s.Healthy ? status('passing') : status('critical'), s.Voter ? 'yes' : 'no',
            s.LastContact, String(s.LastTerm), String(s.LastIndex)]))]);
  }

  watch('/v1/health/state/any', {
    signal,
    onError: (e) => message(msg, 'error', e.message),
    onData: () => load(),
  });
}

function memberState(code) {
  const name = memberStatus[code] || String(code);
  const kind = name === 'alive' ? 'passing' : name === 'leaving' || name === 'left' ? 'warning' : 'critical';
  return h('span', { class: 'status ' + kind }, name);
}
