"""The change feed: order, cursors, paging, long-poll and cancel."""

from __future__ import annotations

import threading
import time

import outpost


def test_changes_in_order_and_cursor_resumes(households):
    db = households
    revs = {}
    for i in range(5):
        revs[f"h-{i}"] = db.put("households", f"h-{i}", {"head_name": f"n{i}"}).revision
    it = db.changes()
    entries = list(it)
    assert [c.id for c in entries] == [f"h-{i}" for i in range(5)]
    assert all(isinstance(c, outpost.Change) and c.table == "households" for c in entries)
    assert [c.revision for c in entries] == [revs[f"h-{i}"] for i in range(5)]
    assert all(c.leaves == [c.revision] and not c.deleted and not c.removed for c in entries)
    assert it.last_seq == entries[-1].seq == db.info()["update_seq"]
    cursor = it.last_seq

    # nothing new: an empty read, the cursor unchanged
    again = db.changes(since=cursor)
    assert list(again) == [] and again.last_seq == cursor

    # h-1 edited, h-2 deleted: each appears once, at its latest position, in write order
    w = db.put("households", "h-1", {"head_name": "edited"})
    d = db.delete("households", "h-2")
    more = db.changes(since=cursor)
    got = [(c.id, c.revision, c.deleted) for c in more]
    assert got == [("h-1", w.revision, False), ("h-2", d.revision, True)]
    assert more.last_seq != cursor

    # from the beginning, h-1 and h-2 moved to the end
    assert [c.id for c in db.changes()] == ["h-0", "h-3", "h-4", "h-1", "h-2"]


def test_changes_pages_with_limit_and_tables(households):
    db = households
    db.create_table("visits", ["who:string"])
    for i in range(7):
        db.put("households", f"h-{i}", {"head_name": "x"})
        db.put("visits", f"v-{i}", {"who": "y"})
    it = db.changes(limit=3)
    ids = [c.id for c in it]
    assert len(ids) == 14 and it.pages >= 5  # 14 entries, 3 a page
    only = db.changes(tables=["visits"], limit=4)
    assert [c.id for c in only] == [f"v-{i}" for i in range(7)]
    assert [c.id for c in db.changes(tables="households")] == [f"h-{i}" for i in range(7)]

    # stopping half way and resuming from last_seq misses nothing, repeats nothing
    it = db.changes(limit=4)
    first = [next(it).id for _ in range(6)]
    resumed = [c.id for c in db.changes(since=it.last_seq)]
    assert first + resumed == ids


def test_changes_long_poll_wakes_on_write(households):
    db = households
    cursor = db.info()["update_seq"]

    def write_later():
        time.sleep(0.3)
        db.put("households", "late", {"head_name": "x"})

    t = threading.Thread(target=write_later)
    start = time.monotonic()
    t.start()
    got = [c.id for c in db.changes(since=cursor, timeout_ms=10000)]
    elapsed = time.monotonic() - start
    t.join()
    assert got == ["late"]
    assert 0.2 < elapsed < 5


def test_changes_long_poll_times_out_empty(households):
    db = households
    start = time.monotonic()
    it = db.changes(since=db.info()["update_seq"], timeout_ms=300)
    assert list(it) == []
    assert 0.25 < time.monotonic() - start < 5


def test_cancel_ends_a_waiting_changes_read(households):
    db = households
    box = {}

    def wait():
        start = time.monotonic()
        box["page"] = db.changes_page(since=db.info()["update_seq"], timeout_ms=30000)
        box["elapsed"] = time.monotonic() - start

    t = threading.Thread(target=wait)
    t.start()
    time.sleep(0.5)
    db.cancel()
    t.join(10)
    assert not t.is_alive(), "outpost_cancel did not end the waiting outpost_changes"
    assert box["page"]["results"] == [] and box["elapsed"] < 10
    # later calls are not affected
    db.put("households", "after", {"head_name": "x"})
    assert [c.id for c in db.changes()] == ["after"]


def test_follow_sees_new_writes_until_stopped(households):
    db = households
    seen = []
    f = db.follow(timeout_ms=200)

    def consume():
        for c in f:
            seen.append(c.id)

    t = threading.Thread(target=consume)
    t.start()
    for i in range(3):
        db.put("households", f"f-{i}", {"head_name": "x"})
        time.sleep(0.05)
    deadline = time.monotonic() + 10
    while len(seen) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    f.stop()
    t.join(5)
    assert not t.is_alive()
    assert seen == ["f-0", "f-1", "f-2"]
    assert f.last_seq == db.info()["update_seq"]


def test_follow_stop_with_wake_ends_a_long_wait(households):
    db = households
    f = db.follow(timeout_ms=60000)
    seen = []
    t = threading.Thread(target=lambda: seen.extend(c.id for c in f))
    t.start()
    db.put("households", "one", {"head_name": "x"})
    deadline = time.monotonic() + 10
    while not seen and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # the follower is waiting again
    start = time.monotonic()
    f.stop(wake=True)
    t.join(10)
    assert not t.is_alive() and time.monotonic() - start < 5
    assert seen == ["one"]
