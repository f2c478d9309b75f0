// Every call to the agent's HTTP API goes through request(): it adds the
// ACL token kept in session storage (X-Consul-Token) and ?dc.

const TOKEN_KEY = 'coredns-coord-token';

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || '';
}

// setToken logs in (or out, with ""): the next request sends it, and a
// "tokenchange" event lets the header read again what depends on it.
export function setToken(t) {
  if (t) sessionStorage.setItem(TOKEN_KEY, t);
  else sessionStorage.removeItem(TOKEN_KEY);
  window.dispatchEvent(new Event('tokenchange'));
}

// datacenter is the ?dc of the UI's own URL ("" means the agent's).
export function datacenter() {
  return new URLSearchParams(location.search).get('dc') || '';
}

// ApiError is a refused call. A 403 keeps Consul's own message ("Permission
// denied: token with AccessorID … lacks permission …", "ACL not found") so
// the user sees what the token lacks.
export class ApiError extends Error {
  constructor(status, text) {
    super(status === 403 ? forbidden(text) : `${status}: ${text || 'request failed'}`);
    this.status = status;
  }
}

function forbidden(text) {
  // Before bootstrap every token is unknown; the agent says so itself.
  if (/ACL not found/.test(text) && !/bootstrapped/.test(text)) return 'ACL not found: the token set for this tab does not exist (see Token).';
  const why = text && !/^Permission denied/.test(text) ? `Permission denied: ${text}` : text || 'Permission denied';
  return `${why} (see Token)`;
}

// request calls the API. params: true adds a bare flag (?keys), other
// values are strings; params.dc overrides the UI's ?dc ("" for none); ok lists non-2xx statuses that still carry an answer
// (404 for a missing key). The answer is {data, index, status, filtered}:
// filtered when ACLs hid part of a list from the token.
export async function request(method, path, { params = {}, body, signal, ok = [] } = {}) {
  const url = new URL(path, location.origin);
  const { dc = datacenter(), ...rest } = params;
  if (dc) url.searchParams.set('dc', dc);
  for (const [k, v] of Object.entries(rest)) {
    if (v === true) url.searchParams.set(k, '');
    else if (v !== undefined && v !== null && v !== false) url.searchParams.set(k, String(v));
  }
  const headers = {};
  const t = token();
  if (t) headers['X-Consul-Token'] = t;
  const res = await fetch(url, { method, headers, body, signal, cache: 'no-store' });
  const index = Number(res.headers.get('X-Consul-Index') || 0);
  const text = await res.text();
  if (!res.ok && !ok.includes(res.status)) throw new ApiError(res.status, text.trim());
  let data = text;
  if ((res.headers.get('Content-Type') || '').includes('json') && text) data = JSON.parse(text);
  return { data: res.ok || text ? data : null, index, status: res.status,
    filtered: res.headers.get('X-Consul-Results-Filtered-By-ACLs') === 'true' };
}

// aclState asks the agent whether ACLs are on and who the tab's token is:
// {enabled: false} (Consul's 401 "ACL support disabled"), {enabled: true,
// token} (the token, anonymous without one) or {enabled: true, error}
// (the token does not exist).
export async function aclState(signal) {
  try {
    const { data } = await request('GET', '/v1/acl/token/self', { params: { dc: '' }, signal });
    return { enabled: true, token: data };
  } catch (e) {
    if (e.status === 401) return { enabled: false };
    if (e.status === 403) return { enabled: true, error: e };
    throw e;
  }
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
  });
}

// watch keeps a page current with blocking queries: each answer's
// X-Consul-Index is the next request's ?index, so the server answers only
// when something changed (or after wait). Errors back off exponentially
// up to 30 s. It stops when signal aborts.
export async function watch(path, { params = {}, signal, ok, onData, onError }) {
  let index = 0;
  let delay = 0;
  while (!signal.aborted) {
    try {
      const p = index ? { ...params, index, wait: '5m' } : params;
      const r = await request('GET', path, { params: p, signal, ok });
      delay = 0;
      const changed = r.index !== index;
      // An index that goes backwards (a restored snapshot) starts over.
      index = r.index > 0 && r.index >= index ? r.index : 0;
      if (changed) onData(r.data, r);
    } catch (e) {
      if (signal.aborted) return;
      if (onError) onError(e);
      delay = Math.min(delay ? delay * 2 : 1000, 30000);
      await sleep(delay, signal);
    }
  }
}
