"""The web console (issue 19) in a real browser, against a real hub.

Every page is driven as a user would (the form, clicks, radios) and every
outcome is checked against the JSON API or a device's own database. The DOM
hooks are those of the contract between the UI and these tests
(body data-page/data-ready, data-table, data-conflict, ...)."""

from __future__ import annotations

import json
import re
import time
import urllib.parse

import pngcheck
from conftest import REPO, Console, Hub, plain, q, sel_attr

UI_DIR = REPO / "server" / "ui"
CSP = ("default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
       "base-uri 'none'; form-action 'self'")

HOUSEHOLDS = [("head_name", "string", True), ("size", "int"), ("village", "string"),
              ("district", "string")]


# --- seeding -------------------------------------------------------------------
def seed_households(api, n_north=4, n_south=3):
    api.create_table("households", HOUSEHOLDS)
    api.create_table("visits", [("household", "string"), ("note", "string")])
    for i in range(1, n_north + 1):
        api.put_record("households", f"north-{i}", {"head_name": f"North Head {i}", "size": i,
                                                    "village": "Gulu", "district": "north"})
    for i in range(1, n_south + 1):
        api.put_record("households", f"south-{i}", {"head_name": f"South Head {i}", "size": 10 + i,
                                                    "village": "Lira", "district": "south"})
    for i in range(1, 3):
        api.put_record("visits", f"v-{i}", {"household": f"north-{i}", "note": f"visit {i}"})


def device_token(api, name, tables=("households",), **fields):
    body = dict(fields) if fields else {"read": list(tables), "write": list(tables)}
    return api.create_token(name, **body)["secret"]


_tablets = [0]


def make_conflict(hub, make_device, table, rid, device_values, hub_values, token=None, token_name=None):
    """A conflict on table/rid: a device pulls the record, edits it offline,
    the hub edits it too, the device syncs (both ways)."""
    if token is None:
        _tablets[0] += 1
        token = device_token(hub.api, token_name or f"tablet-{_tablets[0]}", (table,))
    dev = make_device(hub, token, "conflicter")
    dev.sync()
    dev.put(table, rid, **device_values)
    winner = hub.api.record(table, rid)
    types = {c["name"]: c["type"] for c in hub.api.get(f"/v1/tables/{q(table)}")["columns"]}
    attrs = {**plain(winner["attributes"]), **{k: str(v) for k, v in hub_values.items()}}
    hub.api.put_record(table, rid, {k: {types[k]: v} for k, v in attrs.items()},
                       revision=winner["revision"])
    dev.sync()
    rec = hub.api.record(table, rid, conflicts="true")
    assert rec.get("conflicts"), f"no conflict was made on {table}/{rid}: {rec}"
    return dev


def api_counts(api):
    tables = api.get("/v1/tables", counts="true")["tables"]
    return {t["name"]: t["counts"] for t in tables}


def api_conflicts(api):
    out, after = [], ""
    while True:
        page = api.get("/v1/conflicts", **({"after": after} if after else {}))
        out += page["conflicts"]
        after = page.get("next", "")
        if not after:
            return out


def record_route(table, rid):
    return f"records/{q(table)}/{q(rid)}"


# --- sign in, overview ---------------------------------------------------------
def test_signin_and_overview_counts_equal_the_api(hub, console, make_device):
    api = hub.api
    seed_households(api)
    make_conflict(hub, make_device, "households", "north-2", {"size": "22"}, {"size": 23})
    b = console.b

    # A wrong token: the API's message, still on the sign-in page.
    console.open("signin")
    console.wait_page("signin")
    b.type("#signin-token", "not-a-token")
    b.click("#signin-submit")
    b.wait_for("(document.querySelector('#signin-error') || {}).textContent", 10,
               "#signin-error to show why a wrong token was refused")
    assert b.evaluate("sessionStorage.getItem('outpost.token')") in (None, ""), \
        "a refused token was kept in sessionStorage"

    console.sign_in(hub.token)
    hidden = b.evaluate("""['devices', 'tokens'].map(k =>
        document.querySelector('nav a[data-nav="' + k + '"]').hidden)""")
    assert hidden == [False, False], f"admin links hidden from the admin: hidden={hidden}"

    counts = api_counts(api)
    conflicts = api_conflicts(api)
    assert counts["households"]["conflicts"] == 1 and counts["households"]["records"] == 7, counts
    shown = b.evaluate("""Array.from(document.querySelectorAll('tr[data-table]'))
        .filter(tr => tr.querySelector('td[data-field="records"]'))
        .map(tr => [tr.dataset.table, tr.querySelector('td[data-field="records"]').textContent.trim(),
                    (tr.querySelector('td[data-field="conflicts"]') || {}).textContent])""")
    shown = {name: (recs, (confs or "").strip()) for name, recs, confs in shown}
    expected = {name: (str(c["records"]), str(c["conflicts"])) for name, c in counts.items()}
    assert shown == expected, f"overview shows {shown}, GET /v1/tables?counts=true says {expected}"
    by_table = {}
    for c in conflicts:
        by_table[c["table"]] = by_table.get(c["table"], 0) + 1
    assert {t: int(c[1]) for t, c in shown.items() if int(c[1])} == by_table, \
        f"overview conflicts {shown} vs GET /v1/conflicts {by_table}"

    info = api.get("/v1")
    assert console.text('#hub [data-field="backend"]') == info["backend"]
    assert console.text('#hub [data-field="db_id"]') == info["db_id"]
    assert console.text('#hub [data-field="update_seq"]') == info["update_seq"]
    assert console.exists("#devices-summary"), "no #devices-summary on the overview"
    assert console.exists("#refusals-summary"), "no #refusals-summary on the overview"

    # The token never travels in a URL: not in any request the page made.
    b.pump()
    urls = [r.get("url", "") for r in b.responses.values()]
    assert urls and not [u for u in urls if hub.token in u], "the token appeared in a request URL"

    b.assert_clean()

    # Sign out: the token is gone and the sign-in form is back.
    b.click("#signout")
    console.wait_page("signin")
    assert b.evaluate("sessionStorage.getItem('outpost.token')") in (None, "")


