// Tokens (admin): create (the secret is shown once), revoke, re-scope.
import {api, seg} from './api.js';
import {h, clear, scrollTable, shortHash, ago, badge, button, field} from './dom.js';
import {pageHead, showError, busy, idle} from './ui.js';
import {rescopeControl} from './rescope.js';

let flash = null;

function reload() { window.dispatchEvent(new HashChangeEvent('hashchange')); }

export async function render(ctx) {
  const res = await api('/v1/tokens', {signal: ctx.signal});
  if (!ctx.current()) return;
  const main = clear(ctx.main);
  main.appendChild(pageHead('Tokens', h('p', {class: 'muted'},
    'Each person or device signs in with a token. A scope limits which records it reads and writes.')));
  if (flash) { main.appendChild(h('div', {class: 'notice', role: 'status'}, flash)); flash = null; }

  // Create.
  const name = h('input', {id: 'token-name', type: 'text', required: true, pattern: '[A-Za-z0-9._\\-]{1,64}',
    autocomplete: 'off', spellcheck: 'false', placeholder: 'amina-tablet'});
  const scope = h('input', {id: 'token-scope', type: 'text', spellcheck: 'false', placeholder: "households: district = 'north'"});
  const wscope = h('input', {id: 'token-write-scope', type: 'text', spellcheck: 'false', placeholder: 'empty: writes nothing'});
  const admin = h('input', {id: 'token-admin', type: 'checkbox'});
  const expires = h('input', {id: 'token-expires', type: 'text', spellcheck: 'false', placeholder: '2027-06-30T00:00:00Z'});
  const copyWrite = button('Same as read scope', {id: 'token-copy-scope', class: 'small-btn'}, () => { wscope.value = scope.value; });
  admin.addEventListener('change', () => { for (const el of [scope, wscope]) el.disabled = admin.checked; });
  const secretSlot = h('div', {id: 'token-secret-slot'});
  const err = h('div', {class: 'action-error'});
  const create = h('button', {id: 'token-create', type: 'submit', class: 'primary'}, 'Create token');
  const form = h('form', {class: 'card create-token', novalidate: true},
    h('h2', null, 'New token'),
    h('div', {class: 'form-grid'},
      field('Name', name, 'Letters, digits, . _ - (up to 64).'),
      field('Expires at', expires, 'Empty: never expires.'),
      field('Read scope', scope, 'table: condition; … — empty with no admin: reads nothing.'),
      field('Write scope', h('span', {class: 'inline'}, wscope, copyWrite), 'Empty: this token writes nothing.')),
    h('label', {class: 'check'}, admin, ' Admin (manages tables and tokens, sees everything)'),
    h('div', {class: 'actions'}, create), err, secretSlot);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clear(err);
    const body = {name: name.value.trim()};
    if (admin.checked) body.admin = true;
    else {
      if (scope.value.trim()) body.scope = scope.value.trim();
      if (wscope.value.trim()) body.write_scope = wscope.value.trim();
    }
    if (expires.value.trim()) body.expires_at = expires.value.trim();
    create.disabled = true;
    busy();
    try {
      const t = await api('/v1/tokens', {method: 'POST', body});
      showSecret(secretSlot, t);
      name.value = ''; scope.value = ''; wscope.value = ''; expires.value = ''; admin.checked = false;
      for (const el of [scope, wscope]) el.disabled = false;
      await refreshList();
    } catch (e) {
      showError(e, err);
    } finally {
      create.disabled = false;
      idle();
    }
  });
  main.appendChild(form);

  const listSlot = h('section', {class: 'card'});
  main.appendChild(listSlot);
  drawList(res.tokens || []);

  async function refreshList() {
    const r = await api('/v1/tokens');
    if (ctx.current()) drawList(r.tokens || []);
  }

  function drawList(tokens) {
    clear(listSlot);
    const active = tokens.filter((t) => !t.revoked).length;
    listSlot.appendChild(h('h2', null, 'Tokens ', h('span', {class: 'muted small'}, active + ' active, ' + (tokens.length - active) + ' revoked')));
    const tb = h('tbody');
    for (const t of tokens) {
      const rc = rescopeControl(t, (nt) => {
        flash = 'Saved: ' + nt.name + ' now reads ' + (nt.scope || 'every record of its tables') + '.';
        reload();
      }, {label: 'Re-scope', btnClass: 'small-btn'});
      rc.button.setAttribute('data-action', 'rescope');
      const revoke = button('Revoke', {'data-action': 'revoke', class: 'small-btn danger', disabled: t.revoked}, async () => {
        const self = ctx.info && ctx.info.token && ctx.info.token.name === t.name;
        if (!window.confirm('Revoke the token "' + t.name + '"? It stops working at once, on every device that uses it.' +
          (self ? ' This is the token you are signed in with: you will be signed out.' : ''))) return;
        revoke.disabled = true;
        busy();
        try {
          await api('/v1/tokens/' + seg(t.name), {method: 'DELETE'});
          flash = 'Revoked ' + t.name + '.';
          reload();
        } catch (e) {
          revoke.disabled = false;
          showError(e);
          idle();
        }
      });
      const row = h('tr', {'data-token': t.name, class: t.revoked ? 'revoked' : null},
        h('th', {scope: 'row'}, t.name),
        h('td', null, t.revoked ? badge('revoked', 'bad') : t.admin ? badge('admin', 'info') : badge('active', 'ok')),
        h('td', null, t.admin ? h('span', {class: 'muted'}, 'everything') : t.scope ? h('code', {class: 'scope'}, t.scope)
          : h('span', null, listText(t.read))),
        h('td', null, t.admin ? h('span', {class: 'muted'}, 'everything') : t.write_scope ? h('code', {class: 'scope'}, t.write_scope)
          : h('span', null, listText(t.write))),
        h('td', null, t.scope_fingerprint ? h('code', {title: t.scope_fingerprint}, shortHash(t.scope_fingerprint, 12)) : '—'),
        h('td', null, ago(t.created_at)),
        h('td', null, t.expires_at ? ago(t.expires_at) : h('span', {class: 'muted'}, 'never')),
        h('td', null, t.rescoped_at ? ago(t.rescoped_at) : h('span', {class: 'muted'}, 'never')),
        h('td', {class: 'row-actions'}, t.admin || t.revoked ? null : rc.button, revoke));
      tb.appendChild(row);
      if (!t.admin && !t.revoked) {
        rc.button.addEventListener('click', () => { panelRow.hidden = rc.panel.hidden; });
        const panelRow = h('tr', {class: 'panel-row', hidden: true}, h('td', {colspan: '9'}, rc.panel));
        tb.appendChild(panelRow);
      }
    }
    listSlot.appendChild(scrollTable(h('table', {class: 'data tokens', id: 'tokens'},
      h('thead', null, h('tr', null, h('th', null, 'name'), h('th', null, 'status'), h('th', null, 'reads'),
        h('th', null, 'writes'), h('th', null, 'fingerprint'), h('th', null, 'created'), h('th', null, 'expires'),
        h('th', null, 're-scoped'), h('th', null, 'actions'))), tb)));
  }
}

function listText(l) {
  if (!l || !l.length) return 'nothing';
  return 'all of ' + l.join(', ');
}

function showSecret(slot, t) {
  clear(slot);
  const secret = h('output', {id: 'token-secret', class: 'secret-text', 'data-token': t.name, 'aria-label': 'The new token'}, t.secret || '');
  const status = h('span', {class: 'muted small', role: 'status'});
  const copy = button('Copy', {id: 'token-copy', class: 'primary'}, async () => {
    const range = document.createRange();
    range.selectNodeContents(secret);
    const sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    try {
      await navigator.clipboard.writeText(t.secret || '');
      status.textContent = 'Copied.';
    } catch (e) {
      let ok = false;
      try { ok = document.execCommand('copy'); } catch (e2) { ok = false; }
      status.textContent = ok ? 'Copied.' : 'Selected: copy it with Ctrl+C.';
    }
  });
  slot.appendChild(h('div', {class: 'secret-box'},
    h('p', null, h('strong', null, 'Token ' + t.name + ' created. '),
      'Copy it now: it is shown only once and cannot be read back.'),
    h('div', {class: 'inline'}, secret, copy, status)));
}
