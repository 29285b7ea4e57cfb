// Overview: the hub, its tables with counts, devices at a glance, refusals.
import {api} from './api.js';
import {h, clear, route, scrollTable, ago, badge, shortHash} from './dom.js';
import {errorBox, pageHead} from './ui.js';

const HEALTHS = ['healthy', 'stale', 'silent', 'never'];

export async function render(ctx) {
  const info = ctx.info;
  const [tablesRes, devRes] = await Promise.all([
    api('/v1/tables?counts=true', {signal: ctx.signal}),
    api('/v1/devices?summary=true', {signal: ctx.signal}).catch((e) => {
      if (e && e.name === 'AbortError') throw e;
      return {error: e};
    }),
  ]);
  if (!ctx.current()) return;
  const main = clear(ctx.main);
  main.appendChild(pageHead('Overview'));

  // The hub.
  const hub = h('dl', {id: 'hub', class: 'facts'},
    fact('Backend', 'backend', info.backend),
    fact('Database id', 'db_id', info.db_id),
    fact('Feed position', 'update_seq', info.update_seq),
    fact('Version', 'version', (info.engine || 'outpost') + ' ' + (info.version || '')));
  if (info.token) {
    hub.appendChild(fact('Signed in as', 'token', info.token.name));
    if (info.token.scope) hub.appendChild(fact('Read scope', 'token_scope', info.token.scope, 'code'));
  }
  if (info.scope) hub.appendChild(fact('Database scope', 'scope', info.scope, 'code'));

  const grid = h('div', {class: 'grid'});
  grid.appendChild(h('section', {class: 'card'}, h('h2', null, 'Hub'), hub));
  grid.appendChild(devicesCard(devRes));
  main.appendChild(grid);

  // Tables.
  const list = (tablesRes && tablesRes.tables) || [];
  const tbody = h('tbody');
  let totalR = 0, totalC = 0, haveCounts = false;
  for (const t of list) {
    const c = t.counts || null;
    if (c) { haveCounts = true; totalR += Number(c.records) || 0; totalC += Number(c.conflicts) || 0; }
    const conf = c ? Number(c.conflicts) || 0 : null;
    tbody.appendChild(h('tr', {'data-table': t.name},
      h('th', {scope: 'row'}, h('a', {href: route('tables', t.name)}, t.name)),
      h('td', {'data-field': 'records', class: 'num'}, c ? String(c.records) : '—'),
      h('td', {'data-field': 'conflicts', class: ['num', conf ? 'has-conflicts' : '']},
        c ? (conf ? h('a', {href: '#/conflicts?table=' + encodeURIComponent(t.name)}, String(c.conflicts)) : String(c.conflicts)) : '—'),
      h('td', {class: 'num'}, String((t.columns || []).length)),
      h('td', null, (t.columns || []).map((col) => col.name).join(', '))));
  }
  const table = h('table', {class: 'data', id: 'tables'},
    h('thead', null, h('tr', null, h('th', null, 'Table'), h('th', {class: 'num'}, 'Records'),
      h('th', {class: 'num'}, 'Conflicts'), h('th', {class: 'num'}, 'Columns'), h('th', null, 'Column names'))),
    tbody);
  const sec = h('section', {class: 'card'}, h('h2', null, 'Tables'));
  if (!list.length) sec.appendChild(h('p', {class: 'muted'}, 'This token sees no tables.'));
  else {
    sec.appendChild(scrollTable(table));
    if (haveCounts) {
      sec.appendChild(h('p', {class: 'muted small'}, totalR + ' records, ' + totalC + ' with conflicts',
        totalC ? [' — ', h('a', {href: '#/conflicts'}, 'resolve conflicts')] : null, '.'));
    }
  }
  main.appendChild(sec);
}

function fact(label, key, value, cls) {
  return h('div', {class: 'fact'}, h('dt', null, label),
    h('dd', {'data-field': key, class: cls}, value === undefined || value === null ? '—' : String(value)));
}

function devicesCard(res) {
  const card = h('section', {class: 'card'}, h('h2', null, 'Devices at a glance'));
  if (res.error) {
    const e = res.error;
    card.appendChild(h('div', {id: 'devices-summary'},
      e.code === 'forbidden' ? h('p', {class: 'muted'}, 'Device health is shown to admin tokens only. ', h('span', {class: 'small'}, e.message))
        : errorBox(e)));

    return card;
  }
  // The server adds it up (GET /v1/devices?summary=true): the page costs the
  // same with ten tokens or ten thousand.
  const summary = res.summary || {};
  const counts = Object.assign({healthy: 0, stale: 0, silent: 0, never: 0}, summary.health || {});
  const refusals = summary.refusals || [];
  const nTokens = summary.tokens || 0;
  const nRefusals = summary.refusal_count || 0;
  const sum = h('div', {id: 'devices-summary', class: 'health-summary'});
  const labels = {healthy: 'healthy', stale: 'stale', silent: 'silent', never: 'tokens never synced'};
  for (const k of HEALTHS) {
    sum.appendChild(h('a', {href: '#/devices', class: ['health-count', 'health-' + k]},
      h('span', {class: 'count', 'data-health': k}, String(counts[k])), h('span', {class: 'label'}, labels[k])));
  }
  card.appendChild(sum);
  const th = res.thresholds || {};
  card.appendChild(h('p', {class: 'muted small'}, nTokens + ' active tokens. Healthy: synced within ' +
    (th.healthy_hours || 24) + ' h; stale: within ' + (th.stale_days || 7) + ' days; silent: longer.'));
  refusals.sort((a, b) => String(b.at || '').localeCompare(String(a.at || '')));
  const rs = h('div', {id: 'refusals', class: 'refusals-block'},
    h('h3', null, 'Refusals ', h('span', {id: 'refusals-summary', class: ['badge', nRefusals ? 'warn' : 'ok'], 'data-count': String(nRefusals)}, String(nRefusals))));
  if (refusals.length) {
    const ul = h('ul', {class: 'refusals'});
    for (const r of refusals.slice(0, 5)) {
      ul.appendChild(h('li', null, ago(r.at, res.now), ' · ', h('strong', null, r.token), ' · ',
        h('a', {href: route('records', r.table, r.id)}, r.table + '/' + r.id), ' · ',
        h('code', null, r.code), ' ', h('span', {class: 'muted'}, shortHash(r.message || '', 140))));
    }
    rs.appendChild(ul);
    if (nRefusals > 5) rs.appendChild(h('p', {class: 'small'}, h('a', {href: '#/devices'}, 'All refusals on the devices page')));
  } else {
    rs.appendChild(h('p', {class: 'muted small'}, 'No device had a write refused.'));
  }
  card.appendChild(rs);
  return card;
}
