import { h, replace, link, enc, dl, message, filteredNote, confirmButton, title } from './dom.js';
import { request, watch } from './api.js';
import { decodeValue, encodeValue } from './value.js';

// kvPage is a folder view when the path is empty or ends in "/", else
// the editor of one key.
export function kvPage(main, route) {
  const path = route.item;
  if (path === '' || path.endsWith('/')) folder(main, route, path);
  else key(main, route, path);
}

// A key in a URL: each segment encoded, the slashes kept.
const kvPath = (key) => key.split('/').map(enc).join('/');
const kvURL = (key) => '/v1/kv/' + kvPath(key);
export const kvLink = (key, text) => link('/kv/' + kvPath(key), text);
const goTo = (key) => { location.hash = '#/kv/' + kvPath(key); };

// parentOf is the folder a key or folder is in ("" for the root).
function parentOf(key) {
  const parts = key.replace(/\/$/, '').split('/');
  parts.pop();
  return parts.length ? parts.join('/') + '/' : '';
}

// crumbs links every folder above path.
function crumbs(path) {
  const parts = path.split('/').filter((p, i, all) => p !== '' || i < all.length - 1);
  const out = h('p', { class: 'crumbs' }, kvLink('', 'Key/Value'));
  let prefix = '';
  for (const p of parts.slice(0, -1)) {
    prefix += p + '/';
    out.append(' / ', kvLink(prefix, p));
  }
  out.append(' / ');
  return out;
}

function folder(main, route, prefix) {
  const msg = h('p');
  const list = h('div');
  const name = h('input', { id: 'kv-name', required: true, autocomplete: 'off' });
  const value = h('textarea', { id: 'kv-new-value', rows: 3 });
  const formMsg = h('p');
  const create = h('form', { class: 'stack', onsubmit: async (e) => {
    e.preventDefault();
    const full = prefix + name.value;
    try {
      const isFolder = full.endsWith('/');
      // cas=0 creates only: an existing key is never overwritten here.
      const { data } = await request('PUT', kvURL(full), { params: { cas: 0 }, body: isFolder ? '' : value.value });
      if (data !== true) {
        message(formMsg, 'conflict', `${full} already exists.`);
        return;
      }
      goTo(full);
    } catch (err) {
      message(formMsg, 'error', err.message);
    }
  } },
  h('h2', null, 'Create'),
  h('label', { for: 'kv-name' }, `Key or folder name (under ${prefix || 'the root'}; end with / for a folder)`), name,
  h('label', { for: 'kv-new-value' }, 'Value'), value,
  h('div', null, h('button', { type: 'submit' }, 'Create')), formMsg);

  const heading = prefix === '' ? title('Key/Value') : title(prefix);
  const del = prefix === '' ? null : h('p', null, confirmButton('Delete folder',
    async () => {
      const { data } = await request('GET', kvURL(prefix), { params: { keys: true }, ok: [404] });
      const n = Array.isArray(data) ? data.length : 0;
      return `Delete ${prefix} and all ${n} keys under it?`;
    },
    async () => {
      try {
        await request('DELETE', kvURL(prefix), { params: { recurse: true } });
        goTo(parentOf(prefix));
      } catch (err) {
        message(msg, 'error', err.message);
      }
    }));
  replace(main, prefix ? crumbs(prefix) : null, heading, del, msg, list, create);
  watch(kvURL(prefix), {
    signal: route.signal, params: { keys: true, separator: '/' }, ok: [404],
    onError: (e) => message(msg, 'error', e.message),
    onData: (keys, r) => {
      filteredNote(msg, r, 'keys');
      keys = (Array.isArray(keys) ? keys : []).filter((k) => k !== prefix);
      replace(list, keys.length
        ? h('ul', { class: 'keys' }, keys.map((k) => h('li', { class: k.endsWith('/') ? 'folder' : 'key' },
          kvLink(k, k.slice(prefix.length)))))
        : h('p', { class: 'muted' }, 'No keys here.'));
    },
  });
}

