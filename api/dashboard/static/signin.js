import { call, setAPIKey, APIError } from './api.js';
import { clear, h } from './dom.js';

// renderSignIn asks for an API key and checks it against the API before
// keeping it for this tab.
export async function renderSignIn(main, app) {
  const input = h('input', { id: 'api-key', name: 'api-key', type: 'password', autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'api-key-hint' });
  const error = h('p', { class: 'form-error', id: 'sign-in-error', role: 'alert', hidden: true });
  const button = h('button', { type: 'submit', class: 'primary', id: 'sign-in-button', text: 'Sign in' });
  const form = h(
    'form',
    { class: 'stack', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'api-key', text: 'API key' }), input,
      h('p', { class: 'hint', id: 'api-key-hint', text: 'Kept in this browser tab only, until you sign out or close it. `securo dev` writes its key to .securo/dev-api-key.' })),
    error,
    h('div', { class: 'actions' }, button),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const key = input.value.trim();
    error.hidden = true;
    if (!key) {
      error.textContent = 'Enter an API key: a key of your Securo account, such as the one `securo accounts create` printed.';
      error.hidden = false;
      input.focus();
      return;
    }
    button.disabled = true;
    try {
      await call('GET', '/v1/endpoints?limit=1', undefined, key);
      setAPIKey(key);
      app.quiet();
      app.navigate('#/webhooks');
    } catch (err) {
      error.textContent = err instanceof APIError && err.status === 401 ? 'This API key was refused: ' + err.message : err.message;
      error.hidden = false;
      input.focus();
    } finally {
      button.disabled = false;
    }
  });
  clear(
    main,
    h('section', { class: 'card signin' },
      h('h1', { tabindex: '-1', text: 'Sign in' }),
      h('p', { text: 'Sign in with an API key to manage the webhooks of its account: the endpoints that receive your events, and every delivery.' }),
      form),
  );
}
