"""Deeper probes: hub handles over HTTP, scoped feeds and tokens, refusals."""

from __future__ import annotations

import threading
import time

import pytest

import outpost


def device(tmp_path, name):
    return outpost.open(f"sqlite:{tmp_path / name}.db")


def test_delete_and_recreate(households):
    db = households
    with pytest.raises(outpost.NotFound):
        db.delete("households", "never")
    w1 = db.put("households", "h", {"head_name": "a"})
    d = db.delete("households", "h")
    assert db.get("households", "h").deleted
    # a put without revision on a deleted record creates it again, on the tombstone
    w2 = db.put("households", "h", {"head_name": "b"})
    r = db.get("households", "h", ancestry=True)
    assert not r.deleted and r["head_name"] == "b" and r.revision == w2.revision
    assert r.ancestry == [d.revision, w1.revision]


def test_delete_of_a_deleted_record(households):
    """outpost records delete (docs/cli.md): a record that is already deleted is not_found."""
    db = households
    db.put("households", "h", {"head_name": "a"})
    db.delete("households", "h")
    with pytest.raises(outpost.NotFound):
        db.delete("households", "h")


def test_resolve_errors_and_bulk_resolve(households, tmp_path):
    db = households
    with pytest.raises(outpost.NotFound):
        db.resolve("households", "absent")
    # a conflict made by replication between two files
    base = db.put("households", "c", {"head_name": "x", "size": 1})
    with device(tmp_path, "other") as other:
        db.sync(f"sqlite:{tmp_path / 'other.db'}")
        o = other.put("households", "c", {"head_name": "x", "size": 2}, revision=base.revision)
        m = db.put("households", "c", {"head_name": "x", "size": 3}, revision=base.revision)
        db.sync(f"sqlite:{tmp_path / 'other.db'}")
    r = db.get("households", "c", conflicts=True)
    assert sorted([r.revision] + r.conflicts) == sorted([o.revision, m.revision])
    with pytest.raises(outpost.Error):
        db.resolve("households", "c", revision=base.revision)  # not a leaf
    res = db.bulk([{"table": "households", "id": "c", "revision": r.conflicts[0], "resolve": True,
                    "values": {"head_name": "x", "size": 4}}])
    assert res[0].ok, res[0]
    after = db.get("households", "c", conflicts=True)
    assert after.conflicts == [] and after["size"] == 4 and after.revision == res[0].revision


def test_hub_handle_over_http(hub, outpost_bin):
    with outpost.open(hub.url, token=hub.token) as h:
        info = h.info()
        assert info["backend"] in ("sqlite", "http")
        assert [t.name for t in h.tables()] == ["households"]
        weird = "a/b c%?#é"
        w = h.put("households", weird, {"head_name": "x", "district": "north", "size": 2})
        assert h.get("households", weird).revision == w.revision
        assert hub.cli().json("records", "get", "households", weird)["revision"] == w.revision
        h.put("households", "s", {"head_name": "y", "district": "south"})
        assert [r.id for r in h.records("households", where="district = 'north'")] == [weird]
        assert [c.id for c in h.changes()] == [weird, "s"]
        assert [c.id for c in h.changes(scope="households: district = 'south'")] == ["s"]
        created = h.create_table("visits", ["who:string!"])
        assert created.name == "visits"
        with pytest.raises(outpost.InvalidValue):
            h.put("households", "bad", {"head_name": "x", "size": "six"})
        with pytest.raises(outpost.NotFound):
            h.get("households", "absent")
        with pytest.raises(outpost.UnknownTable):
            h.get("nope", "x")
        with pytest.raises(outpost.InvalidValue):
            h.set_scope("households: district = 'north'")  # local databases only


def test_http_long_poll_wakes_on_write(hub):
    with outpost.open(hub.url, token=hub.token) as h:
        cursor = h.info()["update_seq"]

        def write_later():
            time.sleep(0.4)
            hub.cli().run("records", "put", "households", "late", "head_name=x")

        t = threading.Thread(target=write_later)
        t.start()
        got = [c.id for c in h.changes(since=cursor, timeout_ms=15000)]
        t.join()
        assert got == ["late"]


def test_http_long_poll_runs_to_its_timeout_after_cancel(hub):
    """outpost.h, outpost_cancel: "a long-poll on a server, http(s)://, runs to
    its timeout"; the call then answers an empty page, and the handle is fine."""
    with outpost.open(hub.url, token=hub.token) as h:
        box = {}
        cursor = h.info()["update_seq"]

        def wait():
            start = time.monotonic()
            box["page"] = h.changes_page(since=cursor, timeout_ms=2500)
            box["took"] = time.monotonic() - start

        waiter = threading.Thread(target=wait)
        waiter.start()
        time.sleep(0.5)
        h.cancel()
        waiter.join(20)  # whatever happens, the call returns before the handle closes
        assert not waiter.is_alive()
        assert box["page"]["results"] == [] and 2.0 < box["took"] < 10
        h.put("households", "after", {"head_name": "x"})
        assert [c.id for c in h.changes(since=cursor, timeout_ms=5000)] == ["after"]


