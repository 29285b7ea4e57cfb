"""A device syncing with a malicious hub: `outpost sync` against a proxy to a
real hub that tampers with one kind of answer per test. Every test holds
the sync to the contract of conftest.sync_hostile (exit 1 with `error:`, a
JSON error object with --json, no crash, bounded time and memory, a
consistent database) and checks that nothing the hostile answer made up is
stored on the device.

Which sync reaches which answer (client/http_engine.cpp,
reconciler/replicator.cpp): a pull reads GET /v1?tables=true, the hub's
checkpoint and refusal list (GET /v1/local/{id}), GET /v1/changes and
POST /v1/bulk_get, then saves its checkpoint on the hub (PUT
/v1/local/{id}); a push reads GET /v1?tables=true and the hub's checkpoint,
then POST /v1/revs_diff and POST /v1/bulk_docs (which carries the
checkpoint). GET /v1/tables is read only when GET /v1?tables=true does not
list the tables.
"""

from __future__ import annotations

import json
import urllib.parse

import pytest

from conftest import (DEVICE_RECORDS, HUB_RECORDS, TABLE, TIMEOUT_S, WALL_LIMIT_S, Body, Cut, PassThrough, Stream, Trickle,
                      assert_genuine, assert_not_stored, deep_json, sync_hostile)

# The answers the client reads, and the direction that reaches each.
DIRECTION = {
    "info": "--pull",
    "tables": "--pull",
    "local_get": "--pull",
    "changes": "--pull",
    "bulk_get": "--pull",
    "revs_diff": "--push",
    "bulk_docs": "--push",
}
ROUTES = list(DIRECTION)


def tamper_route(route: str, make):
    """A tamper function answering every request of kind `route` with
    make(request); for GET /v1/tables, GET /v1?tables=true is answered
    without its "tables" so that the client asks GET /v1/tables."""

    def tamper(req):
        if route == "tables" and req.route == "info":
            status, info = req.forward_json()
            if isinstance(info, dict):
                info.pop("tables", None)
            return PassThrough(Body(info, status=status))
        if req.route == route:
            return make(req)
        return None

    return tamper


@pytest.fixture
def device(make_device):
    return make_device()


def run_case(hostile, device, hub, route, *, direction=None):
    text, js = sync_hostile(device, hostile, direction or DIRECTION[route], route=route)
    assert_genuine(device, hub, DEVICE_RECORDS)
    return text, js


# ---------------------------------------------------------------------------
# 1. Deeply nested JSON as the body of every answer the client reads


@pytest.mark.parametrize("size", [400_000, 1000], ids=["400KB", "1KB"])
@pytest.mark.parametrize("route", ROUTES)
def test_deeply_nested_json(hostile, hub, device, route, size):
    """`[` repeated as the answer: 400 KB (a stack overflow for a parser
    without a depth limit, unless a size limit refuses it first) and 1 KB
    (under any size limit: only the depth limit refuses it)."""
    body = deep_json(size)
    hostile.tamper = tamper_route(route, lambda req: Body(body))
    run_case(hostile, device, hub, route)
    if route in ("info", "tables", "local_get"):
        assert_not_stored(device, HUB_RECORDS)


# ---------------------------------------------------------------------------
# 2. Oversized answers (300 MiB, streamed)

HUGE = 300 << 20
# An answer that carries no records (server information, tables, a
# checkpoint) is refused well before the whole of HUGE is read.
SMALL_ANSWERS = ("info", "tables", "local_get", "revs_diff")
SMALL_ANSWER_READ_LIMIT = 64 << 20


@pytest.mark.parametrize("framing", ["content_length", "chunked"])
@pytest.mark.parametrize("route", ROUTES)
def test_oversized_answer(hostile, hub, device, route, framing):
    """A 300 MiB answer, declared by its Content-Length or chunked (so that
    only counting the bytes as they come can stop it)."""
    streams: list[Stream] = []

    def make(req):
        s = Stream(HUGE, b"x" * (1 << 20), prefix=b'{"pad":"', chunked=(framing == "chunked"))
        streams.append(s)
        return s

    hostile.tamper = tamper_route(route, make)
    run_case(hostile, device, hub, route)
    assert streams, "the oversized answer was never sent"
    most = max(s.sent for s in streams)
    assert most < HUGE, f"the client read all {HUGE} bytes of an oversized {route} answer"
    if route in SMALL_ANSWERS:
        assert most <= SMALL_ANSWER_READ_LIMIT, (
            f"the client read {most / 2**20:.0f} MiB of a {route} answer before refusing it "
            f"(its limit should fit what was asked: at most {SMALL_ANSWER_READ_LIMIT >> 20} MiB)")


