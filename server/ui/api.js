// The /v1 API. The token lives in sessionStorage only and goes out in the
// Authorization header, never in a URL.

const KEY = 'outpost.token';

export class ApiError extends Error {
  constructor(code, message, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

export function getToken() {
  try { return sessionStorage.getItem(KEY) || ''; } catch (e) { return ''; }
}
export function setToken(t) { sessionStorage.setItem(KEY, t); }
export function clearToken() { sessionStorage.removeItem(KEY); }

// q({a: 1, b: ''}) -> '?a=1' (empty values left out)
export function q(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null || v === '') continue;
    u.set(k, String(v));
  }
  const s = u.toString();
  return s ? '?' + s : '';
}

export function seg(x) { return encodeURIComponent(String(x)); }

export async function api(path, opts = {}) {
  const headers = {'Accept': 'application/json'};
  const tok = getToken();
  if (tok) headers['Authorization'] = 'Bearer ' + tok;
  const init = {method: opts.method || 'GET', headers, signal: opts.signal,
    cache: 'no-store', credentials: 'omit', redirect: 'error'};
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(opts.body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    throw new ApiError('unreachable', 'The hub did not answer (' + (e && e.message || e) + '). Check the connection and try again.', 0);
  }
  let text = '';
  try { text = await res.text(); } catch (e) {
    if (e && e.name === 'AbortError') throw e;
  }
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch (e) { data = null; }
  }
  if (!res.ok) {
    if (data && typeof data.error === 'string') {
      throw new ApiError(data.error, String(data.message || data.error), res.status);
    }
    throw new ApiError('http_' + res.status, 'The hub answered ' + res.status + ' ' + res.statusText, res.status);
  }
  if (data === null && text) throw new ApiError('invalid_json', 'The hub sent an answer that is not JSON', res.status);
  return data;
}

// Runs fn over items with at most n in flight.
export async function pool(items, n, fn) {
  const out = new Array(items.length);
  let i = 0;
  async function worker() {
    while (i < items.length) {
      const k = i++;
      out[k] = await fn(items[k], k);
    }
  }
  await Promise.all(Array.from({length: Math.min(n, items.length)}, worker));
  return out;
}
