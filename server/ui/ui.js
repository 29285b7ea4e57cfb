// Error banners and notices shared by the pages.
import {h, clear} from './dom.js';

const body = document.body;

export function errorBox(err) {
  const code = (err && err.code) || 'error';
  const msg = (err && err.message) || String(err);
  return h('div', {class: 'error-banner', role: 'alert'},
    h('strong', null, humanCode(code)), ' ', h('span', {class: 'error-message'}, msg),
    h('span', {class: 'error-code'}, ' (' + code + ')'));
}

function humanCode(code) {
  const m = {forbidden: 'Not allowed:', not_found: 'Not found:', unauthorized: 'Sign-in needed:',
    invalid_scope: 'Scope not understood:', invalid_value: 'Invalid value:', conflict: 'Conflict:',
    unreachable: 'Hub unreachable:', unavailable: 'Hub busy:', unknown_table: 'Unknown table:',
    invalid_name: 'Invalid name:'};
  return m[code] || 'Error:';
}

// Shows an API error: in `where` when given, else in the page banner.
export function showError(err, where) {
  if (err && err.name === 'AbortError') return;
  body.dataset.error = (err && err.code) || 'error';
  if (err && err.status === 401) {
    window.dispatchEvent(new CustomEvent('outpost:unauthorized', {detail: err.message}));
    return;
  }
  const target = where || document.getElementById('banner');
  clear(target);
  target.appendChild(errorBox(err));
  target.scrollIntoView({block: 'nearest'});
}

export function clearError(where) {
  delete body.dataset.error;
  clear(where || document.getElementById('banner'));
}

export function notice(text, where) {
  const target = where || document.getElementById('banner');
  clear(target);
  target.appendChild(h('div', {class: 'notice', role: 'status'}, text));
}

export function pageHead(title, ...extra) {
  return h('div', {class: 'page-head'}, h('h1', null, title), ...extra);
}

// An action is under way: tests (and screen readers) wait for ready = "1".
export function busy() {
  document.body.dataset.ready = '0';
  delete document.body.dataset.error;
}
export function idle() {
  document.body.dataset.ready = '1';
}
