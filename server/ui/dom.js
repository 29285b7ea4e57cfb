// DOM helpers. Every value from the API goes into the page as text
// (createTextNode / textContent) or through setAttribute of a plain attribute:
// this file never parses HTML.

const SVG_NS = 'http://www.w3.org/2000/svg';

function apply(el, attrs) {
  if (!attrs) return;
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'on') {
      for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    } else if (k === 'class') {
      el.setAttribute('class', Array.isArray(v) ? v.filter(Boolean).join(' ') : v);
    } else if (k === 'text') {
      el.textContent = String(v);
    } else if (k === 'href') {
      // Links are hash routes only, built by route().
      if (typeof v !== 'string' || !v.startsWith('#/')) throw new Error('refused link');
      el.setAttribute('href', v);
    } else if (/^on/i.test(k) || k === 'style' || k === 'src' || k === 'srcdoc') {
      throw new Error('refused attribute ' + k);
    } else if (k === 'checked' || k === 'disabled' || k === 'value' || k === 'readOnly') {
      el[k] = v;
      if (k !== 'value' && v === true) el.setAttribute(k === 'readOnly' ? 'readonly' : k, '');
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

// h('tr', {class: 'x', 'data-id': id}, 'text', child, [more])
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  apply(el, attrs);
  append(el, children);
  return el;
}

export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  apply(el, attrs);
  append(el, children);
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

// '#/records/' + encoded parts
export function route(...parts) {
  return '#/' + parts.map((p) => encodeURIComponent(String(p))).join('/');
}

export function shortRev(rev) {
  if (typeof rev !== 'string') return '';
  const i = rev.indexOf('-');
  if (i < 0) return rev.slice(0, 10);
  return rev.slice(0, i + 1) + rev.slice(i + 1, i + 7);
}

export function shortHash(x, n = 12) {
  if (typeof x !== 'string') return '';
  return x.length > n ? x.slice(0, n) + '…' : x;
}

// A relative age ("5 min ago") with the absolute time on hover.
export function ago(ts, now) {
  if (!ts) return h('span', {class: 'muted'}, 'never');
  const t = Date.parse(ts);
  if (Number.isNaN(t)) return h('span', null, ts);
  const ref = now ? Date.parse(now) : Date.now();
  const sec = Math.round(((Number.isNaN(ref) ? Date.now() : ref) - t) / 1000);
  return h('time', {datetime: ts, title: absTime(ts)}, relText(sec));
}

export function relText(sec) {
  const future = sec < 0;
  const a = Math.abs(sec);
  let out;
  if (a < 45) out = a + ' s';
  else if (a < 5400) out = Math.round(a / 60) + ' min';
  else if (a < 36 * 3600) out = Math.round(a / 3600) + ' h';
  else if (a < 60 * 86400) out = Math.round(a / 86400) + ' days';
  else if (a < 730 * 86400) out = Math.round(a / (30 * 86400)) + ' months';
  else out = Math.round(a / (365 * 86400)) + ' years';
  return future ? 'in ' + out : out + ' ago';
}

export function absTime(ts) {
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return String(ts);
  return d.toLocaleString() + ' (' + ts + ')';
}

export function fmtTime(ts) {
  if (!ts) return h('span', {class: 'muted'}, '—');
  return h('time', {datetime: ts, title: ts}, new Date(ts).toLocaleString());
}

// A table in a horizontally scrolling box.
export function scrollTable(table) {
  return h('div', {class: 'table-wrap'}, table);
}

export function button(label, attrs, onClick) {
  const b = h('button', Object.assign({type: 'button'}, attrs || {}), label);
  if (onClick) b.addEventListener('click', onClick);
  return b;
}

export function badge(text, cls) {
  return h('span', {class: ['badge', cls]}, text);
}

export function field(label, control, hint) {
  return h('label', {class: 'field'}, h('span', {class: 'field-label'}, label), control,
    hint ? h('span', {class: 'hint'}, hint) : null);
}
