// Small DOM helpers. Text always goes in as text nodes (never innerHTML):
// names, tags and KV values come from the cluster.

// h builds an element: attrs "onX" add listeners, "value"/"checked" set
// properties, true sets an empty attribute, false/null/undefined skip.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'value' || k === 'checked') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  add(el, children);
  return el;
}

function add(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) add(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

// replace swaps el's children for children. Live updates replace lists
// under the user: a focused link or field inside is focused again in the
// new content (matched by href or id), so keyboard users keep their place.
export function replace(el, ...children) {
  const active = document.activeElement;
  const key = el.contains(active) && active !== el
    ? (active.id && `#${CSS.escape(active.id)}`) || (active.getAttribute('href') && `a[href="${CSS.escape(active.getAttribute('href'))}"]`)
    : null;
  el.replaceChildren();
  add(el, children);
  if (key) el.querySelector(key)?.focus();
}

// link to a UI page; path segments are encoded.
export function link(path, text) {
  return h('a', { href: '#' + path }, text);
}

export function enc(s) {
  return encodeURIComponent(s);
}

// status is a health state as a word plus colour (never colour alone).
export function status(s) {
  return h('span', { class: 'status ' + s }, s);
}

// counts summarises check states: "2 passing 1 critical".
export function counts(passing, warning, critical) {
  const out = h('span', { class: 'counts' });
  if (passing) out.append(h('span', { class: 'status passing' }, `${passing} passing`));
  if (warning) out.append(h('span', { class: 'status warning' }, `${warning} warning`));
  if (critical) out.append(h('span', { class: 'status critical' }, `${critical} critical`));
  if (!passing && !warning && !critical) out.append(h('span', { class: 'muted' }, 'no checks'));
  return out;
}

export function countChecks(checks) {
  const c = { passing: 0, warning: 0, critical: 0 };
  for (const hc of checks || []) if (hc.Status in c) c[hc.Status]++;
  return c;
}

export function tags(list) {
  if (!list || !list.length) return h('span', { class: 'muted' }, '—');
  return h('ul', { class: 'tags' }, list.map((t) => h('li', null, t)));
}

// table with a caption (for screen readers) and a header row; rows are
// arrays of cells. It sits in a scroll box so narrow screens scroll it.
export function table(caption, headers, rows) {
  return h('div', { class: 'scroll' },
    h('table', null,
      h('caption', null, caption),
      h('thead', null, h('tr', null, headers.map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', null, rows.map((r) => h('tr', null, r.map((c) => h('td', null, c)))))));
}

// dl renders [term, value] pairs.
export function dl(pairs) {
  return h('dl', null, pairs.map(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
}

// meta renders a key/value map.
export function meta(m) {
  const entries = Object.entries(m || {});
  if (!entries.length) return h('span', { class: 'muted' }, '—');
  return h('dl', { class: 'meta' }, entries.map(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
}

// checksTable lists checks with their output.
export function checksTable(caption, checks) {
  if (!checks || !checks.length) return h('p', { class: 'muted' }, 'No checks.');
  return table(caption, ['Check', 'Status', 'Output'], checks.map((c) => [
    h('span', null, c.Name, h('br'), h('small', { class: 'muted' }, c.CheckID)),
    status(c.Status),
    c.Output ? h('pre', { class: 'output' }, c.Output) : h('span', { class: 'muted' }, '—'),
  ]));
}

// confirmButton asks before acting: the first press shows the question
// with a confirming button and a cancel button, keyboard focus on cancel.
export function confirmButton(label, question, action) {
  const box = h('span', { class: 'confirm' });
  const start = h('button', { type: 'button', class: 'danger', onclick: ask }, label);
  box.append(start);
  async function ask() {
    const q = typeof question === 'function' ? await question() : question;
    const cancel = h('button', { type: 'button', onclick: () => { replace(box, start); start.focus(); } }, 'Cancel');
    const yes = h('button', { type: 'button', class: 'danger', onclick: action }, 'Yes, ' + label.toLowerCase());
    replace(box, h('span', { role: 'alert' }, q, ' '), yes, ' ', cancel);
    cancel.focus();
  }
  return box;
}

// message is a status line; kind "error" makes it an alert.
export function message(el, kind, ...text) {
  el.className = 'message ' + (kind || '');
  el.setAttribute('role', kind === 'error' || kind === 'conflict' ? 'alert' : 'status');
  replace(el, ...text);
}

// filteredNote clears a page's status line after a read, or says that ACLs hid
// part of the list (r.filtered: the token may not read every item).
export function filteredNote(el, r, what) {
  if (r && r.filtered) message(el, 'ok', `Some ${what} are hidden: the token may not read them.`);
  else message(el, '');
}

// title sets the page's <title> and returns its heading.
export function title(text) {
  document.title = `${text} · coredns-coord`;
  return h('h1', null, text);
}
