"""Sync with a real `outpost serve` hub: progress, conflicts, cancel, errors."""

from __future__ import annotations

import contextlib
import http.server
import os
import re
import signal
import threading
import time

import pytest

import outpost
from conftest import Cli, wait_for


def device(tmp_path, name):
    return outpost.open(f"sqlite:{tmp_path / name}.db")


def test_sync_with_hub_calls_progress(hub, tmp_path):
    calls = []
    lock = threading.Lock()

    def progress(info):
        with lock:
            calls.append(info)

    with device(tmp_path, "a") as a:
        a.create_table("households", [("head_name", "string", True), ("size", "int")])
        for i in range(50):
            a.put("households", f"h-{i:03d}", {"head_name": f"n{i}", "size": i})
        report = a.sync(hub.url, token=hub.token, progress=progress)

    assert set(report) >= {"a_to_b", "b_to_a", "total"}
    push = report["a_to_b"]
    assert push["changes_read"] == 50 and push["revisions_written"] == 50
    assert push["errors"] == [] and push["fatal"] is None and push["cancelled"] is False
    assert report["total"]["errors"] == []

    assert calls, "the progress callback was never called"
    assert all(isinstance(c, dict) and c.get("direction") in ("push", "pull") for c in calls)
    assert all(
        {"changes_read", "revisions_written", "already_present", "errors", "seconds", "last_seq"} <= set(c)
        for c in calls
    )
    assert "push" in {c["direction"] for c in calls}
    assert max(c["revisions_written"] for c in calls if c["direction"] == "push") == 50

    # the hub holds them: through Python over HTTP, and through the CLI on its file
    with outpost.open(hub.url, token=hub.token) as h:
        assert h.get("households", "h-007")["size"] == 7
        assert sum(1 for _ in h.records("households")) == 50
        assert h.info()["update_seq"]
    got = hub.cli().json("records", "get", "households", "h-049")
    assert got["attributes"]["size"] == {"int": "49"}


def test_conflict_made_resolved_from_python_and_gone_on_hub(hub, tmp_path):
    a = device(tmp_path, "a")
    b = device(tmp_path, "b")
    try:
        a.create_table("households", [("head_name", "string", True), ("size", "int")])
        base = a.put("households", "h-001", {"head_name": "Amina Okello", "size": 6})
        a.sync(hub.url, token=hub.token)
        b.sync(hub.url, token=hub.token)
        assert b.get("households", "h-001").revision == base.revision

        # both edit the same revision offline
        ra = a.put("households", "h-001", {"head_name": "Amina Okello", "size": 7}, revision=base.revision)
        rb = b.put("households", "h-001", {"head_name": "Amina Okello", "size": 8}, revision=base.revision)
        assert ra.revision != rb.revision
        a.sync(hub.url, token=hub.token)
        b.sync(hub.url, token=hub.token)
        a.sync(hub.url, token=hub.token)

        winner, loser = sorted([ra.revision, rb.revision], key=lambda r: r.split("-", 1)[1], reverse=True)
        for db in (a, b):
            r = db.get("households", "h-001", conflicts=True)
            assert r.revision == winner and r.conflicts == [loser]
            assert db.conflicts() == [outpost.ConflictEntry("households", "h-001", winner, [loser])]
        with outpost.open(hub.url, token=hub.token) as h:
            assert h.conflicts("households") == [outpost.ConflictEntry("households", "h-001", winner, [loser])]
        cli = hub.cli()
        assert cli.json("records", "conflicts")["conflicts"] == [
            {"table": "households", "id": "h-001", "winner": winner, "conflicts": [loser]}
        ]

        # resolved from Python on device a: keep the loser, with new values
        res = a.resolve("households", "h-001", revision=loser, values={"head_name": "Amina Okello", "size": 9})
        assert res.revision.startswith("3-")
        r = a.get("households", "h-001", conflicts=True)
        assert r.revision == res.revision and r.conflicts == [] and r["size"] == 9
        assert a.conflicts() == []
        a.sync(hub.url, token=hub.token)

        # gone on the hub: through the CLI on its file and through Python over HTTP
        assert cli.json("records", "conflicts")["conflicts"] == []
        got = cli.json("records", "get", "households", "h-001", "--conflicts")
        assert got["revision"] == res.revision and got.get("conflicts", []) == []
        assert got["attributes"]["size"] == {"int": "9"}
        with outpost.open(hub.url, token=hub.token) as h:
            assert h.conflicts() == []
            assert h.get("households", "h-001", conflicts=True).conflicts == []
        # and on b after its next sync
        b.sync(hub.url, token=hub.token)
        rb2 = b.get("households", "h-001", conflicts=True)
        assert rb2.revision == res.revision and rb2.conflicts == []
    finally:
        a.close()
        b.close()


