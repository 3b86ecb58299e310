// The Dashboard: a hash router over a few views, all drawn from the /v1 API
// with the API key kept in this tab's session storage.
import { apiKey, clearAPIKey, APIError } from './api.js';
import { clear, h } from './dom.js';
import { renderSignIn } from './signin.js';
import { renderWebhooks } from './webhooks.js';
import { renderEndpoint } from './endpoint.js';

const main = document.getElementById('main');
const notice = document.getElementById('notice');
let config = { temporal_ui_url: '', temporal_namespace: 'default', guide: false };
let pendingFocus = '';
let generation = 0;
// saidAt is the render during which the notice was last set: a notice
// outlives the navigation that follows it, and no more.
let saidAt = -1;

// app is what the views get: navigation, messages, a confirmation dialog,
// the settings, and whether their render is still the current one.
const app = {
  get config() {
    return config;
  },
  navigate(hash, focusID = '') {
    pendingFocus = focusID;
    if (location.hash === hash) route();
    else location.hash = hash;
  },
  // say shows a message to everyone; errors come from the API.
  say(text, kind = 'ok') {
    saidAt = generation;
    notice.hidden = false;
    notice.className = 'notice ' + kind;
    notice.setAttribute('role', kind === 'error' ? 'alert' : 'status');
    clear(notice, h('p', { text }), h('button', { type: 'button', class: 'linklike', text: 'Dismiss', onclick: () => app.quiet() }));
  },
  fail(err) {
    if (err instanceof APIError && err.status === 401) {
      clearAPIKey();
      app.navigate('#/sign-in');
      app.say('Your API key was refused (' + err.message + '). Sign in again.', 'error');
      return;
    }
    const code = err instanceof APIError ? ` (${err.code})` : '';
    app.say(err.message + code, 'error');
  },
  quiet() {
    notice.hidden = true;
    notice.replaceChildren();
  },
  // confirm asks a yes/no question in a modal dialog and gives focus back
  // to where it was.
  confirm(title, text, yes) {
    const dialog = document.getElementById('confirm');
    const back = document.activeElement;
    document.getElementById('confirm-title').textContent = title;
    document.getElementById('confirm-text').textContent = text;
    document.getElementById('confirm-yes').textContent = yes;
    return new Promise((resolve) => {
      const closed = () => {
        // The close event of an earlier question may arrive after this one
        // opened: it is not this question's answer.
        if (dialog.open) return;
        dialog.removeEventListener('close', closed);
        if (back && back.isConnected) back.focus();
        resolve(dialog.returnValue === 'yes');
      };
      dialog.addEventListener('close', closed);
      dialog.returnValue = '';
      dialog.showModal();
      document.getElementById('confirm-no').focus();
    });
  },
  current(gen) {
    return gen === generation;
  },
};

function parse(hash) {
  const [path, qs] = hash.replace(/^#/, '').split('?');
  return { parts: path.split('/').filter(Boolean), params: new URLSearchParams(qs || '') };
}

async function route() {
  const gen = ++generation;
  if (saidAt < gen - 1) app.quiet();
  const signedIn = apiKey() !== '';
  document.getElementById('nav-webhooks').hidden = !signedIn;
  document.getElementById('sign-out').hidden = !signedIn;
  document.getElementById('nav-guide').hidden = !config.guide;
  let { parts, params } = parse(location.hash);
  if (!signedIn && parts[0] !== 'sign-in') {
    history.replaceState(null, '', '#/sign-in');
    parts = ['sign-in'];
  }
  const view = parts[0] || 'webhooks';
  document.getElementById('nav-webhooks').toggleAttribute('aria-current', view === 'webhooks' || view === 'endpoints');
  const focusID = pendingFocus;
  pendingFocus = '';
  try {
    if (view === 'sign-in') await renderSignIn(main, app);
    else if (view === 'endpoints' && parts[1]) await renderEndpoint(main, app, parts[1], gen);
    else await renderWebhooks(main, app, parts[1] || 'events', params, gen);
  } catch (err) {
    if (!app.current(gen)) return;
    clear(main, h('h1', { tabindex: '-1', text: 'Something went wrong' }));
    app.fail(err);
  }
  if (!app.current(gen)) return;
  const target = (focusID && document.getElementById(focusID)) || main.querySelector('h1');
  if (target) target.focus();
}

async function start() {
  try {
    const res = await fetch('/dashboard/config.json', { cache: 'no-store' });
    if (res.ok) config = await res.json();
  } catch {
    // The page works without it: no Temporal links, no guide link.
  }
  document.getElementById('sign-out').addEventListener('click', () => {
    clearAPIKey();
    app.quiet();
    app.navigate('#/sign-in');
    app.say('Signed out. The API key is no longer kept in this tab.');
  });
  document.getElementById('skip').addEventListener('click', (e) => {
    e.preventDefault();
    main.focus();
  });
  window.addEventListener('hashchange', () => {
    if (location.hash.startsWith('#/') || location.hash === '') route();
  });
  route();
}

start();