function key(main, route, path) {
  const msg = h('p');
  const info = h('div');
  const editor = h('textarea', { id: 'kv-value', rows: 8, spellcheck: 'false' });
  const base64 = h('input', { type: 'checkbox', id: 'kv-base64' });
  const flags = h('input', { type: 'number', id: 'kv-flags', min: 0, step: 1, inputmode: 'numeric' });
  const saveMsg = h('p');
  let loaded = null; // the entry the editor started from: its ModifyIndex is the CAS
  let latest = null; // the entry as the server has it now
  let dirty = false;
  const load = (entry) => {
    loaded = entry;
    const v = decodeValue(entry.Value);
    editor.value = v.text;
    base64.checked = v.binary;
    flags.value = String(entry.Flags);
    dirty = false;
  };
  for (const el of [editor, base64, flags]) el.addEventListener('input', () => { dirty = true; });
  const form = h('form', { class: 'stack', onsubmit: async (e) => {
    e.preventDefault();
    let body;
    try {
      body = encodeValue(editor.value, base64.checked);
    } catch (err) {
      message(saveMsg, 'error', err.message);
      return;
    }
    try {
      // No entry loaded (the key is missing): cas=0 creates it, only if
      // nobody has meanwhile.
      const cas = loaded ? loaded.ModifyIndex : 0;
      const { data } = await request('PUT', kvURL(path), { params: { cas, flags: flags.value || 0 }, body });
      if (data === true) {
        // The watch may have seen this write before the answer came:
        // start again from the entry as stored, with its new index.
        const now = await request('GET', kvURL(path), { ok: [404] });
        if (Array.isArray(now.data)) {
          latest = now.data[0];
          load(latest);
        }
        message(msg, '');
        message(saveMsg, 'ok', 'Saved.');
        return;
      }
      message(saveMsg, 'conflict', `Not saved: ${path} was changed by someone else since you loaded it ` +
        `(index ${cas}). Your edit is still in the editor; `,
      h('button', { type: 'button', onclick: () => {
        if (latest) load(latest);
        message(msg, '');
        message(saveMsg, 'ok', 'Loaded the current value.');
      } },
        'load the current value'), ' to start again from it.');
    } catch (err) {
      message(saveMsg, 'error', err.message);
    }
  } },
  h('label', { for: 'kv-value' }, 'Value'), editor,
  h('div', { class: 'row' }, base64, ' ', h('label', { for: 'kv-base64' }, 'Value is base64 (binary)')),
  h('label', { for: 'kv-flags' }, 'Flags'), flags,
  h('div', { class: 'row' }, h('button', { type: 'submit' }, 'Save'), ' ',
    confirmButton('Delete key', `Delete ${path}?`, async () => {
      try {
        if (!loaded) {
          message(saveMsg, 'error', `${path} does not exist.`);
          return;
        }
        const { data } = await request('DELETE', kvURL(path), { params: { cas: loaded.ModifyIndex } });
        if (data !== true) {
          message(saveMsg, 'conflict', `Not deleted: ${path} changed since you loaded it.`);
          return;
        }
        goTo(parentOf(path));
      } catch (err) {
        message(saveMsg, 'error', err.message);
      }
    })),
  saveMsg);
  replace(main, crumbs(path), title(path), msg, info, form);
  watch(kvURL(path), {
    signal: route.signal, ok: [404],
    onError: (e) => message(msg, 'error', e.message),
    onData: (entries) => {
      if (!Array.isArray(entries) || !entries.length) {
        latest = null;
        message(msg, 'error', `${path} does not exist (or was deleted).`);
        replace(info);
        return;
      }
      const entry = entries[0];
      latest = entry;
      if (!loaded || !dirty) {
        load(entry);
        message(msg, '');
      } else if (entry.ModifyIndex !== loaded.ModifyIndex) {
        message(msg, 'conflict', `${path} has changed since you started editing (index ${loaded.ModifyIndex} → ${entry.ModifyIndex}); saving will be refused.`);
      }
      replace(info, dl([
        ['Flags', String(entry.Flags)],
        ['Created at index', String(entry.CreateIndex)],
        ['Modified at index', String(entry.ModifyIndex)],
        ['Lock index', String(entry.LockIndex)],
        ['Lock holder', entry.Session ? link('/sessions/' + enc(entry.Session), entry.Session) : h('span', { class: 'muted' }, 'none')],
        ['Shown as', decodeValue(entry.Value).binary ? 'base64 (binary value)' : 'text'],
      ]));
    },
  });
}