# --- conflicts -----------------------------------------------------------------
def _leaves(api, table, rid):
    rec = api.record(table, rid, conflicts="true")
    bodies = {}
    for rev in [rec["revision"], *rec["conflicts"]]:
        bodies[rev] = plain(api.record(table, rid, rev=rev)["attributes"])
    return rec["revision"], rec["conflicts"], bodies


def test_conflict_from_two_devices_resolved_by_clicking(hub, console, make_device):
    api = hub.api
    api.create_table("households", HOUSEHOLDS)
    api.put_record("households", "h-1", {"head_name": "Amina", "size": 1, "village": "Gulu"})
    api.put_record("households", "h-2", {"head_name": "Okot", "size": 2, "village": "Gulu"})
    dev_a = make_device(hub, device_token(api, "tablet-a"), "tablet-a")
    dev_b = make_device(hub, device_token(api, "tablet-b"), "tablet-b")
    dev_a.sync()
    dev_b.sync()
    dev_a.put("households", "h-1", size="7", village="Apac")
    dev_b.put("households", "h-1", size="8", village="Lira")
    dev_a.put("households", "h-2", size="21", village="Apac")
    dev_b.put("households", "h-2", size="22", village="Lira")
    dev_a.sync()
    dev_b.sync()
    assert {(c["table"], c["id"]) for c in api_conflicts(api)} == {("households", "h-1"), ("households", "h-2")}

    console.sign_in(hub.token)
    console.go("conflicts", "conflicts")
    b = console.b

    # h-1: the winner and the other branch side by side, differing fields marked.
    winner, others, bodies = _leaves(api, "households", "h-1")
    sec = sel_attr("data-conflict", "households/h-1")
    assert console.exists(sec), f"no section {sec} on the conflicts page"
    for rev in [winner, *others]:
        assert console.exists(f"{sec} {sel_attr('data-branch', rev)}"), f"branch {rev} not shown in {sec}"
    for col in ("size", "village"):
        assert console.exists(f"{sec} tr{sel_attr('data-attr', col)}.differs"), f"{col} not marked as differing"
    assert not console.exists(f"{sec} tr{sel_attr('data-attr', 'head_name')}.differs"), \
        "head_name is the same on both branches but marked as differing"

    # Choose the branch that did not win, whole.
    chosen = others[0]
    b.click(f"{sec} button{sel_attr('data-choose', chosen)}")
    b.click(f"{sec} button[data-action=\"resolve\"]")
    b.wait_for(f"!document.querySelector({json.dumps(sec)}) && document.body.dataset.ready === '1'", 15,
               "the resolved conflict to leave the list")
    rec = api.record("households", "h-1", conflicts="true")
    assert not rec.get("conflicts"), f"h-1 still has conflicts after resolving in the console: {rec}"
    got = plain(rec["attributes"])
    assert got == bodies[chosen], f"h-1 resolved to {got}, but the branch clicked was {bodies[chosen]}"

    # h-2: field by field: size from tablet-a's branch, village from tablet-b's.
    winner, others, bodies = _leaves(api, "households", "h-2")
    rev_a = next(r for r, body in bodies.items() if body.get("size") == "21")
    rev_b = next(r for r, body in bodies.items() if body.get("size") == "22")
    sec = sel_attr("data-conflict", "households/h-2")
    b.click(f"{sec} input[type=radio]{sel_attr('name', 'pick-size')}{sel_attr('value', rev_a)}")
    b.click(f"{sec} input[type=radio]{sel_attr('name', 'pick-village')}{sel_attr('value', rev_b)}")
    radio = f"{sec} input{sel_attr('name', 'pick-size')}{sel_attr('value', rev_a)}"
    assert b.evaluate(f"document.querySelector({json.dumps(radio)}).checked"), "the size radio is not checked"
    b.click(f"{sec} button[data-action=\"resolve\"]")
    b.wait_for(f"!document.querySelector({json.dumps(sec)}) && document.body.dataset.ready === '1'", 15,
               "the second resolved conflict to leave the list")
    rec = api.record("households", "h-2", conflicts="true")
    assert not rec.get("conflicts"), f"h-2 still has conflicts: {rec}"
    got = plain(rec["attributes"])
    assert (got.get("size"), got.get("village"), got.get("head_name")) == ("21", "Lira", "Okot"), \
        f"h-2 resolved field by field to {got}; picked size 21 (tablet-a) and village Lira (tablet-b)"
    assert api_conflicts(api) == [], "GET /v1/conflicts still lists conflicts"
    assert console.count("section[data-conflict]") == 0

    # The record page draws the whole revision tree, as GET ?tree=true has it:
    # the two branches, the tombstone the resolve wrote, the winner marked.
    console.go(record_route("households", "h-1"), "record")
    tree = api.record("households", "h-1", tree="true")["tree"]
    assert any(n["deleted"] for n in tree), f"no tombstone in the API's tree: {tree}"
    drawn = b.evaluate("""Array.from(document.querySelectorAll('svg#rev-tree g[data-rev]')).map(g =>
        [g.dataset.rev, g.dataset.winner === '1', g.dataset.deleted === '1', g.dataset.leaf === '1'])""")
    want = [[n["revision"], bool(n["winner"]), bool(n["deleted"]), bool(n["leaf"])] for n in tree]
    assert sorted(drawn) == sorted(want), f"the drawn tree {drawn} is not the API's {want}"
    edges = b.evaluate("document.querySelectorAll('svg#rev-tree line, svg#rev-tree path').length")
    parents = sum(1 for n in tree if n.get("parent"))
    assert edges >= parents, f"{edges} edges drawn for {parents} parent links"

    # A device that syncs sees them resolved.
    for dev in (dev_a, dev_b):
        dev.sync()
        assert dev.conflicts() == [], f"{dev.path.name} still has conflicts after syncing"
        h1 = dev.get("households", "h-1")
        assert not h1.get("conflicts") and plain(h1["attributes"]) == plain(api.record("households", "h-1")["attributes"])
        h2 = dev.get("households", "h-2")
        assert plain(h2["attributes"]).get("village") == "Lira" and plain(h2["attributes"]).get("size") == "21"
    b.assert_clean()


