// outpost console: a single page app on hash routes.
import {api, ApiError, getToken, setToken, clearToken} from './api.js';
import {h, clear} from './dom.js';
import {errorBox, showError} from './ui.js';
import * as overview from './overview.js';
import * as tables from './tables.js';
import * as record from './record.js';
import * as conflicts from './conflicts.js';
import * as devices from './devices.js';
import * as changes from './changes.js';
import * as tokens from './tokens.js';

const main = document.getElementById('main');
const banner = document.getElementById('banner');
const body = document.body;

const state = {info: null, nav: 0, abort: null, flash: '', returnTo: ''};

function toSignin(message) {
  // Arriving without a token is no error: just ask for one.
  state.flash = getToken() ? (message || '') : '';
  state.authNeeded = true;
  clearToken();
  state.info = null;
  const cur = location.hash;
  if (!cur.startsWith('#/signin')) state.returnTo = cur;
  if (cur !== '#/signin') location.hash = '#/signin'; else route();
}

// ---- hub info ------------------------------------------------------------------

export async function hubInfo(fresh) {
  if (!state.info || fresh) state.info = await api('/v1');
  updateWho();
  return state.info;
}

function updateWho() {
  const who = document.getElementById('whoami');
  const out = document.getElementById('signout');
  const info = state.info;
  if (info && info.token) who.textContent = 'token: ' + info.token.name;
  else if (info) who.textContent = 'no authentication';
  else who.textContent = '';
  out.hidden = !getToken();
  out.title = who.textContent;
}

// ---- routing -----------------------------------------------------------------

const pages = {
  overview: {name: 'overview', nav: 'overview', mod: overview},
  tables: {name: 'table', nav: 'tables', mod: tables},
  records: {name: 'record', nav: 'tables', mod: record},
  conflicts: {name: 'conflicts', nav: 'conflicts', mod: conflicts},
  devices: {name: 'devices', nav: 'devices', mod: devices},
  changes: {name: 'changes', nav: 'changes', mod: changes},
  tokens: {name: 'tokens', nav: 'tokens', mod: tokens},
};

