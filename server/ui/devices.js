// Devices: per token, its scope, its devices' sync health, refusals, and the
// re-scope preview.
import {api, q, pool} from './api.js';
import {h, clear, route, scrollTable, shortRev, shortHash, ago, badge, button} from './dom.js';
import {pageHead} from './ui.js';
import {rescopeControl} from './rescope.js';

const CHUNK = 50;
let flash = null;
const HEALTH_LABEL = {healthy: 'healthy', stale: 'stale', silent: 'silent', never: 'never synced'};

export async function render(ctx) {
  const onlyToken = ctx.query.get('token') || '';
  let res = await api('/v1/devices' + q({token: onlyToken}), {signal: ctx.signal});
  if (!ctx.current()) return;
  const all = (res.tokens || []).slice().sort((a, b) => (a.revoked - b.revoked) || (a.name < b.name ? -1 : 1));
  const withDevices = all.filter((t) => (t.devices || []).length);
  // Pending counts cost a feed read per device: ask for what is shown.
  const pendingOf = new Map();
  if (withDevices.length <= CHUNK) {
    const full = await api('/v1/devices' + q({token: onlyToken, pending: 'true'}), {signal: ctx.signal});
    for (const t of full.tokens || []) pendingOf.set(t.name, t);
    res = Object.assign({}, res, {now: full.now || res.now});
  }
  if (!ctx.current()) return;

  const main = clear(ctx.main);
  const th = res.thresholds || {};
  main.appendChild(pageHead('Devices', h('p', {class: 'muted'},
    'Health by the age of a device’s newest push or pull: ', legendDot('healthy'), ' within ' + (th.healthy_hours || 24) + ' h, ',
    legendDot('stale'), ' within ' + (th.stale_days || 7) + ' days, ', legendDot('silent'), ' longer. Feed position ',
    h('code', null, String(res.update_seq ?? '')), '.')));
  if (flash) { main.appendChild(h('div', {class: 'notice', role: 'status'}, flash)); flash = null; }

  const counts = {healthy: 0, stale: 0, silent: 0, never: 0};
  for (const t of all) if (!t.revoked && counts[t.health] !== undefined) counts[t.health]++;
  const filterIn = h('input', {id: 'devices-filter', type: 'search', placeholder: 'token name', 'aria-label': 'Filter tokens by name', value: onlyToken});
  const healthSel = h('select', {id: 'devices-health', 'aria-label': 'Filter by health'},
    h('option', {value: ''}, 'any health'),
    ['healthy', 'stale', 'silent', 'never'].map((k) => h('option', {value: k}, HEALTH_LABEL[k] + ' (' + counts[k] + ')')));
  const showRevoked = h('input', {type: 'checkbox', id: 'devices-revoked'});
  main.appendChild(h('div', {class: 'filter-bar'},
    h('label', {class: 'field grow'}, h('span', {class: 'field-label'}, 'Token'), filterIn),
    h('label', {class: 'field'}, h('span', {class: 'field-label'}, 'Health'), healthSel),
    h('label', {class: 'check'}, showRevoked, ' show revoked')));
  const list = h('div', {id: 'device-list'});
  const more = h('div', {class: 'pager'});
  main.append(list, more);

  let shown = 0;
  let filtered = [];
  function applyFilter() {
    const f = filterIn.value.trim().toLowerCase();
    const hf = healthSel.value;
    filtered = all.filter((t) => (showRevoked.checked || !t.revoked) &&
      (!f || t.name.toLowerCase().includes(f)) && (!hf || t.health === hf));
    clear(list);
    shown = 0;
    return showMore();
  }
  async function showMore() {
    const chunk = filtered.slice(shown, shown + CHUNK);
    shown += chunk.length;
    const sections = chunk.map((t) => tokenSection(t, pendingOf.get(t.name), res.now));
    for (const s of sections) list.appendChild(s.el);
    clear(more);
    if (!filtered.length) list.appendChild(h('p', {class: 'empty'}, all.length ? 'No token matches.' : 'No tokens.'));
    if (shown < filtered.length) {
      more.appendChild(button('Show ' + Math.min(CHUNK, filtered.length - shown) + ' more of ' + (filtered.length - shown), {id: 'devices-more'}, () => showMore()));
    }
    // Fill in pending counts for the sections just shown, when not yet known.
    const need = sections.filter((s) => s.needsPending);
    await pool(need, 4, async (s) => {
      try {
        const r = await api('/v1/devices' + q({token: s.tok.name, pending: 'true'}), {signal: ctx.signal});
        const t = (r.tokens || []).find((x) => x.name === s.tok.name);
        if (t) { pendingOf.set(t.name, t); s.fillPending(t); }
      } catch (e) {
        if (e && e.name === 'AbortError') throw e;
        s.fillPending(null, e);
      }
    });
  }
  let timer = 0;
  filterIn.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(() => applyFilter().catch(() => {}), 200); });
  healthSel.addEventListener('change', () => applyFilter().catch(() => {}));
  showRevoked.addEventListener('change', () => applyFilter().catch(() => {}));
  await applyFilter();
}

function legendDot(k) {
  return h('span', {class: ['health-dot', 'health-' + k], title: k}, HEALTH_LABEL[k]);
}