# --- hostile values ------------------------------------------------------------
PAYLOADS = ["<img src=x onerror=alert(1)>", "<script>alert(1)</script>", "javascript:alert(1)",
            '"><svg onload=alert(1)>', "<iframe src=javascript:alert(1)>",
            "' onmouseover='alert(1)", "{{constructor.constructor('alert(1)')()}}"]
ODD_TABLE = "z_0__odd_9"

# No element a value could have made, and no event-handler attribute at all.
DOM_CHECK = r"""(() => {
  const bad = [];
  for (const el of document.querySelectorAll('*')) {
    for (const a of el.attributes) {
      if (/^on/i.test(a.name)) bad.push(el.tagName + '[' + a.name + ']');
      if (/^\s*javascript:/i.test(a.value) && /^(href|src|action|formaction|xlink:href)$/i.test(a.name))
        bad.push(el.tagName + '[' + a.name + '=' + a.value + ']');
    }
  }
  for (const el of document.querySelectorAll('img')) {
    const src = el.getAttribute('src') || '';
    if (!/^(icon\.svg|data:)/.test(src) && !src.startsWith(location.origin + '/ui/')) bad.push('img src=' + src);
  }
  for (const el of document.querySelectorAll('script')) {
    if (el.src !== location.origin + '/ui/app.js' && !el.src.startsWith(location.origin + '/ui/')) bad.push('script ' + el.outerHTML.slice(0, 80));
  }
  for (const el of document.querySelectorAll('iframe, object, embed, svg[onload], svg > script')) bad.push(el.tagName);
  for (const a of document.querySelectorAll('a[href]')) {
    const h = a.getAttribute('href');
    if (!h.startsWith('#') && !h.startsWith('/ui/')) bad.push('a href=' + h);
  }
  return bad;
})()"""


def _assert_harmless(console, where):
    bad = console.b.evaluate(DOM_CHECK)
    assert bad == [], f"{where}: elements or attributes made from data: {bad}"
    console.b.pump()
    calls = console.b.dialog_calls()
    assert calls == [], f"{where}: a script ran: {calls}"
    assert console.b.evaluate("window.__outpostTrap === 1 && window.__outpostDialogs.length === 0"), \
        f"{where}: the dialog trap was replaced or called"


