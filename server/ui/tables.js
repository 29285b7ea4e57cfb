// Records browser: one table's live records, a where filter, paging by `next`.
import {api, q, seg} from './api.js';
import {h, clear, route, scrollTable, shortRev, button} from './dom.js';
import {renderValue} from './values.js';
import {pageHead, busy} from './ui.js';

// Previous pages' `after` values, per table and filter, for "previous".
const trails = new Map();

function hashFor(t, where, after, limit) {
  const p = new URLSearchParams();
  if (where) p.set('where', where);
  if (after) p.set('after', after);
  if (limit && limit !== 50) p.set('limit', String(limit));
  const qs = p.toString();
  return route('tables', t) + (qs ? '?' + qs : '');
}

export async function render(ctx) {
  if (!ctx.params[0]) return renderPicker(ctx);
  const t = ctx.params[0];
  const where = ctx.query.get('where') || '';
  const after = ctx.query.get('after') || '';
  let limit = parseInt(ctx.query.get('limit') || '50', 10);
  if (!(limit > 0 && limit <= 1000)) limit = 50;
  const trailKey = t + '\u0000' + where + '\u0000' + limit;
  const trail = trails.get(trailKey) || [];
  if (!after) trail.length = 0;
  trails.set(trailKey, trail);

  const main = ctx.main;
  const whereInput = h('input', {id: 'where', type: 'text', value: where, spellcheck: 'false',
    placeholder: "district = 'north' AND size > 3", 'aria-label': 'Where clause'});
  const apply = h('button', {id: 'where-apply', type: 'submit', class: 'primary'}, 'Apply');
  const clearBtn = button('Clear', {id: 'where-clear'}, () => { busy(); location.hash = hashFor(t, '', '', limit); });
  const form = h('form', {class: 'filter-bar'}, h('label', {class: 'field grow'},
    h('span', {class: 'field-label'}, 'Where'), whereInput), apply, where ? clearBtn : null);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy();
    const w = whereInput.value.trim();
    const next = hashFor(t, w, '', limit);
    if (location.hash === next) window.dispatchEvent(new HashChangeEvent('hashchange'));
    else location.hash = next;
  });

  const head = pageHead('Records: ' + t);
  const errorSlot = h('div');
  clear(main);
  main.append(head, form, errorSlot);

  const [def, res] = await Promise.all([
    api('/v1/tables/' + seg(t), {signal: ctx.signal}),
    api('/v1/tables/' + seg(t) + '/records' + q({after, limit, where}), {signal: ctx.signal}),
  ]);
  if (!ctx.current()) return;
  const cols = (def.columns || []).map((c) => c.name);
  const records = res.records || [];
  const seen = new Set(cols);
  for (const r of records) for (const k of Object.keys(r.attributes || {})) if (!seen.has(k)) { seen.add(k); cols.push(k); }

  const headRow = h('tr', null, h('th', null, 'id'), h('th', null, 'revision'),
    cols.map((c) => h('th', {'data-col': c}, c)));
  const tbody = h('tbody');
  for (const r of records) {
    tbody.appendChild(h('tr', {'data-id': r.id},
      h('th', {scope: 'row'}, h('a', {href: route('records', t, r.id)}, r.id)),
      h('td', null, h('code', {title: r.revision}, shortRev(r.revision))),
      cols.map((c) => h('td', {'data-attr': c}, renderValue((r.attributes || {})[c])))));
  }
  const next = res.next || '';
  const prevBtn = button('← Previous', {id: 'prev-page', disabled: !after}, () => {
    busy();
    const p = trail.pop();
    location.hash = hashFor(t, where, p || '', limit);
  });
  const nextBtn = button('Next →', {id: 'next-page', disabled: !next}, () => {
    busy();
    trail.push(after);
    location.hash = hashFor(t, where, next, limit);
  });
  const sizeSel = h('select', {id: 'page-size', 'aria-label': 'Records per page'},
    [25, 50, 100, 200, 500].map((n) => h('option', {value: String(n), selected: n === limit}, n + ' per page')));
  sizeSel.addEventListener('change', () => { busy(); location.hash = hashFor(t, where, '', parseInt(sizeSel.value, 10)); });
  const start = trail.length * limit;
  const status = records.length
    ? 'Records ' + (after && !trail.length ? 'after “' + after + '”' : (start + 1) + '–' + (start + records.length)) +
      (where ? ' matching the filter' : '') + (next ? '' : ' (end of table)')
    : (where ? 'No record matches this filter.' : (after ? 'No more records.' : 'This table holds no live record that this token can see.'));

  head.appendChild(h('p', {class: 'muted'}, (def.columns || []).length + ' columns. ',
    h('a', {href: '#/conflicts'}, 'Conflicts'), ' · ', h('a', {href: route('changes') + '?tables=' + encodeURIComponent(t)}, 'Changes')));
  main.appendChild(h('p', {class: 'status', id: 'records-status'}, status));
  if (records.length) {
    main.appendChild(scrollTable(h('table', {class: 'data records', id: 'records'}, h('thead', null, headRow), tbody)));
  }
  main.appendChild(h('div', {class: 'pager'}, prevBtn, nextBtn, sizeSel));
}

async function renderPicker(ctx) {
  const res = await api('/v1/tables?counts=true', {signal: ctx.signal});
  if (!ctx.current()) return;
  const main = clear(ctx.main);
  main.appendChild(pageHead('Records'));
  const list = res.tables || [];
  if (!list.length) { main.appendChild(h('p', {class: 'muted'}, 'This token sees no tables.')); return; }
  const ul = h('ul', {class: 'table-picker'});
  for (const t of list) {
    ul.appendChild(h('li', {'data-table': t.name}, h('a', {href: route('tables', t.name)},
      h('strong', null, t.name), h('span', {class: 'muted'}, t.counts ? ' ' + t.counts.records + ' records' : ''))));
  }
  main.appendChild(h('p', null, 'Choose a table to browse:'));
  main.appendChild(ul);
}
