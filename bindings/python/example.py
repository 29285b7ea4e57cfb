"""A field app in Python, as docs/embedding.md shows it: a device database,
a record, the change feed, and a sync with a hub that makes and resolves a
conflict.

    python3 example.py DEVICE.db [HUB_URL TOKEN]

make test runs it against a real `outpost serve` (tests/test_example.py).
"""
import datetime as dt
import sys

import outpost


def main(path, hub_url=None, token=None):
    with outpost.open(f"sqlite:{path}") as db:
        db.create_table("households", ["head_name:string!", "size:int", "visited:timestamp"])
        w = db.put("households", "h-001", {
            "head_name": "Amina Okello", "size": 6,
            "visited": dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.timezone.utc)})
        print("written", w.revision)
        rec = db.get("households", "h-001")
        print("read", rec["head_name"], rec["size"], rec["visited"].isoformat())

        feed = db.changes()
        for change in feed:
            print("change", change.table, change.id, change.revision)
        print("resume from", feed.last_seq)

        if hub_url is None:
            return
        report = db.sync(hub_url, token=token,
                         progress=lambda p: print("progress", p["direction"], p["changes_read"]))
        print("synced", report["total"]["revisions_written"], "revisions")

        # Someone edits h-001 on the hub while this device edits it too.
        with outpost.open(hub_url, token=token) as hub:
            hub.put("households", "h-001", {"head_name": "Amina Okello", "size": 7})
        db.put("households", "h-001", {"head_name": "Amina Okello", "size": 8})
        db.sync(hub_url, token=token)
        for c in db.conflicts("households"):
            print("conflict", c.id, "winner", c.winner, "others", c.conflicts)
            # Keep the winner's branch, with the larger household size.
            db.resolve("households", c.id, c.winner,
                       {"head_name": "Amina Okello", "size": 8})
        db.sync(hub_url, token=token)
        print("conflicts left", len(db.conflicts("households")))


if __name__ == "__main__":
    try:
        main(*sys.argv[1:])
    except outpost.Error as e:
        print(f"error: {e.code}: {e.message}", file=sys.stderr)
        sys.exit(1)