def test_hostile_values_render_as_text(hub, console, make_device):
    api = hub.api
    api.create_table("households", HOUSEHOLDS)
    api.create_table(ODD_TABLE, [("a_1", "string"), ("b__2", "string")])
    for i, p in enumerate(PAYLOADS):
        api.put_record("households", p, {"head_name": p, "village": PAYLOADS[(i + 1) % len(PAYLOADS)],
                                         "district": "javascript:alert(1)", "size": i})
        api.put_record(ODD_TABLE, f"odd/{i} ?#%{p}", {"a_1": p, "b__2": "x"})
    # A conflict between two hostile values, for the conflicts page.
    make_conflict(hub, make_device, "households", PAYLOADS[0],
                  {"village": '"><svg onload=alert(1)>'}, {"village": "<img src=x onerror=alert(1)>"})
    # A token whose scope literal is markup, and refusals (recorded by a
    # device's pull on the hub) whose ids and messages are: the devices page
    # and the overview's refusals show them.
    hostile_scope = "households: district = '<img src=x onerror=alert(1)>'"
    field = api.create_token("field-7", scope=hostile_scope, write_scope=hostile_scope)
    refused = {"refused": [{"table": "households", "id": p, "revision": "1-" + "0" * 32,
                            "error": "forbidden", "message": p, "at": f"2026-12-0{i + 1}T00:00:00.000000Z"}
                           for i, p in enumerate(PAYLOADS)]}
    api.with_token(field["secret"]).put("/v1/local/refused-0123", refused)

    console.sign_in(hub.token)
    b = console.b
    _assert_harmless(console, "overview")
    assert console.exists(f"tr{sel_attr('data-table', ODD_TABLE)}"), f"{ODD_TABLE} is not on the overview"

    for table in ("households", ODD_TABLE):
        console.go(f"tables/{q(table)}", "table")
        _assert_harmless(console, f"records of {table}")
        ids = b.evaluate("Array.from(document.querySelectorAll('tr[data-id]')).map(tr => tr.dataset.id)")
        expected = [r["id"] for r in api.get(f"/v1/tables/{q(table)}/records")["records"]]
        assert sorted(ids) == sorted(expected), f"{table}: rows {ids}, API {expected}"
        text = b.evaluate("document.querySelector('main').textContent")
        for p in PAYLOADS:
            assert p in text, f"{table}: the value {p!r} is not shown as text"

    # Each hostile record's page, reached by clicking its row's link when it has one.
    for p in PAYLOADS:
        console.go(f"tables/{q('households')}", "table")
        row = f"tr{sel_attr('data-id', p)}"
        if console.exists(f"{row} a"):
            b.click(f"{row} a")
        else:
            console.go(record_route("households", p))
        console.wait_page("record")
        _assert_harmless(console, f"the record {p!r}")
        shown = console.text(f"tr{sel_attr('data-attr', 'head_name')}")
        assert shown is not None and p in shown, f"record {p!r}: head_name row shows {shown!r}"
        assert p in b.evaluate("decodeURIComponent(location.hash)"), "the record page is not the clicked record"
    odd_id = f"odd/0 ?#%{PAYLOADS[0]}"
    console.go(record_route(ODD_TABLE, odd_id), "record")
    _assert_harmless(console, "a record of the odd table")
    assert PAYLOADS[0] in (console.text(f"tr{sel_attr('data-attr', 'a_1')}") or "")

    for route, page in (("conflicts", "conflicts"), ("changes", "changes"), ("devices", "devices"),
                        ("tokens", "tokens"), ("overview", "overview")):
        console.go(route, page)
        _assert_harmless(console, page)
    console.go("devices", "devices")
    text = b.evaluate("document.querySelector('main').textContent")
    assert "<img src=x onerror=alert(1)>" in text, "the hostile scope is not shown as text"
    assert all(p in text for p in PAYLOADS), "the hostile refusals are not shown as text"
    console.go("conflicts", "conflicts")
    assert console.exists(f"section{sel_attr('data-conflict', 'households/' + PAYLOADS[0])}"), \
        "the hostile conflict is not listed"
    text = b.evaluate("document.querySelector('main').textContent")
    assert '"><svg onload=alert(1)>' in text and "<img src=x onerror=alert(1)>" in text

    # Tablet width too.
    b.set_viewport(820, 1180)
    console.go(record_route("households", PAYLOADS[1]), "record")
    _assert_harmless(console, "record at tablet width")
    b.assert_clean()


# --- a scoped token ------------------------------------------------------------
SECRETS = ["south-secret", "Hidden Southerner", "secretvisits", "Secret Village"]


