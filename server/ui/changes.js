// Changes: the live change feed (long-poll), newest on top.
import {api, q} from './api.js';
import {h, clear, route, shortRev, button, badge} from './dom.js';
import {pageHead, showError, clearError, busy} from './ui.js';

const KEEP = 500;
const BACKLOG = 100;
const WAIT_MS = 25000;

export async function render(ctx) {
  const tablesQ = ctx.query.get('tables') || '';
  const scopeQ = ctx.query.get('scope') || '';
  const main = clear(ctx.main);
  main.appendChild(pageHead('Changes', h('p', {class: 'muted'},
    'Every write to the hub, as devices will receive it: each changed record once, at its latest position. Newest on top; the last ' + KEEP + ' are kept.')));

  const tablesIn = h('input', {id: 'changes-tables', type: 'text', value: tablesQ, placeholder: 'households, visits', spellcheck: 'false'});
  const scopeIn = h('input', {id: 'changes-scope', type: 'text', value: scopeQ, placeholder: "households: district = 'north'", spellcheck: 'false'});
  const applyBtn = h('button', {id: 'changes-apply', type: 'submit', class: 'primary'}, 'Apply');
  const form = h('form', {class: 'filter-bar'},
    h('label', {class: 'field'}, h('span', {class: 'field-label'}, 'Tables'), tablesIn),
    h('label', {class: 'field grow'}, h('span', {class: 'field-label'}, 'Scope'), scopeIn), applyBtn);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy();
    const p = new URLSearchParams();
    const t = tablesIn.value.split(',').map((x) => x.trim()).filter(Boolean).join(',');
    if (t) p.set('tables', t);
    if (scopeIn.value.trim()) p.set('scope', scopeIn.value.trim());
    const next = '#/changes' + (p.toString() ? '?' + p.toString() : '');
    if (location.hash === next) window.dispatchEvent(new HashChangeEvent('hashchange'));
    else location.hash = next;
  });
  main.appendChild(form);

  const status = h('span', {id: 'changes-status', class: 'live-status'}, 'connecting…');
  const countEl = h('span', {class: 'muted small', id: 'changes-count'});
  let paused = false;
  const pauseBtn = button('Pause', {id: 'changes-pause', 'aria-pressed': 'false'}, () => {
    paused = !paused;
    pauseBtn.textContent = paused ? 'Resume' : 'Pause';
    pauseBtn.setAttribute('aria-pressed', paused ? 'true' : 'false');
    if (paused) { if (inflight) inflight.abort(); setStatus('paused'); }
    else if (!running) loop();
  });
  const clearBtn = button('Clear', {id: 'changes-clear'}, () => { clear(tbody); countEl.textContent = ''; });
  main.appendChild(h('div', {class: 'toolbar'}, status, pauseBtn, clearBtn, countEl));
  const errSlot = h('div');
  main.appendChild(errSlot);
  const tbody = h('tbody');
  main.appendChild(h('div', {class: 'table-wrap'}, h('table', {class: 'data changes', id: 'changes'},
    h('thead', null, h('tr', null, h('th', null, 'seq'), h('th', null, 'received'), h('th', null, 'table'),
      h('th', null, 'id'), h('th', null, 'revision'), h('th', null, 'state'), h('th', {class: 'num'}, 'leaves'))), tbody)));

  function setStatus(s) {
    status.textContent = s;
    status.dataset.state = s.split(' ')[0];
  }

  // Start a little before the newest change so the page is not empty.
  const params = {tables: tablesQ, scope: scopeQ};
  let since = '';
  let us = String((ctx.info && ctx.info.update_seq) || '');
  try {
    const fresh = await api('/v1', {signal: ctx.signal});
    us = String(fresh.update_seq || '');
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
  }
  if (/^\d+$/.test(us)) {
    since = String(Math.max(0, Number(us) - BACKLOG));
  } else {
    // A PostgreSQL hub's positions (XID:SEQ) cannot be stepped back: the
    // page lists what changes from now on.
    since = us;
    main.insertBefore(h('p', {class: 'muted small', id: 'changes-from-now'},
      'Listing the changes made from now on (this hub cannot show the ones before). ' +
      'Browse the records pages for what is already there.'), errSlot);
  }
  if (since === '0') since = '';
  let first = true;
  let inflight = null;
  let running = false;

  async function fetchPage(longpoll) {
    inflight = new AbortController();
    const onNav = () => inflight && inflight.abort();
    ctx.signal.addEventListener('abort', onNav, {once: true});
    try {
      return await api('/v1/changes' + q(Object.assign({since, limit: KEEP}, params,
        longpoll ? {feed: 'longpoll', timeout_ms: WAIT_MS} : {})), {signal: inflight.signal});
    } finally {
      ctx.signal.removeEventListener('abort', onNav);
      inflight = null;
    }
  }

  function add(results) {
    const now = new Date();
    for (const r of results) {
      const state = r.removed ? badge('left scope', 'info') : r.deleted ? badge('deleted', 'bad')
        : (r.leaves || []).length > 1 ? badge('conflict', 'warn') : badge('live', 'ok');
      const tr = h('tr', {'data-seq': r.seq, 'data-table': r.table, 'data-id': r.id, class: 'fresh'},
        h('td', null, h('code', {title: r.seq}, String(r.seq).length > 16 ? String(r.seq).slice(0, 15) + '…' : r.seq)),
        h('td', null, h('time', {datetime: now.toISOString(), title: now.toLocaleString()}, now.toLocaleTimeString())),
        h('td', null, h('a', {href: route('tables', r.table)}, r.table)),
        h('td', null, r.removed ? r.id : h('a', {href: route('records', r.table, r.id)}, r.id)),
        h('td', null, r.revision ? h('code', {title: r.revision}, shortRev(r.revision)) : h('span', {class: 'muted'}, '—')),
        h('td', null, state),
        h('td', {class: 'num'}, r.leaves ? String(r.leaves.length) : ''));
      tbody.insertBefore(tr, tbody.firstChild);
      setTimeout(() => tr.classList.remove('fresh'), 2500);
    }
    while (tbody.childNodes.length > KEEP) tbody.removeChild(tbody.lastChild);
    countEl.textContent = tbody.childNodes.length + ' shown';
  }

  // First read answers at once, so the page is ready with what exists.
  try {
    let res = await fetchPage(false);
    if (!ctx.current()) return;
    add(res.results || []);
    since = res.last_seq || since;
    // A full page: skip ahead to the newest entries.
    let guard = 0;
    while (res.more && (res.results || []).length && guard++ < 20 && ctx.current()) {
      res = await fetchPage(false);
      add(res.results || []);
      since = res.last_seq || since;
    }
  } catch (e) {
    if (!ctx.current() || (e && e.name === 'AbortError')) return;
    setStatus('stopped');
    showError(e, errSlot);
    return;
  }
  setStatus('live');
  first = false;
  loop();

  async function loop() {
    if (running) return;
    running = true;
    let delay = 1000;
    while (ctx.current() && !paused) {
      try {
        setStatus('live');
        const res = await fetchPage(true);
        if (!ctx.current() || paused) break;
        add(res.results || []);
        if (res.last_seq) since = res.last_seq;
        delay = 1000;
        clearError(errSlot);
      } catch (e) {
        if (!ctx.current()) break;
        if (e && e.name === 'AbortError') { if (paused) break; continue; }
        if (e.status >= 400 && e.status < 500) { setStatus('stopped'); showError(e, errSlot); break; }
        setStatus('reconnecting…');
        showError(e, errSlot);
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 15000);
      }
    }
    running = false;
    if (paused && ctx.current()) setStatus('paused');
  }
  void first;
}
