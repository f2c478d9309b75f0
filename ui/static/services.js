import { h, replace, link, enc, counts, tags, table, meta, checksTable, dl, message, filteredNote, title } from './dom.js';
import { watch } from './api.js';

// servicesPage lists services with their health; the filter box matches
// names and tags, and is kept in the URL (#/services?filter=x).
export function servicesPage(main, route) {
  const filter = h('input', { type: 'search', id: 'filter', value: route.query.get('filter') || '', autocomplete: 'off' });
  const msg = h('p');
  const list = h('div');
  replace(main, title('Services'),
    h('form', { role: 'search', class: 'filter', onsubmit: (e) => e.preventDefault() },
      h('label', { for: 'filter' }, 'Filter by name or tag'), filter),
    msg, list);
  let services = null;
  const show = () => {
    if (!services) return;
    const f = filter.value.trim().toLowerCase();
    const shown = services.filter((s) => !f || s.Name.toLowerCase().includes(f) || s.Tags.some((t) => t.toLowerCase().includes(f)));
    replace(list, shown.length ? table(`${shown.length} of ${services.length} services`, ['Service', 'Health', 'Instances', 'Tags'],
      shown.map((s) => [link('/services/' + enc(s.Name), s.Name),
        counts(s.ChecksPassing, s.ChecksWarning, s.ChecksCritical), String(s.InstanceCount), tags(s.Tags)]))
      : h('p', null, services.length ? 'No service matches the filter.' : 'No services registered.'));
  };
  filter.addEventListener('input', () => {
    const q = filter.value ? '?filter=' + enc(filter.value) : '';
    history.replaceState(null, '', '#/services' + q);
    show();
  });
  watch('/v1/internal/ui/services', {
    signal: route.signal,
    onData: (data, r) => { services = data; filteredNote(msg, r, 'services'); show(); },
    onError: (e) => message(msg, 'error', e.message),
  });
}

// servicePage shows every instance of one service with its checks.
export function servicePage(main, route) {
  const name = route.item;
  const msg = h('p');
  const list = h('div');
  replace(main, h('p', { class: 'crumbs' }, link('/services', 'Services'), ' / '), title(name), msg, list);
  watch('/v1/health/service/' + enc(name), {
    signal: route.signal,
    onData: (entries, r) => {
      message(msg, '', `${entries.length} instance${entries.length === 1 ? '' : 's'}`,
        r.filtered ? '; some are hidden: the token may not read them.' : '');
      replace(list, entries.map((e) => h('section', { class: 'card' },
        h('h2', null, e.Service.ID),
        dl([
          ['Node', link('/nodes/' + enc(e.Node.Node), e.Node.Node)],
          ['Address', e.Service.Address || e.Node.Address],
          ['Port', String(e.Service.Port)],
          ['Tags', tags(e.Service.Tags)],
          ['Meta', meta(e.Service.Meta)],
        ]),
        checksTable(`Checks of ${e.Service.ID}`, e.Checks))));
    },
    onError: (e) => message(msg, 'error', e.message),
  });
}
