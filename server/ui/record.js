// A record: its values, its conflicts and its revision tree.
import {api, q, seg} from './api.js';
import {h, clear, route, scrollTable, shortRev, badge} from './dom.js';
import {renderValue, typeOf, valueKey} from './values.js';
import {drawTree, legend} from './tree.js';
import {pageHead, showError} from './ui.js';

export async function render(ctx) {
  const [t, id] = ctx.params;
  if (id === undefined || id === '') {
    location.replace(route('tables', t || ''));
    return;
  }
  const base = '/v1/tables/' + seg(t) + '/records/' + seg(id);
  const [def, rec] = await Promise.all([
    api('/v1/tables/' + seg(t), {signal: ctx.signal}),
    api(base + q({tree: 'true', conflicts: 'true'}), {signal: ctx.signal}),
  ]);
  const conflicts = rec.conflicts || [];
  const others = await Promise.all(conflicts.map((r) => api(base + q({rev: r}), {signal: ctx.signal})));
  let tree = rec.tree;
  let treeNote = '';
  if (!Array.isArray(tree)) {
    tree = await fallbackTree(base, rec, conflicts, ctx.signal);
    treeNote = 'This hub does not report the whole tree; shown: the winner and conflicting leaves with their ancestors.';
  }
  if (!ctx.current()) return;

  const main = clear(ctx.main);
  const head = pageHead(t + ' / ' + id);
  head.appendChild(h('p', {class: 'crumbs'}, h('a', {href: route('tables', t)}, '← ' + t), ' ',
    rec.deleted ? badge('deleted', 'bad') : badge('live', 'ok'), ' ',
    conflicts.length ? [badge(conflicts.length + (conflicts.length === 1 ? ' conflict' : ' conflicts'), 'warn'), ' ',
      h('a', {href: '#/conflicts'}, 'resolve on the conflicts page')] : null));
  main.appendChild(head);

  // Values of the winner (and of the conflicting leaves beside it).
  const cols = (def.columns || []).map((c) => c.name);
  const types = new Map((def.columns || []).map((c) => [c.name, c]));
  const all = [rec, ...others];
  for (const r of all) for (const k of Object.keys(r.attributes || {})) if (!cols.includes(k)) cols.push(k);
  const hrow = h('tr', null, h('th', null, 'field'), h('th', null, 'type'),
    h('th', {'data-branch-col': rec.revision}, 'winner ', h('code', {title: rec.revision}, shortRev(rec.revision))),
    others.map((o) => h('th', {'data-branch-col': o.revision}, 'conflict ', h('code', {title: o.revision}, shortRev(o.revision)))));
  const tbody = h('tbody');
  for (const c of cols) {
    const vals = all.map((r) => (r.attributes || {})[c]);
    const differs = new Set(vals.map(valueKey)).size > 1;
    const def = types.get(c);
    tbody.appendChild(h('tr', {'data-attr': c, class: differs ? 'differs' : null},
      h('th', {scope: 'row'}, c, def && def.required ? h('span', {class: 'req', title: 'required'}, ' *') : null),
      h('td', {class: 'muted'}, def ? def.type : typeOf(vals[0])),
      vals.map((v) => h('td', null, renderValue(v, true)))));
  }
  const valSec = h('section', {class: 'card'}, h('h2', null, 'Values'),
    h('p', {class: 'muted small'}, 'Winning revision ', h('code', null, rec.revision),
      rec.deleted ? ' — this record is deleted; its last values are not shown.' : ''));
  valSec.appendChild(scrollTable(h('table', {class: 'data values', id: 'values'}, h('thead', null, hrow), tbody)));
  main.appendChild(valSec);

  // The tree.
  const picked = h('div', {class: 'rev-body', id: 'rev-body'},
    h('p', {class: 'muted small'}, 'Select a revision in the graph to see its values.'));
  const treeSec = h('section', {class: 'card'}, h('h2', null, 'Revision tree'),
    h('p', {class: 'muted small'}, tree.length + ' revisions. ' + treeNote));
  const wrap = h('div', {class: 'tree-wrap'}, drawTree(tree, (rev, node) => showRev(base, rev, node, picked, cols)));
  treeSec.appendChild(wrap);
  treeSec.appendChild(legend());
  treeSec.appendChild(picked);
  main.appendChild(treeSec);
  // Long histories: show the newest generations (the leaves) first.
  wrap.scrollLeft = wrap.scrollWidth;
}

async function showRev(base, rev, node, out, cols) {
  for (const el of document.querySelectorAll('#rev-tree g.selected')) el.classList.remove('selected');
  node.classList.add('selected');
  clear(out).appendChild(h('p', {class: 'muted small'}, 'Loading ' + rev + '…'));
  try {
    const r = await api(base + q({rev}));
    clear(out);
    out.appendChild(h('h3', null, 'Revision ', h('code', null, r.revision), r.deleted ? ' (tombstone)' : ''));
    const attrs = r.attributes || {};
    const keys = [...new Set([...cols, ...Object.keys(attrs)])];
    const tb = h('tbody', null, keys.map((k) => h('tr', null, h('th', {scope: 'row'}, k), h('td', null, renderValue(attrs[k], true)))));
    out.appendChild(scrollTable(h('table', {class: 'data'}, tb)));
  } catch (e) {
    showError(e, out);
  }
}

// Without ?tree=true: the winner's and conflicts' ancestry.
async function fallbackTree(base, rec, conflicts, signal) {
  const leaves = [rec.revision, ...conflicts];
  const res = await Promise.all(leaves.map((r) => api(base + q({rev: r, ancestry: 'true'}), {signal})));
  const nodes = new Map();
  res.forEach((r, i) => {
    const chain = [r.revision, ...(r.ancestry || [])];
    chain.forEach((rev, k) => {
      if (!nodes.has(rev)) nodes.set(rev, {revision: rev, parent: chain[k + 1] || null, deleted: false, leaf: false, stub: false, winner: false});
      if (k === 0) Object.assign(nodes.get(rev), {leaf: true, deleted: !!r.deleted, winner: i === 0});
    });
  });
  return [...nodes.values()];
}
