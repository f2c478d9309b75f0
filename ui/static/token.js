import { h, replace, message, title } from './dom.js';
import { token, setToken, aclState } from './api.js';

const anonymousID = '00000000-0000-0000-0000-000000000002';

// tokenPage is the login box: the token is kept in this tab's session
// storage and sent with every API call as X-Consul-Token. The agent says
// whether ACLs are on and whether the token exists.
export function tokenPage(main, route) {
  const input = h('input', { id: 'token', type: 'password', autocomplete: 'off', spellcheck: 'false' });
  const msg = h('p');
  const info = h('div');
  const state = async () => {
    const set = token() !== '';
    message(msg, 'ok', set ? 'A token is set for this tab.' : 'No token set.');
    let acl;
    try {
      acl = await aclState(route.signal);
    } catch (e) {
      if (!route.signal.aborted) message(msg, 'error', e.message);
      return;
    }
    if (route.signal.aborted) return;
    showBadge(acl);
    if (!acl.enabled) {
      message(msg, 'ok', set ? 'A token is set for this tab. ' : 'No token set. ',
        'ACLs are off on this agent: tokens have no effect and every request is allowed.');
      replace(info);
    } else if (acl.error) {
      message(msg, 'error', /ACL not found/.test(acl.error.message)
        ? 'ACL not found: the agent knows no token with this SecretID. Log out, or log in with another token.' : acl.error.message);
      replace(info);
    } else if (acl.token.AccessorID === anonymousID) {
      message(msg, 'ok', set ? 'A token is set for this tab. ' : 'No token set. ',
        'ACLs are on: requests use the anonymous token, so pages show only what it may read. Log in to see more.');
      replace(info, describe(acl.token));
    } else {
      message(msg, 'ok', 'A token is set for this tab. ACLs are on: pages show what this token may read.');
      replace(info, describe(acl.token));
    }
  };
  replace(main, title('ACL token'),
    h('p', null, 'The token is kept only in this browser tab (session storage) and sent with every request.'),
    h('form', { class: 'stack', onsubmit: (e) => { e.preventDefault(); setToken(input.value.trim()); input.value = ''; state(); } },
      h('label', { for: 'token' }, 'Token (SecretID)'), input,
      h('div', { class: 'row' }, h('button', { type: 'submit' }, 'Log in'), ' ',
        h('button', { type: 'button', onclick: () => { setToken(''); state(); } }, 'Log out'))),
    msg, info);
  state();
}

// describe shows who a token is, never its secret.
function describe(t) {
  const names = (list) => (list || []).map((x) => x.Name).join(', ') || '—';
  return h('dl', null,
    h('dt', null, 'AccessorID'), h('dd', null, t.AccessorID),
    h('dt', null, 'Description'), h('dd', null, t.Description || '—'),
    h('dt', null, 'Policies'), h('dd', null, names(t.Policies)),
    h('dt', null, 'Roles'), h('dd', null, names(t.Roles)));
}

// showBadge marks the Token link with who the tab is with ACLs on.
function showBadge(acl) {
  const badge = document.getElementById('who');
  if (!badge) return;
  let text = '';
  if (acl.enabled) text = acl.error ? 'token not found' : acl.token.AccessorID === anonymousID ? 'anonymous' : 'logged in';
  badge.textContent = text ? ` (${text})` : '';
}

// tokenBadge asks the agent once per page load for the badge.
export async function tokenBadge() {
  try {
    showBadge(await aclState());
  } catch {
    // The badge is a hint: the pages themselves show a refusal.
  }
}
