// Typed values: {"string": "…"}, {"int": "6"}, {"float": "0.5"},
// {"bool": "true"}, {"bytes": "base64"}, {"timestamp": "…Z"}, {"null": "true"}.
import {h} from './dom.js';

export function typeOf(v) {
  if (v === undefined || v === null) return 'null';
  if (typeof v !== 'object') return 'raw';
  const keys = Object.keys(v);
  return keys.length === 1 ? keys[0] : 'raw';
}

export function isNull(v) {
  return typeOf(v) === 'null';
}

// A key that is equal for equal values (null and missing are equal).
export function valueKey(v) {
  const t = typeOf(v);
  if (t === 'null') return 'null';
  if (t === 'raw') return 'raw:' + JSON.stringify(v);
  return t + ':' + String(v[t]);
}

export function valueText(v) {
  const t = typeOf(v);
  if (t === 'null') return '';
  if (t === 'raw') return JSON.stringify(v);
  return String(v[t]);
}

function bytesLen(b64) {
  const s = String(b64);
  const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  return Math.max(0, Math.floor(s.length * 3 / 4) - pad);
}

// Renders a value readably, as text. `full` keeps long strings whole.
export function renderValue(v, full) {
  const t = typeOf(v);
  if (t === 'null') return h('span', {class: 'v v-null', title: 'null'}, '—');
  if (t === 'raw') return h('span', {class: 'v v-raw'}, JSON.stringify(v));
  const text = String(v[t]);
  switch (t) {
    case 'string': {
      if (text === '') return h('span', {class: 'v v-string v-empty', title: 'empty string'}, '""');
      if (!full && text.length > 120) {
        return h('span', {class: 'v v-string', title: text}, text.slice(0, 117) + '…');
      }
      return h('span', {class: 'v v-string'}, text);
    }
    case 'int':
    case 'float':
      return h('span', {class: 'v v-num', title: t}, text);
    case 'bool':
      return h('span', {class: ['v', 'v-bool', text === 'true' ? 'v-true' : 'v-false'], title: 'bool'}, text);
    case 'timestamp': {
      const d = new Date(text);
      const title = Number.isNaN(d.getTime()) ? text : text + ' — local: ' + d.toLocaleString();
      return h('time', {class: 'v v-time', datetime: text, title}, text.replace('T', ' ').replace(/\.000000Z$/, 'Z'));
    }
    case 'bytes': {
      const n = bytesLen(text);
      const preview = text.length > 24 ? text.slice(0, 24) + '…' : text;
      const shown = full ? (text.length > 4096 ? text.slice(0, 4096) + '… (cut; base64)' : text) : preview;
      return h('span', {class: 'v v-bytes', title: full ? 'base64' : text.slice(0, 2000)},
        h('span', {class: 'muted'}, n + ' bytes '), shown);
    }
    default:
      return h('span', {class: 'v', title: t}, text);
  }
}
