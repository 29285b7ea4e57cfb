// Re-scope a token: preview (PUT ?dry_run=true) what would enter and leave
// its devices, then save (PUT).
import {api, seg} from './api.js';
import {h, clear, scrollTable, button, ago, shortHash, field} from './dom.js';
import {showError, busy, idle} from './ui.js';

const DEFAULT_GRACE_DAYS = 90;

// Returns {button, panel}: the button opens the panel.
export function rescopeControl(tok, onSaved, opts = {}) {
  const panel = h('div', {class: 'rescope', hidden: true, 'data-rescope': tok.name});
  const open = button(opts.label || 'Re-scope…', {'data-action': 'preview', class: opts.btnClass || null}, () => {
    if (panel.hidden) { build(); panel.hidden = false; panel.querySelector('textarea').focus(); }
    else panel.hidden = true;
  });
  if (tok.admin || tok.revoked) {
    open.disabled = true;
    open.title = tok.admin ? 'An admin token takes no scope' : 'This token is revoked';
  }

  function build() {
    clear(panel);
    const scopeIn = h('textarea', {class: 'rescope-scope', rows: 3, spellcheck: 'false',
      placeholder: "households: district = 'south'; visits: district = 'south'"});
    scopeIn.value = tok.scope || '';
    const writeIn = h('textarea', {class: 'rescope-write-scope', rows: 2, spellcheck: 'false',
      placeholder: 'unchanged'});
    const origWrite = tok.write_scope || '';
    writeIn.value = origWrite;
    const grace = h('input', {class: 'rescope-grace', type: 'number', min: '0', step: '1', value: String(DEFAULT_GRACE_DAYS)});
    const out = h('div', {class: 'preview', 'aria-live': 'polite'});
    const err = h('div', {class: 'action-error'});
    let previewed = null;

    function bodyOf() {
      const b = {scope: scopeIn.value.trim()};
      const w = writeIn.value.trim();
      if (w && w !== origWrite.trim()) b.write_scope = w;
      const g = grace.value.trim();
      if (g !== '' && Number(g) !== DEFAULT_GRACE_DAYS) b.grace_seconds = Math.round(Number(g) * 86400);
      if (!b.scope) delete b.scope;
      return b;
    }
    const save = button('Save re-scope', {'data-action': 'save', class: 'primary', disabled: true}, async () => {
      const b = bodyOf();
      if (JSON.stringify(b) !== previewed) { save.disabled = true; return; }
      save.disabled = true;
      busy();
      clear(err);
      try {
        const t = await api('/v1/tokens/' + seg(tok.name), {method: 'PUT', body: b});
        panel.dataset.state = 'saved';
        if (onSaved) onSaved(t);
      } catch (e) {
        save.disabled = false;
        showError(e, err);
        idle();
      }
    });
    const run = button('Preview', {'data-action': 'preview-run'}, async () => {
      const b = bodyOf();
      clear(err);
      if (b.scope === undefined && b.write_scope === undefined) {
        // Nothing would change: say so rather than preview a no-op.
        clear(out);
        save.disabled = true;
        err.appendChild(h('p', null, 'Type the new read scope (or a new write scope) first.'));
        return;
      }
      clear(out).appendChild(h('p', {class: 'muted'}, 'Counting…'));
      save.disabled = true;
      run.disabled = true;
      busy();
      try {
        const res = await api('/v1/tokens/' + seg(tok.name) + '?dry_run=true', {method: 'PUT', body: b});
        previewed = JSON.stringify(b);
        showPreview(out, res, tok);
        panel.dataset.state = 'previewed';
        save.disabled = false;
      } catch (e) {
        clear(out);
        showError(e, err);
      } finally {
        run.disabled = false;
        idle();
      }
    });
    const onEdit = () => { if (previewed !== null && JSON.stringify(bodyOf()) !== previewed) save.disabled = true; };
    for (const el of [scopeIn, writeIn, grace]) el.addEventListener('input', onEdit);
    panel.append(
      h('h3', null, 'Re-scope ', h('strong', null, tok.name)),
      field('New read scope', scopeIn, 'One clause per table: table: condition (or *), separated by ";".'),
      field('New write scope', writeIn, 'Left as it is, it moves along with the read scope when the two were the same.'),
      field('Grace for earlier edits (days)', grace, 'Edits devices made offline under the old write scope are still accepted this long.'),
      h('div', {class: 'actions'}, run, save, button('Cancel', {'data-action': 'cancel'}, () => { panel.hidden = true; })),
      err, out);
  }
  return {button: open, panel};
}

function showPreview(out, res, tok) {
  clear(out);
  const p = res.preview || {};
  const t = res.token || {};
  out.appendChild(h('p', {class: 'preview-summary'},
    'At its next sync, each of this token’s devices would receive ',
    h('strong', {'data-field': 'enter'}, String(p.enter ?? 0)), ' records and drop ',
    h('strong', {'data-field': 'leave'}, String(p.leave ?? 0)), '. Nothing is saved yet.'));
  const tb = h('tbody');
  for (const r of p.tables || []) {
    tb.appendChild(h('tr', {'data-table': r.table}, h('th', {scope: 'row'}, r.table),
      h('td', {class: 'num enter', 'data-field': 'enter'}, '+' + r.enter),
      h('td', {class: 'num leave', 'data-field': 'leave'}, '−' + r.leave),
      h('td', {class: 'num', 'data-field': 'stay'}, String(r.stay ?? '—'))));
  }
  out.appendChild(scrollTable(h('table', {class: 'data'}, h('thead', null, h('tr', null,
    h('th', null, 'table'), h('th', {class: 'num'}, 'enter'), h('th', {class: 'num'}, 'leave'), h('th', {class: 'num'}, 'stay'))), tb)));
  const devs = p.devices || [];
  out.appendChild(h('p', {class: 'small'}, devs.length
    ? devs.length + (devs.length === 1 ? ' device' : ' devices') + ' would follow: '
    : 'No device has synced with this token yet, so no data moves now.'));
  if (devs.length) {
    out.appendChild(h('ul', {class: 'small'}, devs.map((d) => h('li', {'data-device': d.db_id},
      h('code', {title: d.db_id}, shortHash(d.db_id, 13)), ' — last pull ', ago(d.last_pull),
      d.caught_up === false ? ' (not yet caught up with the previous re-scope)' : ''))));
  }
  if (t.scope !== undefined) {
    out.appendChild(h('dl', {class: 'facts small'},
      h('div', {class: 'fact'}, h('dt', null, 'Read scope would be'), h('dd', {class: 'code'}, t.scope || '(none)')),
      h('div', {class: 'fact'}, h('dt', null, 'Write scope would be'), h('dd', {class: 'code'}, t.write_scope || '(none)')),
      h('div', {class: 'fact'}, h('dt', null, 'Fingerprint'), h('dd', {class: 'code', title: t.scope_fingerprint || ''}, shortHash(t.scope_fingerprint || '', 16)))));
  }
  void tok;
}