def test_conflict_with_hub_edit_through_cli_resolved_with_winner(hub, tmp_path):
    """A device and the hub's own database edit one record; resolve(revision=None)
    keeps the winner with its own values."""
    with device(tmp_path, "a") as a:
        a.create_table("households", [("head_name", "string", True), ("size", "int")])
        base = a.put("households", "h-9", {"head_name": "x", "size": 1})
        a.sync(hub.url, token=hub.token)
        cli = hub.cli()
        hub_edit = cli.json("records", "put", "households", "h-9", "head_name=x", "size=2",
                            "--revision", base.revision)
        a.put("households", "h-9", {"head_name": "x", "size": 3})
        a.sync(hub.url, token=hub.token)
        r = a.get("households", "h-9", conflicts=True)
        assert len(r.conflicts) == 1 and {r.revision, r.conflicts[0]} >= {hub_edit["revision"]}
        res = a.resolve("households", "h-9")  # the winner, as it is
        assert a.get("households", "h-9", conflicts=True).conflicts == []
        a.sync(hub.url, token=hub.token)
        got = cli.json("records", "get", "households", "h-9", "--conflicts")
        assert got["revision"] == res.revision and got.get("conflicts", []) == []
        assert got["attributes"]["size"] == {"int": str(r["size"])}


def test_continuous_sync_cancelled_from_another_thread(hub, tmp_path):
    with device(tmp_path, "a") as a:
        a.create_table("households", [("head_name", "string", True), ("size", "int")])
        a.put("households", "first", {"head_name": "x"})
        box = {}
        progressed = threading.Event()

        def run():
            try:
                box["report"] = a.sync(hub.url, token=hub.token, continuous=True,
                                       progress=lambda p: progressed.set())
            except BaseException as e:  # noqa: BLE001
                box["error"] = e

        t = threading.Thread(target=run)
        t.start()
        try:
            assert progressed.wait(20), "no progress from the continuous sync"
            # while it runs, a write on the hub arrives on the device...
            with outpost.open(hub.url, token=hub.token) as h:
                h.put("households", "from-hub", {"head_name": "y"})
            assert wait_for(lambda: _exists(a, "households", "from-hub"), 20)
            # ...and a write on the device reaches the hub
            a.put("households", "from-device", {"head_name": "z"})
            assert wait_for(lambda: _cli_exists(hub.cli(), "households", "from-device"), 20)
        finally:
            a.cancel()
            t.join(20)
        assert not t.is_alive(), "cancel() did not end the continuous sync"
        assert "report" not in box
        e = box["error"]
        assert isinstance(e, outpost.Cancelled) and e.code == "cancelled"
        assert e.report is not None and "total" in e.report
        # the handle is usable afterwards, and a later sync is not cancelled
        assert a.sync(hub.url, token=hub.token)["total"]["errors"] == []


def test_continuous_sync_in_main_thread_cancelled_by_timer(hub, tmp_path):
    with device(tmp_path, "a") as a:
        timer = threading.Timer(1.0, a.cancel)
        timer.start()
        start = time.monotonic()
        try:
            with pytest.raises(outpost.Cancelled) as e:
                a.sync(hub.url, token=hub.token, continuous=True)
        finally:
            timer.cancel()
        assert 0.5 < time.monotonic() - start < 20
        assert e.value.report is not None


def test_ctrl_c_in_main_thread_cancels_the_sync(hub, tmp_path):
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("needs the main thread")
    with device(tmp_path, "a") as a:
        timer = threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGINT))
        timer.start()
        start = time.monotonic()
        try:
            with _watchdog(a) as fired:
                with pytest.raises(KeyboardInterrupt):
                    a.sync(hub.url, token=hub.token, continuous=True)
        finally:
            timer.cancel()
        assert not fired.is_set() and time.monotonic() - start < 20
        assert a.sync(hub.url, token=hub.token)["total"]["errors"] == []  # usable afterwards


def test_exception_in_progress_is_reraised(hub, tmp_path):
    class Boom(Exception):
        pass

    calls = []

    def progress(info):
        calls.append(info)
        raise Boom("from the callback")

    with device(tmp_path, "a") as a:
        a.create_table("households", [("head_name", "string", True)])
        for i in range(20):
            a.put("households", f"h-{i}", {"head_name": "x"})
        with pytest.raises(Boom, match="from the callback"):
            a.sync(hub.url, token=hub.token, progress=progress)
        assert calls
        # a continuous sync ends the same way (it would never end otherwise)
        a.put("households", "one-more", {"head_name": "x"})
        with _watchdog(a) as fired:
            with pytest.raises(Boom):
                a.sync(hub.url, token=hub.token, continuous=True, progress=progress)
        assert not fired.is_set(), "the continuous sync ended only by the watchdog's cancel"
        # the database works on, and the next sync completes
        report = a.sync(hub.url, token=hub.token)
        assert report["total"]["errors"] == []
        with outpost.open(hub.url, token=hub.token) as h:
            assert sum(1 for _ in h.records("households")) == 21  # h-0..h-19 and one-more


def test_progress_returning_true_cancels(hub, tmp_path):
    with device(tmp_path, "a") as a:
        a.create_table("households", [("head_name", "string", True)])
        a.put("households", "h", {"head_name": "x"})
        with _watchdog(a) as fired:
            with pytest.raises(outpost.Cancelled) as e:
                a.sync(hub.url, token=hub.token, continuous=True, progress=lambda p: True)
        assert e.value.code == "cancelled"
        assert not fired.is_set(), "the continuous sync ended only by the watchdog's cancel"


