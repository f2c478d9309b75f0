import { h, replace, message, title } from './dom.js';
import { token, setToken } from './api.js';

// tokenPage is the login box: the token is kept in this tab's session
// storage and sent with every API call as X-Consul-Token.
export function tokenPage(main) {
  const input = h('input', { id: 'token', type: 'password', autocomplete: 'off', spellcheck: 'false' });
  const msg = h('p');
  const state = () => message(msg, 'ok', token() ? 'A token is set for this tab.' : 'No token set: requests use the agent\'s default token.');
  replace(main, title('ACL token'),
    h('p', null, 'The token is kept only in this browser tab (session storage) and sent with every request. ' +
      'It has an effect when the agent enforces ACLs.'),
    h('form', { class: 'stack', onsubmit: (e) => { e.preventDefault(); setToken(input.value.trim()); input.value = ''; state(); } },
      h('label', { for: 'token' }, 'Token (SecretID)'), input,
      h('div', { class: 'row' }, h('button', { type: 'submit' }, 'Log in'), ' ',
        h('button', { type: 'button', onclick: () => { setToken(''); state(); } }, 'Log out'))),
    msg);
  state();
}