def test_scoped_token_sees_nothing_out_of_scope(hub, console, make_device):
    api = hub.api
    api.create_table("households", HOUSEHOLDS)
    api.create_table("secretvisits", [("household", "string"), ("note", "string")])
    for i in range(1, 4):
        api.put_record("households", f"north-{i}", {"head_name": f"North Head {i}", "size": i,
                                                    "village": "Gulu", "district": "north"})
        api.put_record("households", f"south-secret-{i}", {"head_name": "Hidden Southerner", "size": i,
                                                           "village": "Secret Village", "district": "south"})
        api.put_record("secretvisits", f"visit-{i}", {"household": f"south-secret-{i}", "note": "x"})
    make_conflict(hub, make_device, "households", "south-secret-2", {"size": "40"}, {"size": 41})
    make_conflict(hub, make_device, "households", "north-2", {"size": "50"}, {"size": 51})
    scope = "households: district = 'north'"
    secret = api.create_token("amina", scope=scope, write_scope=scope)["secret"]
    amina = api.with_token(secret)
    b = console.b

    # First the admin looks around in the same tab, then signs out: nothing it
    # saw may survive into the scoped token's session.
    console.sign_in(hub.token)
    for route, page in (("tables/households", "table"), ("conflicts", "conflicts"),
                        ("changes", "changes"), ("devices", "devices"), ("overview", "overview")):
        console.go(route, page)
    b.click("#signout")
    console.wait_page("signin")
    b.pump()
    b.responses.clear()

    console.sign_in(secret)
    assert b.evaluate("localStorage.length") == 0, "the console wrote to localStorage"
    visited = []

    def check(where):
        html = console.html()
        leaked = [s for s in SECRETS if s in html]
        assert not leaked, f"{where}: out-of-scope data in the DOM: {leaked}"
        visited.append(where)

    check("overview")
    hidden = b.evaluate("""['devices', 'tokens'].map(k =>
        document.querySelector('nav a[data-nav="' + k + '"]').hidden)""")
    assert hidden == [True, True], f"admin-only links shown to a scoped token: hidden={hidden}"
    mine = api_counts(amina)
    assert mine == {"households": {"records": 3, "conflicts": 1}}, f"API counts for amina: {mine}"
    shown = b.evaluate("""Array.from(document.querySelectorAll('tr[data-table]'))
        .filter(tr => tr.querySelector('td[data-field="records"]'))
        .map(tr => [tr.dataset.table, tr.querySelector('td[data-field="records"]').textContent.trim(),
                    tr.querySelector('td[data-field="conflicts"]').textContent.trim()])""")
    assert shown == [["households", "3", "1"]], f"the overview under amina's scope shows {shown}"

    console.go("tables/households", "table")
    check("records")
    ids = b.evaluate("Array.from(document.querySelectorAll('tr[data-id]')).map(tr => tr.dataset.id)")
    assert sorted(ids) == ["north-1", "north-2", "north-3"], ids
    # A where filter naming the other district finds nothing.
    b.type("#where", "district = 'south'")
    b.click("#where-apply")
    b.wait_for("document.body.dataset.ready === '1' && document.querySelectorAll('tr[data-id]').length === 0",
               10, "the where filter district = 'south' to show no rows")
    check("records filtered on south")

    console.go(record_route("households", "north-2"), "record")
    check("a record")
    console.go("conflicts", "conflicts")
    check("conflicts")
    assert b.evaluate("Array.from(document.querySelectorAll('section[data-conflict]')).map(s => s.dataset.conflict)") \
        == ["households/north-2"]
    console.go("changes", "changes")
    check("changes")
    ids = set(b.evaluate("Array.from(document.querySelectorAll('tr[data-seq]')).map(tr => tr.dataset.id)"))
    assert ids == {"north-1", "north-2", "north-3"}, f"changes under amina's scope: {ids}"

    # Admin pages: the API's forbidden message, not data.
    for route in ("devices", "tokens"):
        console.go(route)
        code = console.wait_error()
        assert code == "forbidden", f"#/{route} for a scoped token: data-error={code!r}"
        banner = console.text(".error-banner")
        assert banner, f"#/{route}: no .error-banner message"
        assert console.count("[data-token]") == 0, f"#/{route} shows tokens to a scoped token"
        check(route)

    # Nothing out of scope in any response the page received either.
    b.pump(0.1)
    bodies = b.response_bodies()
    assert len(bodies) >= 5, f"only {len(bodies)} responses recorded"
    for url, body in bodies:
        leaked = [s for s in SECRETS if s in body]
        assert not leaked, f"the response of {url} holds out-of-scope data: {leaked}"
    b.assert_clean()


# --- records browser -----------------------------------------------------------
def test_records_browser_pages_and_filters(hub, console):
    api = hub.api
    seed_households(api, n_north=4, n_south=3)
    api.create_table("pages", [("n", "int")])
    for i in range(120):
        api.put_record("pages", f"p-{i:03d}", {"n": i})
    want = [r["id"] for r in api.get("/v1/tables/pages/records")["records"]]
    assert len(want) == 120
    console.sign_in(hub.token)
    b = console.b
    console.go("tables/pages", "table")
    ids_js = "Array.from(document.querySelectorAll('tr[data-id]')).map(tr => tr.dataset.id)"
    pages = [b.evaluate(ids_js)]
    while b.evaluate("!!document.querySelector('#next-page') && !document.querySelector('#next-page').disabled"):
        assert len(pages) < 10, "the next-page button never ends"
        first = pages[-1][0]
        b.click("#next-page")
        b.wait_for(f"document.body.dataset.ready === '1' && document.querySelector('tr[data-id]') &&"
                   f" document.querySelector('tr[data-id]').dataset.id !== {json.dumps(first)}", 10,
                   "the next page of records")
        pages.append(b.evaluate(ids_js))
    assert len(pages) >= 2, f"120 records fit on one page of the browser: {len(pages[0])} rows"
    assert [i for p in pages for i in p] == want, "paging through the browser does not give the API's records in order"
    b.click("#prev-page")
    b.wait_for(f"document.body.dataset.ready === '1' && document.querySelector('tr[data-id]') &&"
               f" document.querySelector('tr[data-id]').dataset.id === {json.dumps(pages[-2][0])}", 10,
               "the previous page of records")
    assert b.evaluate(ids_js) == pages[-2]

    console.go("tables/households", "table")
    b.type("#where", "district = 'south' AND size IN (12, 13)")
    b.click("#where-apply")
    b.wait_for("document.body.dataset.ready === '1' && document.querySelectorAll('tr[data-id]').length === 2",
               10, "the where filter to leave 2 rows")
    want = [r["id"] for r in api.get("/v1/tables/households/records",
                                     where="district = 'south' AND size IN (12, 13)")["records"]]
    assert b.evaluate(ids_js) == want == ["south-2", "south-3"]
    # A clause that does not parse: the API's message, not a broken page.
    b.type("#where", "nosuchcolumn = 1")
    b.click("#where-apply")
    code = console.wait_error()
    assert code == "invalid_scope", f"a bad where clause shows data-error={code!r}"
    assert "nosuchcolumn" in (console.text(".error-banner") or "")
    b.assert_clean()


