import { h, replace, link, enc, table, dl, message, confirmButton, title } from './dom.js';
import { request, watch } from './api.js';
import { kvLink } from './kv.js';

// Locks are the KV entries a session holds. There is no index by session,
// so the pages read the whole store's entries (values included).
function locksBy(entries) {
  const out = new Map();
  for (const e of Array.isArray(entries) ? entries : []) {
    if (!e.Session) continue;
    if (!out.has(e.Session)) out.set(e.Session, []);
    out.get(e.Session).push(e.Key);
  }
  return out;
}

function invalidate(s, msg) {
  return confirmButton('Invalidate', `Invalidate session ${s.Name || s.ID}? Its locks are released or deleted (behavior ${s.Behavior}).`,
    async () => {
      try {
        await request('PUT', '/v1/session/destroy/' + enc(s.ID));
        message(msg, 'ok', `Session ${s.ID} invalidated.`);
      } catch (e) {
        message(msg, 'error', e.message);
      }
    });
}

function locksList(keys) {
  return keys && keys.length ? h('ul', { class: 'tags' }, keys.map((k) => h('li', null, kvLink(k, k)))) : h('span', { class: 'muted' }, 'none');
}

// watchLocks keeps locks current and calls show after each change.
function watchLocks(route, msg, show) {
  let locks = new Map();
  watch('/v1/kv/', {
    signal: route.signal, params: { recurse: true }, ok: [404],
    onError: (e) => message(msg, 'error', e.message),
    onData: (entries) => { locks = locksBy(entries); show(); },
  });
  return () => locks;
}

// sessionsPage lists sessions grouped by node, with their locks.
export function sessionsPage(main, route) {
  const msg = h('p');
  const list = h('div');
  replace(main, title('Sessions and locks'), msg, list);
  let sessions = null;
  const show = () => {
    if (!sessions) return;
    if (!sessions.length) {
      replace(list, h('p', { class: 'muted' }, 'No sessions.'));
      return;
    }
    const byNode = new Map();
    for (const s of sessions) {
      if (!byNode.has(s.Node)) byNode.set(s.Node, []);
      byNode.get(s.Node).push(s);
    }
    replace(list, [...byNode.keys()].sort().map((node) => h('section', null,
      h('h2', null, 'Node ', link('/nodes/' + enc(node), node)),
      table(`Sessions on ${node}`, ['Session', 'Behavior', 'TTL', 'Locks', 'Action'],
        byNode.get(node).map((s) => [link('/sessions/' + enc(s.ID), s.Name || s.ID), s.Behavior, s.TTL || '—',
          locksList(locks().get(s.ID)), invalidate(s, msg)])))));
  };
  const locks = watchLocks(route, msg, show);
  watch('/v1/session/list', {
    signal: route.signal,
    onError: (e) => message(msg, 'error', e.message),
    onData: (data) => { sessions = data; show(); },
  });
}

// sessionPage shows one session and its locks.
export function sessionPage(main, route) {
  const id = route.item;
  const msg = h('p');
  const info = h('div');
  replace(main, h('p', { class: 'crumbs' }, link('/sessions', 'Sessions'), ' / '), title(`Session ${id}`), msg, info);
  let session;
  const show = () => {
    if (session === undefined) return;
    if (session === null) {
      replace(info, h('p', null, 'This session does not exist (it was invalidated or expired).'));
      return;
    }
    const s = session;
    replace(info, dl([['Name', s.Name || '—'], ['Node', link('/nodes/' + enc(s.Node), s.Node)], ['Behavior', s.Behavior],
      ['TTL', s.TTL || '—'], ['Lock delay', `${(s.LockDelay || 0) / 1e9}s`],
      ['Checks', (s.NodeChecks || s.Checks || []).join(', ') || '—'], ['Locks', locksList(locks().get(s.ID))]]),
    h('p', null, invalidate(s, msg)));
  };
  const locks = watchLocks(route, msg, show);
  watch('/v1/session/info/' + enc(id), {
    signal: route.signal,
    onError: (e) => message(msg, 'error', e.message),
    onData: (data) => { session = Array.isArray(data) && data.length ? data[0] : null; show(); },
  });
}
