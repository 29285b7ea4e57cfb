// Conflicts: the winner and every conflicting branch side by side; choose a
// branch or pick field by field, and resolve through the API.
import {api, q, seg, pool} from './api.js';
import {h, clear, route, scrollTable, shortRev, button, badge} from './dom.js';
import {renderValue, valueKey, isNull} from './values.js';
import {pageHead, showError, errorBox, busy, idle} from './ui.js';

const PAGE = 20;
let flash = null;

function reload() { window.dispatchEvent(new HashChangeEvent('hashchange')); }

export async function render(ctx) {
  const after = ctx.query.get('after') || '';
  const table = ctx.query.get('table') || '';
  const res = await api('/v1/conflicts' + q({after, limit: PAGE, table}), {signal: ctx.signal});
  const list = res.conflicts || [];
  const defs = new Map();
  const tablesNeeded = [...new Set(list.map((c) => c.table))];
  await Promise.all(tablesNeeded.map(async (t) => {
    defs.set(t, await api('/v1/tables/' + seg(t), {signal: ctx.signal}));
  }));
  const loaded = await pool(list, 4, async (c) => {
    const base = '/v1/tables/' + seg(c.table) + '/records/' + seg(c.id);
    const revs = [c.winner, ...(c.conflicts || [])];
    try {
      const bodies = await Promise.all(revs.map((r) => api(base + q({rev: r}), {signal: ctx.signal})));
      return {c, bodies};
    } catch (e) {
      if (e && e.name === 'AbortError') throw e;
      return {c, error: e};
    }
  });
  if (!ctx.current()) return;

  const main = clear(ctx.main);
  main.appendChild(pageHead('Conflicts', h('p', {class: 'muted'},
    'Records edited in two places at once keep every branch until someone decides. The hub picked a provisional winner; ',
    'compare the branches, keep one, or pick each field, then resolve. The other branches become tombstones and devices receive the result at their next sync.')));
  if (flash) { main.appendChild(h('div', {class: 'notice', role: 'status', id: 'resolved-notice'}, flash)); flash = null; }
  if (table) main.appendChild(h('p', null, 'Only table ', h('strong', null, table), '. ', h('a', {href: '#/conflicts'}, 'Show all tables')));
  if (!list.length) {
    main.appendChild(h('p', {class: 'empty', id: 'no-conflicts'}, after ? 'No more conflicts.' : 'No conflicts: every record has a single live branch.'));
  }
  for (const item of loaded) main.appendChild(conflictSection(item, defs.get(item.c.table)));
  const pager = h('div', {class: 'pager'});
  if (after) pager.appendChild(h('a', {class: 'button', href: '#/conflicts', id: 'prev-page'}, '← First page'));
  if (res.next) {
    const p = new URLSearchParams(); p.set('after', res.next); if (table) p.set('table', table);
    pager.appendChild(h('a', {class: 'button', id: 'next-page', href: '#/conflicts?' + p.toString()}, 'Next page →'));
  }
  main.appendChild(pager);
}