def test_scoped_feed_removed_entries_and_cursor(households):
    db = households
    north = "households: district = 'north'"
    db.put("households", "n1", {"head_name": "a", "district": "north"})
    db.put("households", "s1", {"head_name": "b", "district": "south"})
    w = db.put("households", "m", {"head_name": "c", "district": "north"})
    it = db.changes(scope=north)
    assert [c.id for c in it] == ["m", "n1"]  # from the beginning: in id order (a scan)
    cursor = it.last_seq
    # m moves south: a removed entry under the scope
    db.put("households", "m", {"head_name": "c", "district": "south"}, revision=w.revision)
    db.put("households", "n2", {"head_name": "d", "district": "north"})
    later = list(db.changes(since=cursor, scope=north))
    assert [(c.id, c.removed) for c in later] == [("m", True), ("n2", False)]
    assert later[0].revision is None and later[0].leaves == []


def test_token_with_scope_is_adopted(hub, tmp_path):
    cli = hub.cli()
    with outpost.open(hub.url, token=hub.token) as h:
        h.put("households", "n1", {"head_name": "a", "district": "north"})
        h.put("households", "s1", {"head_name": "b", "district": "south"})
    p = cli.run("tokens", "create", "amina", "--scope", "households: district = 'north'")
    secret = p.stdout.splitlines()[0].strip()
    with device(tmp_path, "tablet") as t:
        report = t.sync(hub.url, token=secret)
        adopted = report.get("adopted_scope")
        assert adopted and adopted["scope"] == "households: district = 'north'"
        assert t.scope()["scope"] == "households: district = 'north'"
        assert [r.id for r in t.records("households")] == ["n1"]
        # a write outside the token's write scope is refused on push: sync raises Forbidden
        t.clear_scope()
        t.put("households", "s2", {"head_name": "c", "district": "south"})
        with pytest.raises(outpost.Error) as e:
            t.sync(hub.url, token=secret, direction="push")
        assert e.value.code == "forbidden"
        assert e.value.report is not None


def test_refused_document_code(make_hub, tmp_path):
    """outpost_sync returns 'the first refused document's code when documents
    were refused': a record over the hub's body limit is too_large, on the
    first sync and on the next (when it is already on the refused list)."""
    hub = make_hub("--max-body", "65536")
    with device(tmp_path, "a") as a:
        a.create_table("households", [("head_name", "string", True)])
        a.put("households", "big", {"head_name": "x" * 200000})
        a.put("households", "small", {"head_name": "y"})
        with pytest.raises(outpost.Error) as first:
            a.sync(hub.url, token=hub.token, direction="push")
        with pytest.raises(outpost.Error) as second:
            a.sync(hub.url, token=hub.token, direction="push")
    with outpost.open(hub.url, token=hub.token) as h:
        assert h.get("households", "small")["head_name"] == "y"
        with pytest.raises(outpost.NotFound):
            h.get("households", "big")
    assert first.value.code == "too_large", str(first.value)
    assert second.value.code == "too_large", str(second.value)


def test_continuous_cancel_report(hub, tmp_path):
    with device(tmp_path, "a") as a:
        timer = threading.Timer(1.0, a.cancel)
        timer.start()
        try:
            with pytest.raises(outpost.Cancelled) as e:
                a.sync(hub.url, token=hub.token, continuous=True)
        finally:
            timer.cancel()
        report = e.value.report
        assert report["total"]["cancelled"] is True
        assert report["total"]["fatal"] is None


def test_sync_with_scope_and_tables_options(hub, tmp_path):
    with outpost.open(hub.url, token=hub.token) as h:
        h.put("households", "n1", {"head_name": "a", "district": "north"})
        h.put("households", "s1", {"head_name": "b", "district": "south"})
    with device(tmp_path, "a") as a:
        a.sync(hub.url, token=hub.token, direction="pull", tables=["households"],
               scope="households: district = 'south'", batch=1)
        assert [r.id for r in a.records("households")] == ["s1"]
        with pytest.raises(outpost.InvalidValue):
            a.sync(hub.url, token=hub.token, direction="sideways")
        with pytest.raises(outpost.InvalidName):
            a.sync(hub.url, token=hub.token, tables=["Bad"])


def test_open_options(tmp_path):
    with outpost.open(f"sqlite:{tmp_path / 'n.db'}", durability="normal", busy_timeout_ms=500) as db:
        db.create_table("t", ["x:int"])
        assert db.put("t", "1", {"x": 1}).revision.startswith("1-")
    with pytest.raises(outpost.InvalidValue):
        outpost.open(f"sqlite:{tmp_path / 'n.db'}", durability="sometimes")
    # a plain path is a SQLite file too
    with outpost.open(tmp_path / "n.db") as db:
        assert db.get("t", "1")["x"] == 1


def test_continuous_sync_waits_for_an_unreachable_hub_until_cancelled(tmp_path):
    """outpost.h: continuous: "an unreachable hub is waited for"; cancel ends it."""
    with device(tmp_path, "a") as a:
        timer = threading.Timer(1.5, a.cancel)
        timer.start()
        start = time.monotonic()
        try:
            with pytest.raises(outpost.Cancelled):
                a.sync("http://127.0.0.1:1", token="x", continuous=True)
        finally:
            timer.cancel()
        assert 1.0 < time.monotonic() - start < 20