def test_oversized_bulk_get_answers_for_a_page_of_many_documents(hostile, hub, device):
    """Every bulk_get answer is oversized (chunked) while the page holds 300
    documents: a client that asks again in halves down to single documents
    must still end within its bounds (2 x 300 oversized answers would not)."""
    docs = [{"table": TABLE, "id": f"m-{i:04d}", "attributes": {"head_name": {"string": f"m {i}"}}}
            for i in range(300)]
    st, _, data = hub.request("POST", "/v1/bulk_docs", json.dumps({"new_edits": True, "docs": docs}))
    assert st == 200 and b"error" not in data, data[:300]
    hostile.tamper = tamper_route(
        "bulk_get", lambda req: Stream(HUGE, b"x" * (1 << 20), prefix=b'{"pad":"', chunked=True))
    # The client reads the page's bulk_get in two chunks side by side; each
    # reads at most two oversized answers (all of them at once, then as many
    # revisions as must fit, which is then refused whole), each cut at
    # --timeout, and a timed-out one is retried within --retry-for. This
    # Python hub streams a limit's worth (64 MiB) in about --timeout, so the
    # bound is two request time limits more than the others' (and one run,
    # not two side by side, so as not to halve its speed; --json is covered
    # by the other bulk_get cases).
    sync_hostile(device, hostile, DIRECTION["bulk_get"], route="bulk_get", json_too=False,
                 wall_limit=WALL_LIMIT_S + 2 * TIMEOUT_S)
    assert_genuine(device, hub, DEVICE_RECORDS)


# ---------------------------------------------------------------------------
# 3. bulk_get answers with documents that were not asked for, or forged


@pytest.fixture
def unasked(hub):
    """Genuine revisions on the real hub that the hostile hub hides from its
    feed, so that the device never asks for them: ("households", "x-unasked")
    and ("annex", "a-1") with their revisions."""
    st, _, _ = hub.request("PUT", "/v1/tables/annex",
                           json.dumps({"columns": [{"name": "head_name", "type": "string"}]}))
    assert st == 200
    out = {}
    for table, rid in ((TABLE, "x-unasked"), ("annex", "a-1")):
        st, _, data = hub.request("PUT", f"/v1/tables/{table}/records/{rid}",
                                  json.dumps({"attributes": {"head_name": {"string": "never asked"}}}))
        assert st == 200, data
        out[(table, rid)] = json.loads(data)["revision"]
    return out


def _hide_unasked(req, unasked):
    """The real feed page without the unasked records."""
    status, page = req.forward_json()
    if status == 200:
        page["results"] = [e for e in page["results"] if (e["table"], e["id"]) not in unasked]
    return Body(page, status=status)


def _real_result(req, table, rid, rev):
    status, res = req.forward_json(body=json.dumps(
        {"docs": [{"table": table, "id": rid, "rev": rev, "known": []}]}).encode())
    assert status == 200 and "error" not in res["results"][0], res
    return res["results"][0]


@pytest.mark.parametrize("lie", ["other_id", "other_table", "extra_document", "forged_body"])
def test_bulk_get_answers_what_was_not_asked(hostile, hub, device, unasked, lie):
    def tamper(req):
        if req.route == "changes":
            return PassThrough(_hide_unasked(req, unasked))
        if req.route != "bulk_get":
            return None
        status, real = req.forward_json()
        assert status == 200, real
        results = real["results"]
        if lie == "other_id":
            results[0] = _real_result(req, TABLE, "x-unasked", unasked[(TABLE, "x-unasked")])
        elif lie == "other_table":
            results[0] = _real_result(req, "annex", "a-1", unasked[("annex", "a-1")])
        elif lie == "extra_document":
            results.append(_real_result(req, TABLE, "x-unasked", unasked[(TABLE, "x-unasked")]))
        else:  # a body that does not match its revision's hash
            for r in results:
                if "attributes" in r:
                    r["attributes"]["head_name"] = {"string": "forged by the hub"}
        return Body(real)

    hostile.tamper = tamper
    text, js = sync_hostile(device, hostile, "--pull", route="bulk_get")
    assert_not_stored(device, ["x-unasked"])
    assert_not_stored(device, ["a-1"], table="annex")
    assert_genuine(device, hub, DEVICE_RECORDS)
    if lie == "forged_body":
        # Each forged document is refused by the device's engine for its hash.
        assert "invalid_revision" in text.stderr + text.stdout, (
            f"no invalid_revision reported for the forged documents: {text.describe()}")
        forged = [rid for rid in HUB_RECORDS if device.get(TABLE, rid)]
        assert not forged, f"forged documents were stored: {forged}"


# ---------------------------------------------------------------------------
# 4. A change feed that never ends


def _since(req) -> str:
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(req.path).query)
    return q.get("since", [""])[0]