# --- devices -------------------------------------------------------------------
def test_devices_health(hub, console, make_device):
    api = hub.api
    seed_households(api)
    dev = make_device(hub, device_token(api, "tablet-a"), "tablet-a")
    dev.sync()
    device_token(api, "never-synced")
    devices = api.get("/v1/devices")
    by_name = {t["name"]: t for t in devices["tokens"]}
    assert by_name["tablet-a"]["health"] == "healthy" and len(by_name["tablet-a"]["devices"]) == 1
    assert by_name["never-synced"]["health"] == "never" and by_name["never-synced"]["devices"] == []
    db_id = by_name["tablet-a"]["devices"][0]["db_id"]

    console.sign_in(hub.token)
    console.go("devices", "devices")
    a = f"section{sel_attr('data-token', 'tablet-a')}"
    n = f"section{sel_attr('data-token', 'never-synced')}"
    assert console.exists(a) and console.exists(n), "a token's section is missing on the devices page"
    health = console.b.evaluate(f"document.querySelector({json.dumps(a)}).dataset.health")
    assert health == "healthy", f"tablet-a synced a moment ago but shows data-health={health!r}"
    row = f"{a} tr{sel_attr('data-device', db_id)}"
    assert console.exists(row), f"device {db_id} of tablet-a is not listed"
    assert console.b.evaluate(f"document.querySelector({json.dumps(row)}).dataset.health") == "healthy"
    health = console.b.evaluate(f"document.querySelector({json.dumps(n)}).dataset.health")
    assert health == "never", f"never-synced shows data-health={health!r}"
    assert console.exists(f"{n} .token-health[data-health=\"never\"]")
    assert not console.exists(f"{n} [data-health=\"healthy\"]"), "a never-synced token shows as healthy"
    assert not console.exists(f"{n} tr[data-device]")
    console.go("overview", "overview")
    assert console.exists('#devices-summary [data-health="healthy"]')
    console.b.assert_clean()


def test_rescope_preview_and_save(hub, console, make_device):
    api = hub.api
    seed_households(api, n_north=4, n_south=3)
    north = "households: district = 'north'"
    south = "households: district = 'south'"
    secret = api.create_token("amina", scope=north, write_scope=north)["secret"]
    dev = make_device(hub, secret, "amina")
    dev.sync()
    want = api.put("/v1/tokens/amina", {"scope": south}, dry_run="true")
    assert api.get("/v1/tokens/amina")["scope"] == north, "dry_run saved the scope"
    assert (want["preview"]["enter"], want["preview"]["leave"]) == (3, 4), want

    console.sign_in(hub.token)
    console.go("devices", "devices")
    b = console.b
    sec = f"section{sel_attr('data-token', 'amina')}"
    b.click(f"{sec} button[data-action=\"preview\"]")
    b.type(f"{sec} textarea.rescope-scope", south)
    b.click(f"{sec} button[data-action=\"preview-run\"]")
    enter_sel = sec + ' .preview [data-field="enter"]'
    b.wait_for(f"(document.querySelector({json.dumps(enter_sel)}) || {{}}).textContent",
               10, "the re-scope preview's counts")
    enter = console.text(f"{sec} .preview [data-field=\"enter\"]")
    leave = console.text(f"{sec} .preview [data-field=\"leave\"]")
    assert (enter, leave) == (str(want["preview"]["enter"]), str(want["preview"]["leave"])), \
        f"preview shows enter {enter!r} leave {leave!r}; the API's dry_run says {want['preview']}"
    row = f"{sec} .preview tr[data-table=\"households\"]"
    assert console.exists(row), "no per-table row in the preview"
    cells = b.evaluate(f"Array.from(document.querySelector({json.dumps(row)}).cells).map(c => c.textContent.trim())")
    t = next(x for x in want["preview"]["tables"] if x["table"] == "households")
    numbers = [c.lstrip("+-\u2212 ") for c in cells]  # "+3", "\u22124" (a minus sign) are fine
    assert numbers[1:] == [str(t["enter"]), str(t["leave"]), str(t["stay"])][:len(numbers) - 1], \
        f"the preview's households row {cells}; the API's dry_run: {t}"
    assert api.get("/v1/tokens/amina")["scope"] == north, "the preview changed the token's scope"

    b.click(f"{sec} button[data-action=\"save\"]")
    deadline = time.monotonic() + 10
    while api.get("/v1/tokens/amina")["scope"] != south:
        assert time.monotonic() < deadline, \
            f"after save, the token's scope is {api.get('/v1/tokens/amina')['scope']!r}, not {south!r}"
        time.sleep(0.1)
    b.wait_for("document.body.dataset.ready === '1'", 10)
    # The device follows at its next sync: the south records are now there.
    dev.sync()
    ids = {r["id"] for r in dev.json("records", "list", "households")["records"]}
    assert ids == {"south-1", "south-2", "south-3"}, f"after the re-scope the device holds {ids}"
    b.assert_clean(allow_confirm=True)


