import { h, replace, link, enc, counts, countChecks, table, meta, checksTable, dl, tags, message, filteredNote, title } from './dom.js';
import { watch } from './api.js';

// nodesPage lists nodes with their check counts and services.
export function nodesPage(main, route) {
  const msg = h('p');
  const list = h('div');
  replace(main, title('Nodes'), msg, list);
  watch('/v1/internal/ui/nodes', {
    signal: route.signal,
    onData: (nodes, r) => {
      filteredNote(msg, r, 'nodes');
      replace(list, table(`${nodes.length} nodes`, ['Node', 'Address', 'Datacenter', 'Checks', 'Services'],
        nodes.map((n) => {
          const c = countChecks(n.Checks);
          const names = [...new Set(n.Services.map((s) => s.Service))].sort();
          return [link('/nodes/' + enc(n.Node), n.Node), n.Address, n.Datacenter,
            counts(c.passing, c.warning, c.critical),
            names.length ? h('ul', { class: 'tags' }, names.map((s) => h('li', null, link('/services/' + enc(s), s))))
              : h('span', { class: 'muted' }, '—')];
        })));
    },
    onError: (e) => message(msg, 'error', e.message),
  });
}

// nodePage shows one node: its addresses, services, checks and sessions.
export function nodePage(main, route) {
  const name = route.item;
  const msg = h('p');
  const info = h('div');
  const services = h('section', null, h('h2', null, 'Services'));
  const checks = h('section', null, h('h2', null, 'Checks'));
  const sessions = h('section', null, h('h2', null, 'Sessions'));
  replace(main, h('p', { class: 'crumbs' }, link('/nodes', 'Nodes'), ' / '), title(name), msg, info, services, checks, sessions);
  const onError = (e) => message(msg, 'error', e.message);
  const path = enc(name);
  watch('/v1/catalog/node/' + path, {
    signal: route.signal, onError,
    onData: (ns) => {
      if (!ns) {
        message(msg, 'error', 'No such node.');
        replace(info);
        return;
      }
      message(msg, '');
      const n = ns.Node;
      replace(info, dl([['Address', n.Address], ['Datacenter', n.Datacenter], ['ID', n.ID || '—'],
        ['Tagged addresses', meta(n.TaggedAddresses)], ['Meta', meta(n.Meta)]]));
      const list = Object.values(ns.Services || {}).sort((a, b) => a.ID.localeCompare(b.ID));
      replace(services, h('h2', null, 'Services'), list.length
        ? table(`Services on ${name}`, ['Service', 'ID', 'Port', 'Tags'],
          list.map((s) => [link('/services/' + enc(s.Service), s.Service), s.ID, String(s.Port), tags(s.Tags)]))
        : h('p', { class: 'muted' }, 'No services.'));
    },
  });
  watch('/v1/health/node/' + path, {
    signal: route.signal, onError,
    onData: (list) => replace(checks, h('h2', null, 'Checks'), checksTable(`Checks of ${name}`, list)),
  });
  watch('/v1/session/node/' + path, {
    signal: route.signal, onError,
    onData: (list) => replace(sessions, h('h2', null, 'Sessions'), list.length
      ? h('ul', null, list.map((s) => h('li', null, link('/sessions/' + enc(s.ID), s.Name || s.ID))))
      : h('p', { class: 'muted' }, 'No sessions.')),
  });
}