def test_feed_cursor_never_advances(hostile, hub, device):
    """Every page has entries and `more`, and its last_seq is the `since` it
    was asked with."""

    def tamper(req):
        if req.route != "changes":
            return None
        status, page = req.forward_json()
        assert status == 200 and page["results"], page
        page["last_seq"] = _since(req) or "0"
        page["more"] = True
        return Body(page)

    hostile.tamper = tamper
    sync_hostile(device, hostile, "--pull", route="changes")
    assert_genuine(device, hub, DEVICE_RECORDS)


def test_feed_repeats_entries_with_new_cursors(hostile, hub, device):
    """Every page is the same first page of the feed, under an ever-new
    cursor, with `more`: the feed never ends."""
    counter = [1000]

    def tamper(req):
        if req.route != "changes":
            return None
        parts = urllib.parse.urlsplit(req.path)
        q = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query) if k != "since"]
        status, page = req.forward_json(path=parts.path + "?" + urllib.parse.urlencode(q))
        assert status == 200 and page["results"], page
        counter[0] += 1
        page["last_seq"] = str(counter[0])
        page["more"] = True
        return Body(page)

    hostile.tamper = tamper
    sync_hostile(device, hostile, "--pull", route="changes")
    assert_genuine(device, hub, DEVICE_RECORDS)


# ---------------------------------------------------------------------------
# 5. revs_diff answers naming what was not asked (a push: the hub is the target)

FAKE_REV = "1-" + "a" * 32


@pytest.mark.parametrize("lie", ["other_ids", "other_tables"])
def test_revs_diff_names_what_was_not_asked(hostile, hub, device, lie):
    def tamper(req):
        if req.route != "revs_diff":
            return None
        status, real = req.forward_json()
        assert status == 200, real
        if lie == "other_ids":
            real.setdefault(TABLE, {})["evil-1"] = {"missing": [FAKE_REV], "leaves": []}
            real[TABLE]["h-001"] = {"missing": [FAKE_REV], "leaves": []}
        else:
            real["annex_evil"] = {"e-1": {"missing": [FAKE_REV], "leaves": []}}
        return Body(real)

    hostile.tamper = tamper
    sync_hostile(device, hostile, "--push", route="revs_diff")
    assert_genuine(device, hub, DEVICE_RECORDS)
    assert set(device.records()) <= set(DEVICE_RECORDS), "a push wrote records into the device"
    assert "annex_evil" not in device.tables()
    for rid in ("evil-1",):
        st, _, _ = hub.request("GET", f"/v1/tables/{TABLE}/records/{rid}")
        assert st == 404, f"{rid}, named only by the hostile revs_diff, reached the real hub"


# ---------------------------------------------------------------------------
# 6. A body that stops halfway


def _cut_half(req):
    status, _, data = req.forward()
    if status != 200 or len(data) < 8:
        data = json.dumps({"last_seq": "3", "updated_at": "2026-12-06T00:00:00Z",
                           "padding": "x" * 200}).encode()
    return Cut(data[:len(data) // 2], len(data))


@pytest.mark.parametrize("route", ["info", "local_get", "changes", "bulk_get", "revs_diff",
                                   "bulk_docs"])
def test_body_stops_halfway(hostile, hub, device, route):
    hostile.tamper = tamper_route(route, _cut_half)
    run_case(hostile, device, hub, route)


# ---------------------------------------------------------------------------
# 7. An answer that trickles one byte a second


@pytest.mark.parametrize("part", ["header", "body"])
def test_answer_trickles(hostile, hub, device, part):
    route = "info" if part == "header" else "changes"

    def make(req):
        status, _, data = req.forward()
        return Trickle(data, header_too=(part == "header"), interval=1.0, limit=60)

    hostile.tamper = tamper_route(route, make)
    text, js = run_case(hostile, device, hub, route)
    # One request may not take longer than --timeout: the run ends well
    # before the answer could have trickled in.
    assert text.seconds >= TIMEOUT_S - 0.5, f"ended too soon to have waited: {text.describe()}"


# ---------------------------------------------------------------------------
# 8. Compressed answers that expand without bound


BOMB_ROUTES = ["info", "local_get", "changes", "bulk_get", "revs_diff", "bulk_docs"]


@pytest.mark.parametrize("route", BOMB_ROUTES)
def test_gzip_bomb(hostile, hub, device, gzip_bomb, route):
    hostile.tamper = tamper_route(route, lambda req: Body(gzip_bomb, headers={"Content-Encoding": "gzip"}))
    run_case(hostile, device, hub, route)


@pytest.mark.parametrize("route", BOMB_ROUTES)
def test_zstd_bomb(hostile, hub, device, zstd_bomb, route):
    hostile.tamper = tamper_route(route, lambda req: Body(zstd_bomb, headers={"Content-Encoding": "zstd"}))
    run_case(hostile, device, hub, route)