# --- changes -------------------------------------------------------------------
def test_changes_page_is_live(hub, console):
    api = hub.api
    seed_households(api)
    console.sign_in(hub.token)
    console.go("changes", "changes")
    b = console.b
    before = console.count("tr[data-seq]")
    assert before >= 9, f"the changes page shows {before} entries, expected the 9 seeded"
    b.evaluate("window.__notReloaded = 1")
    api.put_record("households", "live-1", {"head_name": "Live One", "district": "north"})
    b.wait_for("document.querySelector('tr[data-id=\"live-1\"]')", 15,
               "the record written through the API to appear on the open changes page")
    assert b.evaluate("window.__notReloaded === 1"), "the page was reloaded"
    feed = api.get("/v1/changes")
    entry = next((c for c in feed["results"] if c["id"] == "live-1"), None)
    assert entry is not None, "live-1 is not in the API's feed"
    seq = b.evaluate("document.querySelector('tr[data-id=\"live-1\"]').dataset.seq")
    assert seq == str(entry["seq"]), f"live-1 shows seq {seq}, the feed says {entry['seq']}"

    # Filtered on the visits table: a households write does not show, a visits one does.
    b.type("#changes-tables", "visits")
    b.click("#changes-apply")
    b.wait_for("document.body.dataset.ready === '1' && document.querySelectorAll('tr[data-seq]').length > 0 &&"
               " Array.from(document.querySelectorAll('tr[data-seq]')).every(tr => tr.dataset.table === 'visits')",
               10, "the changes filtered on visits")
    api.put_record("households", "live-2", {"head_name": "Live Two"})
    api.put_record("visits", "live-v", {"note": "live"})
    b.wait_for("document.querySelector('tr[data-id=\"live-v\"]')", 15, "live-v on the filtered changes page")
    assert not console.exists('tr[data-id="live-2"]'), "a households change shows under a visits filter"
    # The scope filter: only the north district's records.
    b.type("#changes-tables", "")
    b.type("#changes-scope", "households: district = 'north'")
    b.click("#changes-apply")
    b.wait_for("document.body.dataset.ready === '1' && document.querySelectorAll('tr[data-seq]').length > 0 &&"
               " Array.from(document.querySelectorAll('tr[data-seq]')).every(tr => tr.dataset.id.startsWith('north-')"
               " || tr.dataset.id === 'live-1')", 10, "the changes filtered on the north district")
    ids = set(b.evaluate("Array.from(document.querySelectorAll('tr[data-seq]')).map(tr => tr.dataset.id)"))
    assert ids == {"north-1", "north-2", "north-3", "north-4", "live-1"}, f"scope-filtered changes: {ids}"

    # The long-poll stops when the page is left: no feed request after that.
    console.go("overview", "overview")
    b.pump()
    left_at = time.monotonic()
    api.put_record("households", "live-3", {"head_name": "Live Three"})
    b.pump(1.0)  # a window to see that nothing is asked (not a wait for the page)
    late = [r["url"] for r in b.requests if r["at"] > left_at and "/v1/changes" in r["url"]]
    assert late == [], f"the changes page still polls after it was left: {late}"
    # The token travels in the Authorization header only.
    assert not [r["url"] for r in b.requests if hub.token in r["url"]]
    b.assert_clean()


# --- tokens ----------------------------------------------------------------------
def test_tokens_page_creates_and_revokes(hub, console):
    api = hub.api
    seed_households(api)
    console.sign_in(hub.token)
    console.go("tokens", "tokens")
    b = console.b
    b.type("#token-name", "field-7")
    b.type("#token-scope", "households: district = 'north'")
    b.type("#token-write-scope", "households: district = 'north'")
    b.click("#token-create")
    secret = b.wait_for("(document.querySelector('#token-secret') || {}).textContent", 10,
                        "the new token's secret in #token-secret")
    made = api.with_token(secret.strip()).get("/v1")
    assert made["token"]["name"] == "field-7" and made["token"]["scope"] == "households: district = 'north'", made
    assert secret.strip() not in b.evaluate("location.href")
    b.wait_for("!!document.querySelector('tr[data-token=\"field-7\"]')", 10, "the new token's row")
    # Shown once: after a reload of the page, the secret is nowhere.
    console.go("overview", "overview")
    console.go("tokens", "tokens")
    assert secret.strip() not in console.html(), "the secret is shown again"

    # Declining the confirm() revokes nothing.
    b.evaluate("window.__outpostConfirmAnswer = false; 1")
    b.click('tr[data-token="field-7"] button[data-action="revoke"]')
    b.wait_for("window.__outpostDialogs.some(d => d[0] === 'confirm')", 5, "revoke to ask confirm()")
    b.wait_for("document.body.dataset.ready === '1'", 5)
    assert not api.get("/v1/tokens/field-7")["revoked"], "revoked although confirm() was declined"
    b.evaluate("window.__outpostConfirmAnswer = true; 1")
    b.click('tr[data-token="field-7"] button[data-action="revoke"]')
    deadline = time.monotonic() + 10
    while not api.get("/v1/tokens/field-7")["revoked"]:
        assert time.monotonic() < deadline, "revoking in the console did not revoke the token"
        time.sleep(0.1)
    assert any(c.startswith("confirm(") for c in b.dialog_calls()), "revoke did not ask confirm() first"
    status = api.with_token(secret.strip()).raw("GET", "/v1")[0]
    assert status == 401, f"the revoked token still works: {status}"
    b.assert_clean(allow_confirm=True)


