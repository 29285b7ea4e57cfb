// The revision tree as an SVG graph: generations left to right, branches in
// lanes, tombstones hollow and crossed, leaves ringed, the winner starred.
import {h, s, shortRev} from './dom.js';

function gen(rev) {
  const n = parseInt(String(rev), 10);
  return Number.isFinite(n) ? n : 0;
}

// nodes: [{revision, parent, deleted, leaf, stub, winner}]
export function layout(nodes) {
  const byRev = new Map();
  for (const n of nodes) byRev.set(n.revision, Object.assign({children: []}, n));
  const roots = [];
  for (const n of byRev.values()) {
    const p = n.parent && byRev.get(n.parent);
    if (p) p.children.push(n); else roots.push(n);
  }
  // Does the subtree hold the winner? Put that branch first (lane 0).
  const holdsWinner = new Map();
  function hw(n) {
    if (holdsWinner.has(n)) return holdsWinner.get(n);
    holdsWinner.set(n, false);
    const v = !!n.winner || n.children.some(hw);
    holdsWinner.set(n, v);
    return v;
  }
  const order = (a, b) => (hw(b) - hw(a)) || ((b.leaf && !b.deleted) - (a.leaf && !a.deleted)) ||
    (a.revision < b.revision ? -1 : a.revision > b.revision ? 1 : 0);
  roots.sort(order);
  let lanes = 0;
  const seen = new Set();
  function place(n, lane) {
    if (seen.has(n)) return;
    seen.add(n);
    n.lane = lane;
    n.children.sort(order);
    n.children.forEach((c, i) => place(c, i === 0 ? lane : lanes++));
  }
  for (const r of roots) place(r, lanes++);
  const gens = [...new Set([...byRev.values()].map((n) => gen(n.revision)))].sort((a, b) => a - b);
  const col = new Map(gens.map((g, i) => [g, i]));
  for (const n of byRev.values()) n.col = col.get(gen(n.revision));
  return {nodes: [...byRev.values()], gens, lanes: Math.max(lanes, 1), byRev};
}

export function drawTree(nodes, onPick) {
  const L = layout(nodes);
  const dx = 112, dy = 58, padX = 48, padTop = 56, padBottom = 34, r = 10;
  const width = padX * 2 + Math.max(0, L.gens.length - 1) * dx;
  const height = padTop + padBottom + (L.lanes - 1) * dy;
  const X = (n) => padX + n.col * dx;
  const Y = (n) => padTop + n.lane * dy;
  const svg = s('svg', {id: 'rev-tree', xmlns: 'http://www.w3.org/2000/svg', width, height,
    viewBox: '0 0 ' + width + ' ' + height, role: 'img', 'aria-label': 'Revision tree, ' + nodes.length + ' revisions'});
  svg.appendChild(s('title', null, 'Revision tree: ' + nodes.length + ' revisions in ' + L.lanes + ' branches'));
  const axis = s('g', {class: 'axis'});
  L.gens.forEach((g, i) => axis.appendChild(s('text', {x: padX + i * dx, y: 14, 'text-anchor': 'middle'}, 'gen ' + g)));
  svg.appendChild(axis);
  const edges = s('g', {class: 'edges'});
  for (const n of L.nodes) {
    const p = n.parent && L.byRev.get(n.parent);
    if (!p) continue;
    const x1 = X(p), y1 = Y(p), x2 = X(n), y2 = Y(n);
    const d = y1 === y2 ? `M${x1 + r},${y1} L${x2 - r},${y2}`
      : `M${x1 + r},${y1} C${x1 + dx * 0.6},${y1} ${x2 - dx * 0.6},${y2} ${x2 - r},${y2}`;
    const skip = n.col - p.col > 1 || gen(n.revision) - gen(p.revision) > 1;
    edges.appendChild(s('path', {d, class: ['edge', skip ? 'edge-gap' : '', n.deleted ? 'edge-dead' : ''],
      'data-from': p.revision, 'data-to': n.revision}));
  }
  svg.appendChild(edges);
  const g = s('g', {class: 'nodes'});
  for (const n of L.nodes) {
    const x = X(n), y = Y(n);
    const states = [];
    if (n.winner) states.push('winner');
    if (n.leaf) states.push('leaf');
    if (n.deleted) states.push('deleted (tombstone)');
    if (n.stub) states.push('held without its body');
    const node = s('g', {class: ['rev', n.deleted ? 'rev-deleted' : 'rev-live', n.leaf ? 'rev-leaf' : '',
      n.winner ? 'rev-winner' : '', n.stub ? 'rev-stub' : ''],
      'data-rev': n.revision, 'data-winner': n.winner ? '1' : null, 'data-deleted': n.deleted ? '1' : null,
      'data-leaf': n.leaf ? '1' : null, 'data-stub': n.stub ? '1' : null,
      tabindex: n.stub ? null : '0', role: n.stub ? null : 'button', transform: `translate(${x},${y})`});
    node.appendChild(s('title', null, n.revision + (states.length ? ' — ' + states.join(', ') : '')));
    if (n.leaf) node.appendChild(s('circle', {class: 'leaf-ring', r: r + 5}));
    node.appendChild(s('circle', {class: 'dot', r}));
    if (n.deleted) {
      const k = r * 0.6;
      node.appendChild(s('path', {class: 'cross', d: `M${-k},${-k} L${k},${k} M${-k},${k} L${k},${-k}`}));
    }
    if (n.winner) {
      node.appendChild(s('path', {class: 'star', d: starPath(0, -r - 14, 7, 3)}));
    }
    node.appendChild(s('text', {class: 'label', y: r + 19, 'text-anchor': 'middle'}, shortRev(n.revision)));
    if (onPick && !n.stub) {
      node.addEventListener('click', () => onPick(n.revision, node));
      node.addEventListener('keydown', (ev) => {
        if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); onPick(n.revision, node); }
      });
    }
    g.appendChild(node);
  }
  svg.appendChild(g);
  return svg;
}

function starPath(cx, cy, R, rr) {
  let d = '';
  for (let i = 0; i < 10; i++) {
    const a = Math.PI / 5 * i - Math.PI / 2;
    const rad = i % 2 ? rr : R;
    d += (i ? 'L' : 'M') + (cx + rad * Math.cos(a)).toFixed(2) + ',' + (cy + rad * Math.sin(a)).toFixed(2);
  }
  return d + 'Z';
}

export function legend() {
  const item = (cls, label) => h('li', null, h('span', {class: ['key', cls]}), label);
  return h('ul', {class: 'tree-legend'},
    item('key-live', 'revision'), item('key-deleted', 'tombstone (deleted)'),
    item('key-leaf', 'leaf (ringed)'), item('key-winner', 'winner (star)'), item('key-stub', 'held without body'));
}