function tokenSection(tok, withPending, now) {
  const health = tok.health || 'never';
  const sec = h('section', {class: ['card', 'token', tok.revoked ? 'revoked' : ''], 'data-token': tok.name, 'data-health': health});
  sec.appendChild(h('h2', null, tok.name, ' ',
    h('span', {class: ['token-health', 'health-dot', 'health-' + health], 'data-health': health}, HEALTH_LABEL[health] || health),
    tok.admin ? badge('admin', 'info') : null, tok.revoked ? badge('revoked', 'bad') : null));
  const facts = h('dl', {class: 'facts'},
    fact('Read scope', tok.scope ? h('code', {class: 'scope'}, tok.scope) : h('span', {class: 'muted'}, tok.admin ? 'admin: everything' : 'no scope: every record of its tables')),
    fact('Fingerprint', tok.scope_fingerprint ? h('code', {title: tok.scope_fingerprint, 'data-field': 'fingerprint'}, shortHash(tok.scope_fingerprint, 16)) : h('span', {class: 'muted'}, '—')),
    fact('Write scope', tok.write_scope ? h('code', {class: 'scope'}, tok.write_scope) : h('span', {class: 'muted'}, '—')),
    fact('Re-scoped', tok.rescoped_at ? ago(tok.rescoped_at, now) : h('span', {class: 'muted'}, 'never')),
    tok.expires_at ? fact('Expires', ago(tok.expires_at, now)) : null);
  sec.appendChild(facts);

  const devs = tok.devices || [];
  const pendingCells = new Map();
  if (!devs.length) {
    sec.appendChild(h('p', {class: 'muted'}, 'No device has synced with this token yet.'));
  } else {
    const tb = h('tbody');
    const pmap = new Map(((withPending && withPending.devices) || []).map((d) => [d.db_id, d]));
    for (const d of devs) {
      const pd = pmap.get(d.db_id);
      const pcell = h('td', {class: 'num', 'data-field': 'pending'});
      setPending(pcell, pd);
      pendingCells.set(d.db_id, pcell);
      const fpMatch = tok.scope_fingerprint && d.synced_scope_fingerprint
        ? d.synced_scope_fingerprint === tok.scope_fingerprint : null;
      tb.appendChild(h('tr', {'data-device': d.db_id, 'data-health': d.health},
        h('td', null, h('span', {class: ['health-dot', 'health-' + d.health]}, HEALTH_LABEL[d.health] || d.health)),
        h('th', {scope: 'row'}, h('code', {title: d.db_id}, shortHash(d.db_id, 13))),
        h('td', {'data-field': 'last_pull'}, ago(d.last_pull, now)),
        h('td', {'data-field': 'last_push'}, ago(d.last_push, now)),
        pcell,
        h('td', {'data-field': 'caught_up'}, !d.last_pull
          ? h('span', {class: 'muted', title: 'it only pushed: it holds nothing of the hub\'s'}, '—')
          : d.caught_up
          ? h('span', {class: 'ok-text'}, 'yes')
          : h('span', {class: 'warn-text', title: 'has not pulled the whole scope since the last re-scope'}, 'not yet'),
        fpMatch === false ? h('span', {class: 'muted small', title: d.synced_scope_fingerprint}, ' (older scope)') : null),
        h('td', {class: 'muted small'}, d.pull_seq === null || d.pull_seq === undefined ? '—' : shortRev(String(d.pull_seq)))));
    }
    sec.appendChild(scrollTable(h('table', {class: 'data devices'},
      h('thead', null, h('tr', null, h('th', null, 'health'), h('th', null, 'device'), h('th', null, 'last pull'),
        h('th', null, 'last push'), h('th', {class: 'num', title: 'hub changes in scope not pulled yet'}, 'pending'),
        h('th', null, 'caught up since re-scope'), h('th', null, 'pull cursor'))), tb)));
  }

  const refusals = tok.refusals || [];
  if (refusals.length) {
    const tb = h('tbody', null, refusals.map((r) => h('tr', {'data-refusal': r.table + '/' + r.id},
      h('td', null, ago(r.at, now)),
      h('td', null, h('a', {href: route('records', r.table, r.id)}, r.table + '/' + r.id)),
      h('td', null, h('code', {title: r.revision || ''}, shortRev(r.revision || ''))),
      h('td', null, h('code', null, r.code)),
      h('td', {class: 'msg'}, r.message))));
    sec.appendChild(h('details', {class: 'refusals', open: refusals.length <= 5},
      h('summary', null, refusals.length + (refusals.length === 1 ? ' refused write' : ' refused writes')),
      scrollTable(h('table', {class: 'data'}, h('thead', null, h('tr', null, h('th', null, 'when'), h('th', null, 'record'),
        h('th', null, 'revision'), h('th', null, 'code'), h('th', null, 'message'))), tb))));
  }

  const rc = rescopeControl(tok, (t) => {
    flash = 'Saved: ' + t.name + ' now reads ' + (t.scope || 'every record of its tables') + '. Its devices follow at their next sync.';
    window.dispatchEvent(new HashChangeEvent('hashchange'));
  });
  if (!tok.admin && !tok.revoked) sec.appendChild(h('div', {class: 'actions'}, rc.button));
  sec.appendChild(rc.panel);

  return {
    el: sec, tok,
    needsPending: devs.length > 0 && !withPending,
    fillPending(t, err) {
      const m = new Map(((t && t.devices) || []).map((d) => [d.db_id, d]));
      for (const [id, cell] of pendingCells) {
        if (err) { cell.textContent = '?'; cell.title = err.message; } else setPending(cell, m.get(id));
      }
    },
  };
}

function setPending(cell, d) {
  clear(cell);
  if (!d) { cell.appendChild(h('span', {class: 'muted', title: 'counting…'}, '…')); return; }
  if (d.pending === null || d.pending === undefined) { cell.appendChild(h('span', {class: 'muted', title: 'not counted'}, '—')); return; }
  const n = Number(d.pending);
  cell.textContent = d.pending_more ? n + '+' : String(n);
  cell.classList.toggle('zero', n === 0 && !d.pending_more);
}

function fact(label, value) {
  const wide = label === 'Read scope' || label === 'Write scope';
  return h('div', {class: ['fact', wide ? 'wide' : '']}, h('dt', null, label), h('dd', null, value));
}