# --- screenshots ---------------------------------------------------------------
def test_screenshots_of_every_page(hub, console, make_device, shots_dir):
    api = hub.api
    seed_households(api)
    make_conflict(hub, make_device, "households", "north-1", {"size": "9", "village": "Apac"},
                  {"size": 8, "village": "Kitgum"}, token_name="tablet-north")
    device_token(api, "never-synced")
    b = console.b
    saved = []

    def shot(name):
        path = shots_dir / f"console-{name}.png"
        b.wait_for("Array.from(document.images).every(i => i.complete) && document.fonts.status === 'loaded'",
                   10, "images and fonts to load before the screenshot")
        png = b.screenshot(path)
        pngcheck.assert_not_blank(png, f"the screenshot of {name} ({path})")
        saved.append(path)

    console.open("signin")
    console.wait_page("signin")
    shot("signin")
    console.sign_in(hub.token)
    shot("overview")
    for route, page in (("tables/households", "table"), (record_route("households", "north-1"), "record"),
                        ("conflicts", "conflicts"), ("devices", "devices"), ("changes", "changes"),
                        ("tokens", "tokens")):
        console.go(route, page)
        shot(page)
        overflow = b.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{page} at 1280 px scrolls sideways by {overflow} px"
    # The record page draws the revision tree: two leaves, the winner marked.
    console.go(record_route("households", "north-1"), "record")
    assert console.count("svg#rev-tree g[data-rev]") >= 3
    assert console.count('svg#rev-tree g[data-winner="1"]') == 1
    assert console.count('svg#rev-tree g[data-leaf="1"]') == 2

    b.set_viewport(820, 1180)
    for route, page in (("overview", "overview"), (record_route("households", "north-1"), "record"),
                        ("tables/households", "table"), ("conflicts", "conflicts"), ("devices", "devices"),
                        ("changes", "changes"), ("tokens", "tokens")):
        if f"#/{route}" == b.evaluate("location.hash"):
            console.go("overview", "overview")
        console.go(route, page)
        if page in ("overview", "record"):
            shot(f"{page}-tablet")
        overflow = b.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{page} at tablet width (820 px) scrolls sideways by {overflow} px"
    print(f"screenshots: {', '.join(str(p) for p in saved)}")
    b.assert_clean()


# --- the assets ----------------------------------------------------------------
def test_page_weight_and_headers(hub):
    files = sorted(p for p in UI_DIR.iterdir() if p.is_file())
    assert any(p.name == "index.html" for p in files), f"no index.html in {UI_DIR}"
    total = sum(p.stat().st_size for p in files)
    assert total < 300 * 1024, f"server/ui weighs {total} bytes, over 300 KB"

    anon = hub.api.with_token(None)
    for path in ["/ui/", *(f"/ui/{p.name}" for p in files)]:
        status, headers, body = anon.raw("GET", path)
        assert status == 200, f"GET {path}: {status}"
        assert headers.get("Content-Security-Policy") == CSP, \
            f"GET {path}: Content-Security-Policy is {headers.get('Content-Security-Policy')!r}"
        assert headers.get("X-Content-Type-Options") == "nosniff", f"GET {path}: no nosniff"
        if path != "/ui/":
            assert body == (UI_DIR / path[4:]).read_bytes(), f"GET {path} is not server/ui/{path[4:]}"
    status, headers, body = anon.raw("GET", "/ui/")
    assert body == (UI_DIR / "index.html").read_bytes(), "/ui/ is not index.html"
    types = {".html": "text/html", ".js": "javascript", ".css": "text/css", ".svg": "image/svg+xml"}
    for p in files:
        want = types.get(p.suffix)
        if want:
            got = anon.raw("GET", f"/ui/{p.name}")[1].get("Content-Type", "")
            assert want in got, f"/ui/{p.name} is served as {got!r}"
    # A 404 under /ui/ carries the headers too.
    status, headers, _ = anon.raw("GET", "/ui/no-such-file.js")
    assert status == 404 and headers.get("X-Content-Type-Options") == "nosniff"

    # What the CSP forbids, and HTML built from strings, are not in the source.
    for p in files:
        text = p.read_text(errors="replace")
        if p.suffix == ".html":
            assert not re.search(r"<script(?![^>]*\bsrc=)", text), f"{p.name}: an inline <script>"
            assert not re.search(r"\son[a-z]+\s*=", text), f"{p.name}: an inline event handler"
            assert not re.search(r"\sstyle\s*=|<style", text), f"{p.name}: inline style"
        if p.suffix == ".js":
            for pattern in (r"\.innerHTML\s*\+?=\s*(?!['\"]['\"])", r"\.outerHTML\s*=", r"insertAdjacentHTML",
                            r"document\.write", r"\beval\s*\(", r"new\s+Function\b"):
                assert not re.search(pattern, text), f"{p.name}: {pattern}"
        assert not re.search(r"(?:src|href)\s*=\s*['\"]?(?:https?:)?//", text), f"{p.name}: a link to another origin"
        assert not re.search(r"@import\s+url\(\s*['\"]?(?:https?:)?//|fonts\.googleapis", text), \
            f"{p.name}: a resource from another origin"


def test_root_redirects_to_the_console(hub):
    import http.client
    u = urllib.parse.urlsplit(hub.url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    conn.request("GET", "/")
    r = conn.getresponse()
    r.read()
    assert r.status in (301, 302, 303, 307, 308), f"GET / answers {r.status}"
    assert r.getheader("Location") in ("/ui/", f"{hub.url}/ui/"), r.getheader("Location")
    conn.close()


def test_no_auth_hub_needs_no_sign_in(outpost_bin, tmp_path, browser):
    hub = Hub(outpost_bin, tmp_path / "open-hub", no_auth=True)
    try:
        seed_households(hub.api)
        console = Console(browser, hub)
        console.open("overview")
        console.wait_page("overview")
        assert console.text('tr[data-table="households"] td[data-field="records"]') == "7"
        assert browser.evaluate("sessionStorage.getItem('outpost.token')") in (None, "")
        browser.assert_clean()
    finally:
        hub.stop()