def test_sync_errors(hub, tmp_path):
    with device(tmp_path, "a") as a:
        with pytest.raises(outpost.Unauthorized) as e:
            a.sync(hub.url, token="not-a-token")
        assert e.value.code == "unauthorized"
        with pytest.raises(outpost.Unauthorized):
            a.sync(hub.url)  # no token at all
        with pytest.raises(outpost.Unavailable) as e:
            a.sync("http://127.0.0.1:1", token="x", retry_for_ms=0)
        assert e.value.code == "unavailable"
    with pytest.raises(outpost.Unauthorized):
        with outpost.open(hub.url, token="wrong") as h:
            h.tables()


class _Busy(http.server.BaseHTTPRequestHandler):
    """A hub that answers every request 503 and counts them."""
    requests = 0

    def _busy(self):
        type(self).requests += 1
        body = b'{"error":"unavailable","message":"busy"}'
        self.send_response(503)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = _busy

    def log_message(self, *args):
        pass


def test_sync_retries_only_within_its_budget(tmp_path):
    # The retry budget alone decides: with retry_for_ms=0 a busy hub is
    # asked once (the HTTP client does not retry on its own), with a budget
    # it is asked again.
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Busy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with device(tmp_path, "a") as a:
            _Busy.requests = 0
            with pytest.raises(outpost.Unavailable):
                a.sync(url, token="x", retry_for_ms=0)
            assert _Busy.requests == 1
            _Busy.requests = 0
            with pytest.raises(outpost.Unavailable):
                a.sync(url, token="x", retry_for_ms=1500)
            assert _Busy.requests >= 2
    finally:
        server.shutdown()
        server.server_close()


def test_pull_only_and_push_only_between_files(tmp_path):
    with device(tmp_path, "a") as a, device(tmp_path, "b") as b:
        a.create_table("households", [("head_name", "string", True)])
        a.put("households", "from-a", {"head_name": "a"})
        b.create_table("households", [("head_name", "string", True)])
        b.put("households", "from-b", {"head_name": "b"})
        report = a.sync(f"sqlite:{tmp_path / 'b.db'}", direction="push")
        assert report["revisions_written"] == 1 and "a_to_b" not in report  # one report
        assert {r.id for r in b.records("households")} == {"from-a", "from-b"}
        assert {r.id for r in a.records("households")} == {"from-a"}
        a.sync(f"sqlite:{tmp_path / 'b.db'}", direction="pull")
        assert {r.id for r in a.records("households")} == {"from-a", "from-b"}


def test_tables_filter(hub, tmp_path):
    with device(tmp_path, "a") as a:
        a.create_table("households", [("head_name", "string", True)])
        a.create_table("notes", ["text:string"])
        a.put("households", "h", {"head_name": "x"})
        a.put("notes", "n", {"text": "private"})
        # notes does not exist on the hub; only households is synced
        a.sync(hub.url, token=hub.token, tables=["households"])
        with outpost.open(hub.url, token=hub.token) as h:
            assert [t.name for t in h.tables()] == ["households"]
            assert h.get("households", "h")["head_name"] == "x"


def test_scope_of_a_device(hub, tmp_path):
    with device(tmp_path, "a") as a:
        assert a.scope() == {"scope": None, "fingerprint": None}
        a.create_table("households", [("head_name", "string", True), ("district", "string")])
        a.put("households", "n1", {"head_name": "x", "district": "north"})
        a.put("households", "s1", {"head_name": "y", "district": "south"})
        a.sync(hub.url, token=hub.token)  # the hub acknowledges both
        out = a.set_scope("households: district = 'north'")
        assert out["scope"] == "households: district = 'north'"
        assert re.fullmatch(r"[0-9a-f]{64}", out["fingerprint"])
        assert out["purged"] == 1
        assert a.scope() == {"scope": out["scope"], "fingerprint": out["fingerprint"]}
        assert a.info()["scope"] == out["scope"]
        assert [r.id for r in a.records("households")] == ["n1"]
        with pytest.raises(outpost.InvalidScope):
            a.set_scope("households: colour = 'x'")
        cleared = a.clear_scope()
        assert cleared["scope"] is None
        a.sync(hub.url, token=hub.token)
        assert [r.id for r in a.records("households")] == ["n1", "s1"]


@contextlib.contextmanager
def _watchdog(db, seconds=30):
    """Cancels db's syncs after `seconds`, so a test cannot hang; yields an
    Event set when it had to."""
    fired = threading.Event()

    def fire():
        fired.set()
        db.cancel()

    timer = threading.Timer(seconds, fire)
    timer.start()
    try:
        yield fired
    finally:
        timer.cancel()


def _exists(db, table, id):
    try:
        db.get(table, id)
        return True
    except outpost.NotFound:
        return False


def _cli_exists(cli: Cli, table, id):
    return cli.run("records", "get", table, id, check=False).returncode == 0
