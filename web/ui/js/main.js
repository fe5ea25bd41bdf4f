// main.js: starts the UI. It takes a token from the URL fragment once
// (`gyre up` prints a link ending in #token=…), asks for one otherwise,
// opens the event stream and routes between the views by the URL hash:
//
//   #/                         the application list (#/?sync=…&health=…&search=…)
//   #/apps/{namespace}/{name}  one application
//   #/clusters                 the clusters applications deploy to

import { Stream, get, onUnauthorized, setToken, token } from './api.js';
import { h, refreshTimes } from './dom.js';
import { ListView } from './list.js';
import { AppView } from './app.js';
import { ClustersView } from './clusters.js';

const stream = new Stream();
let view = null;
let loginMessage = '';

// takeFragmentToken stores a token given as #token=… and removes it from
// the address bar and the history, so it is not bookmarked or shared.
function takeFragmentToken() {
  const m = /^#token=([^&]*)/.exec(location.hash);
  if (!m) return;
  setToken(decodeURIComponent(m[1]));
  history.replaceState(null, '', location.pathname + location.search + '#/');
}

// route parses the hash into a view name and its arguments.
function route() {
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path, q = ''] = hash.split('?');
  const params = new URLSearchParams(q);
  const m = /^\/apps\/([^/]+)\/([^/]+)\/?$/.exec(path);
  if (m) return { name: 'app', namespace: decodeURIComponent(m[1]), app: decodeURIComponent(m[2]), params };
  if (/^\/clusters\/?$/.test(path)) return { name: 'clusters', params };
  return { name: 'list', params };
}

function render() {
  if (view) view.unmount();
  view = null;
  const root = document.getElementById('view');
  root.replaceChildren();
  const signedIn = Boolean(token());
  document.getElementById('logout').hidden = !signedIn;
  if (!signedIn) {
    stream.stop();
    root.append(loginForm());
    document.title = 'Sign in · gyre';
    return;
  }
  if (!stream.active) stream.start();
  const r = route();
  if (r.name === 'app') view = new AppView(stream, r.namespace, r.app);
  else if (r.name === 'clusters') view = new ClustersView();
  else view = new ListView(stream, r.params);
  view.mount(root);
}

function loginForm() {
  const input = h('input', {
    id: 'token', name: 'token', type: 'password', autocomplete: 'current-password', required: true,
    spellcheck: 'false', 'data-testid': 'token-input', 'aria-describedby': 'token-help',
  });
  const form = h('form', {
    class: 'login card', 'data-testid': 'login-form',
    onsubmit: (ev) => {
      ev.preventDefault();
      setToken(input.value.trim());
      loginMessage = '';
      render();
    },
  },
  h('h1', { text: 'Sign in to gyre' }),
  loginMessage ? h('p', { class: 'error', role: 'alert', text: loginMessage }) : null,
  h('label', { for: 'token', text: 'API token' }),
  input,
  h('p', { id: 'token-help', class: 'hint' },
    'gyre up writes its admin token to ', h('code', { text: '<data-dir>/admin-token' }),
    ' and prints a link that signs you in. The token stays in this browser tab only.'),
  h('button', { type: 'submit', class: 'button primary', 'data-testid': 'login-submit', text: 'Sign in' }));
  queueMicrotask(() => input.focus());
  return form;
}

function streamStatus(state) {
  const el = document.getElementById('stream-status');
  const text = { open: 'Live', connecting: 'Connecting…', closed: 'Live updates off' }[state];
  el.hidden = !text;
  el.dataset.state = state;
  el.textContent = text || '';
  el.title = state === 'open' ? 'Receiving live updates' : 'Not receiving live updates; reload to see changes';
}

function showVersion() {
  get('/api/v1/version').then((v) => {
    const version = v && (v.version || v.gitVersion);
    if (version) document.querySelector('.brand').title = `gyre ${version}`;
  }).catch(() => {});
}

onUnauthorized((message) => {
  setToken('');
  loginMessage = `The token was not accepted (${message}). Enter a valid token.`;
  render();
});

stream.on(stream.statusListeners, streamStatus);
document.getElementById('logout').addEventListener('click', () => {
  setToken('');
  loginMessage = '';
  render();
});
takeFragmentToken();
window.addEventListener('hashchange', () => {
  takeFragmentToken();
  render();
});
setInterval(refreshTimes, 15000);
render();
if (token()) showVersion();