function conflictSection({c, bodies, error}, def) {
  const key = c.table + '/' + c.id;
  const sec = h('section', {class: 'card conflict', 'data-conflict': key});
  sec.appendChild(h('h2', null, h('a', {href: route('records', c.table, c.id)}, c.table + ' / ' + c.id), ' ',
    badge((c.conflicts || []).length + 1 + ' branches', 'warn')));
  if (error) { sec.appendChild(errorBox(error)); return sec; }

  const cols = ((def && def.columns) || []).map((x) => x.name);
  for (const b of bodies) for (const k of Object.keys(b.attributes || {})) if (!cols.includes(k)) cols.push(k);
  const winner = bodies[0].revision;
  const st = {chosen: null, picks: new Map()};
  const form = h('form', {class: 'resolve-form', novalidate: true});
  form.addEventListener('submit', (ev) => ev.preventDefault());

  const summary = h('p', {class: 'resolve-summary'});
  const radios = [];
  function refresh() {
    const rev = st.chosen || winner;
    const fromOther = cols.filter((col) => st.picks.get(col) !== rev &&
      valueKey(attr(bodies, st.picks.get(col), col)) !== valueKey(attr(bodies, rev, col)));
    summary.textContent = 'Will keep ' + (rev === winner ? 'the winner ' : 'branch ') + shortRev(rev) +
      (fromOther.length ? ', with ' + fromOther.join(', ') + ' taken from other branches' : ' as it is') + '.';
    for (const th of sec.querySelectorAll('th[data-branch]')) th.classList.toggle('chosen', th.dataset.branch === rev);
    for (const r of radios) r.closest('td').classList.toggle('picked', r.checked);
  }

  const hrow = h('tr', null, h('th', {class: 'field-col'}, 'field'));
  bodies.forEach((b, i) => {
    const label = i === 0 ? 'winner' : 'branch ' + (i + 1);
    hrow.appendChild(h('th', {'data-branch': b.revision, class: i === 0 ? 'is-winner' : null},
      h('div', {class: 'branch-label'}, label, b.deleted ? ' (deleted)' : ''),
      h('code', {title: b.revision}, shortRev(b.revision)),
      h('div', null, button(i === 0 ? 'Keep the winner' : 'Keep this branch', {'data-choose': b.revision, class: 'small-btn'}, () => {
        st.chosen = b.revision;
        for (const col of cols) st.picks.set(col, b.revision);
        for (const r of radios) r.checked = r.value === b.revision;
        refresh();
      }))));
  });
  const tbody = h('tbody');
  let ndiff = 0;
  for (const col of cols) {
    const vals = bodies.map((b) => (b.attributes || {})[col]);
    const differs = new Set(vals.map(valueKey)).size > 1;
    if (differs) ndiff++;
    st.picks.set(col, winner);
    const tr = h('tr', {'data-attr': col, class: differs ? 'differs' : 'same'}, h('th', {scope: 'row'}, col));
    bodies.forEach((b, i) => {
      const radio = h('input', {type: 'radio', name: 'pick-' + col, value: b.revision, checked: i === 0,
        'aria-label': col + ' from ' + shortRev(b.revision)});
      radio.addEventListener('change', () => {
        if (!radio.checked) return;
        st.picks.set(col, b.revision);
        st.chosen = null;
        refresh();
      });
      radios.push(radio);
      tr.appendChild(h('td', {'data-rev': b.revision}, h('label', {class: 'pick'}, radio, renderValue(vals[i], true))));
    });
    tbody.appendChild(tr);
  }
  form.appendChild(scrollTable(h('table', {class: ['data', 'compare', bodies.length > 3 ? 'many' : '']}, h('thead', null, hrow), tbody)));
  form.appendChild(h('p', {class: 'muted small'}, ndiff + ' of ' + cols.length + ' fields differ (highlighted).'));
  const errSlot = h('div', {class: 'action-error'});
  const resolveBtn = button('Resolve', {'data-action': 'resolve', class: 'primary'}, async () => {
    const rev = st.chosen || winner;
    const attributes = {};
    for (const col of cols) {
      const v = attr(bodies, st.picks.get(col), col);
      if (v !== undefined && !isNull(v)) attributes[col] = v;
    }
    resolveBtn.disabled = true;
    busy();
    clear(errSlot);
    try {
      const out = await api('/v1/tables/' + seg(c.table) + '/records/' + seg(c.id) + '/resolve',
        {method: 'POST', body: {revision: rev, attributes}});
      flash = 'Resolved ' + key + ': new revision ' + out.revision + '.';
      reload();
    } catch (e) {
      resolveBtn.disabled = false;
      showError(e, errSlot);
      idle();
    }
  });
  form.appendChild(h('div', {class: 'actions'}, summary, resolveBtn));
  form.appendChild(errSlot);
  sec.appendChild(form);
  refresh();
  return sec;
}

function attr(bodies, rev, col) {
  const b = bodies.find((x) => x.revision === rev) || bodies[0];
  return (b.attributes || {})[col];
}
