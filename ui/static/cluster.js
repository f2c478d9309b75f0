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

  async function load() {
    try {
      const [m, r, a] = await Promise.all([
        request('GET', '/v1/agent/members', { signal }),
        request('GET', '/v1/operator/raft/configuration', { signal }),
        // 429 is autopilot's answer when the cluster is unhealthy.
        request('GET', '/v1/operator/autopilot/health', { signal, ok: [429] }),
      ]);
      message(msg, '');
      replace(members, h('h2', null, 'Members'), table(`${m.data.length} members (LAN)`, ['Name', 'Address', 'Status', 'Role', 'Datacenter'],
        m.data.map((x) => [x.Name, `${x.Addr}:${x.Port}`, memberState(x.Status), roles[x.Tags.role] || x.Tags.role || '—', x.Tags.dc || '—'])));
      replace(raft, h('h2', null, 'Raft servers'), table('Raft configuration', ['Node', 'ID', 'Address', 'Leader', 'Voter'],
        r.data.Servers.map((s) => [s.Node, s.ID, s.Address, s.Leader ? h('strong', null, 'leader') : 'follower', s.Voter ? 'yes' : 'no'])));
      const hd = a.data;
      replace(health, h('h2', null, 'Autopilot health'),
        h('p', null, hd.Healthy ? status('passing') : status('critical'), ` ${hd.Healthy ? 'Healthy' : 'Unhealthy'}; failure tolerance ${hd.FailureTolerance}`),
        table('Servers as autopilot sees them', ['Name', 'Healthy', 'Voter', 'Last contact', 'Last term', 'Last index'],
          (hd.Servers || []).map((s) => [s.Name, s.Healthy ? status('passing') : status('critical'), s.Voter ? 'yes' : 'no',
            s.LastContact, String(s.LastTerm), String(s.LastIndex)])));
    } catch (e) {
      if (!signal.aborted) message(msg, 'error', e.message);
    }
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