function parseHash() {
  let raw = location.hash.replace(/^#\/?/, '');
  const qi = raw.indexOf('?');
  state.query = new URLSearchParams(qi >= 0 ? raw.slice(qi + 1) : '');
  if (qi >= 0) raw = raw.slice(0, qi);
  if (!raw) return ['overview'];
  return raw.split('/').map((p) => {
    try { return decodeURIComponent(p); } catch (e) { return p; }
  });
}

function setNav(key) {
  for (const a of document.querySelectorAll('nav a[data-nav]')) {
    if (a.dataset.nav === key) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.getElementById('nav').classList.remove('open');
  document.getElementById('nav-toggle').setAttribute('aria-expanded', 'false');
}

function ready(name) {
  body.dataset.page = name;
  body.dataset.ready = '1';
}

async function route() {
  const id = ++state.nav;
  if (state.abort) state.abort.abort();
  const ac = new AbortController();
  state.abort = ac;
  body.dataset.ready = '0';
  delete body.dataset.error;
  clear(banner);

  const parts = parseHash();
  const key = parts[0];
  const path = location.hash.split('?')[0];
  if (path !== state.lastPath) { state.lastPath = path; window.scrollTo(0, 0); }
  if (key === 'signin') { setNav(''); renderSignin(id); return; }
  const page = pages[key];
  const ctx = {
    main, params: parts.slice(1), query: state.query, signal: ac.signal, id,
    current: () => id === state.nav,
    info: null,
  };
  setNav(page ? page.nav : '');
  clear(main);
  main.appendChild(h('p', {class: 'muted loading'}, 'Loading…'));
  try {
    ctx.info = await hubInfo(key === 'overview');
    if (!ctx.current()) return;
    // Devices and tokens are for admin tokens; a hub that does not say
    // (no auth, or an older one) shows them and lets the API answer.
    const admin = !ctx.info.token || ctx.info.token.admin !== false;
    for (const k of ['devices', 'tokens']) {
      const link = document.querySelector('nav a[data-nav="' + k + '"]');
      if (link) link.hidden = !admin;
    }
    if (!page) {
      clear(main);
      main.appendChild(h('h1', null, 'Page not found'));
      main.appendChild(h('p', null, 'There is no page here. ', h('a', {href: '#/overview'}, 'Go to the overview.')));
      ready('notfound');
      return;
    }
    document.title = 'outpost · ' + page.name;
    await page.mod.render(ctx);
    if (!ctx.current()) return;
    ready(page.name);
  } catch (err) {
    if (!ctx.current() || (err && err.name === 'AbortError')) return;
    if (err && err.status === 401) { toSignin(err.message); return; }
    if (main.querySelector('.loading')) clear(main);
    if (!main.firstChild && page) main.appendChild(h('h1', null, titleOf(page.name)));
    showError(err instanceof ApiError ? err : new ApiError('error', String(err && err.message || err), 0));
    ready(page ? page.name : 'notfound');
    if (!(err instanceof ApiError)) console.error(err);
  }
}

function titleOf(name) {
  return {overview: 'Overview', table: 'Records', record: 'Record', conflicts: 'Conflicts',
    devices: 'Devices', changes: 'Changes', tokens: 'Tokens'}[name] || name;
}

// ---- sign in -----------------------------------------------------------------

function renderSignin(id) {
  clear(main);
  document.title = 'outpost · sign in';
  const input = h('input', {id: 'signin-token', type: 'password', autocomplete: 'off',
    spellcheck: 'false', required: true, 'aria-describedby': 'signin-help'});
  const err = h('div', {id: 'signin-error', role: 'alert'});
  const note = h('p', {class: 'muted'});
  if (state.flash) { err.appendChild(h('div', {class: 'error-banner'}, state.flash)); state.flash = ''; }
  const form = h('form', {class: 'signin card', novalidate: true},
    h('h1', null, 'Sign in to the hub'),
    h('p', {id: 'signin-help'}, 'Paste an access token. It is kept only in this browser tab and forgotten when the tab closes.'),
    h('label', {class: 'field'}, h('span', {class: 'field-label'}, 'Token'), input),
    h('div', {class: 'actions'}, h('button', {id: 'signin-submit', type: 'submit', class: 'primary'}, 'Sign in')),
    err, note);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clear(err);
    const tok = input.value.trim();
    if (!tok) { err.appendChild(h('div', {class: 'error-banner'}, 'Enter a token.')); return; }
    const btn = form.querySelector('#signin-submit');
    btn.disabled = true;
    setToken(tok);
    try {
      state.info = await api('/v1');
      updateWho();
      input.value = '';
      const back = state.returnTo && !state.returnTo.startsWith('#/signin') ? state.returnTo : '#/overview';
      state.returnTo = '';
      location.hash = back;
    } catch (e) {
      clearToken();
      state.info = null;
      updateWho();
      body.dataset.error = e.code || 'error';
      err.appendChild(errorBox(e));
    } finally {
      btn.disabled = false;
    }
  });
  main.appendChild(form);
  updateWho();
  input.focus();
  ready('signin');
  // Without authentication the hub answers GET /v1 without a token.
  if (!getToken() && !state.authNeeded) {
    fetch('/v1', {cache: 'no-store', credentials: 'omit'}).then((r) => {
      if (r.ok && id === state.nav) {
        note.appendChild(document.createTextNode('This hub runs without authentication: '));
        note.appendChild(h('a', {href: '#/overview'}, 'open the overview'));
        note.appendChild(document.createTextNode(' without a token.'));
      }
    }).catch(() => {});
  }
}

// ---- boot --------------------------------------------------------------------

document.getElementById('signout').addEventListener('click', () => {
  clearToken();
  state.info = null;
  state.returnTo = '';
  updateWho();
  location.hash = '#/signin';
});
document.getElementById('nav-toggle').addEventListener('click', () => {
  const nav = document.getElementById('nav');
  const open = nav.classList.toggle('open');
  document.getElementById('nav-toggle').setAttribute('aria-expanded', open ? 'true' : 'false');
});
window.addEventListener('hashchange', route);
window.addEventListener('unhandledrejection', (ev) => {
  const e = ev.reason;
  if (e && e.name === 'AbortError') return;
  showError(e instanceof ApiError ? e : new ApiError('error', String(e && e.message || e), 0));
});

window.addEventListener('outpost:unauthorized', (ev) => toSignin(ev.detail));
if (!location.hash || location.hash === '#' || location.hash === '#/') history.replaceState(null, '', '#/overview');
route();
