// The router: the part of the URL after # names the page (#/services,
// #/services/web, #/kv/a/b/), so every page has a link of its own. A page
// is a function (main, route) that fills main and keeps it current until
// route.signal aborts, which happens when the user leaves the page.
import { h, replace } from './dom.js';
import { datacenter, request } from './api.js';
import { servicesPage, servicePage } from './services.js';
import { nodesPage, nodePage } from './nodes.js';
import { kvPage } from './kv.js';
import { sessionsPage, sessionPage } from './sessions.js';
import { clusterPage } from './cluster.js';
import { tokenPage, tokenBadge } from './token.js';

// routes: section → [page for the list, page for one item].
const routes = {
  services: [servicesPage, servicePage],
  nodes: [nodesPage, nodePage],
  kv: [kvPage, kvPage],
  sessions: [sessionsPage, sessionPage],
  cluster: [clusterPage, clusterPage],
  token: [tokenPage, tokenPage],
};

let current = null;

function parse() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, query = ''] = raw.split('?');
  const slash = path.indexOf('/');
  const section = slash < 0 ? path : path.slice(0, slash);
  const rest = slash < 0 ? '' : path.slice(slash + 1);
  // KV keys keep their slashes; other item names are one segment.
  const item = section === 'kv' ? rest.split('/').map(decodeURIComponent).join('/') : decodeURIComponent(rest);
  return { section, item, query: new URLSearchParams(query) };
}

function navigate() {
  const route = parse();
  if (!routes[route.section]) {
    location.replace('#/services');
    return;
  }
  if (current) current.abort();
  current = new AbortController();
  route.signal = current.signal;
  for (const a of document.querySelectorAll('nav a[data-section]')) {
    if (a.dataset.section === route.section) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const main = document.getElementById('main');
  replace(main, h('p', null, 'Loading…'));
  const [list, one] = routes[route.section];
  (route.item || route.section === 'kv' ? one : list)(main, route);
  // Focus moves to the new content so keyboard and screen reader users
  // start there; a first load keeps the focus where the browser put it.
  if (navigated) main.focus({ preventScroll: false });
  navigated = true;
}
let navigated = false;

async function datacenters() {
  const select = document.getElementById('dc');
  const here = datacenter();
  try {
    // Asked of the agent's own datacenter: the list is the same from all.
    const { data } = await request('GET', '/v1/catalog/datacenters', { params: { dc: '' } });
    const list = data.includes(here) || !here ? data : [here, ...data];
    replace(select, list.map((dc) => h('option', { value: dc }, dc)));
    select.value = here || data[0];
  } catch {
    replace(select, h('option', null, here || '?'));
  }
}

document.getElementById('dc').addEventListener('change', (e) => {
  const q = new URLSearchParams(location.search);
  q.set('dc', e.target.value);
  location.search = q.toString(); // reloads every page with ?dc
});

window.addEventListener('hashchange', navigate);
// Leaving the document ends its blocking queries at once: the browser
// allows only six connections to the agent, long polls included.
window.addEventListener('pagehide', () => current && current.abort());
window.addEventListener('pageshow', (e) => { if (e.persisted) navigate(); });
// The list of datacenters needs a token the agent knows.
window.addEventListener('tokenchange', datacenters);
navigate();
datacenters();
tokenBadge();
