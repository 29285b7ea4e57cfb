"""A Python program and the `outpost` CLI on one SQLite database."""

from __future__ import annotations

import datetime as dt

import outpost
from conftest import Cli

UTC = dt.timezone.utc


def test_python_writes_cli_reads(outpost_bin, db_path, households):
    db = households
    cli = Cli(outpost_bin, f"sqlite:{db_path}")
    w = db.put("households", "h-001", {
        "head_name": "Amina Okello – ñ 🏠",
        "size": 6,
        "lat": 0.3476,
        "consent": True,
        "photo": b"\x00\x01\x02\xff",
        "visited": dt.datetime(2026, 11, 22, 12, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))),
    })
    got = cli.json("records", "get", "households", "h-001")
    assert got["revision"] == w.revision
    assert got["deleted"] is False
    assert got["attributes"] == {
        "head_name": {"string": "Amina Okello – ñ 🏠"},
        "size": {"int": "6"},
        "lat": {"float": "0.3476"},
        "consent": {"bool": "true"},
        "photo": {"bytes": "AAEC/w=="},
        "visited": {"timestamp": "2026-11-22T10:30:00.000000Z"},
    }
    # the table Python created is the CLI's too
    shown = cli.json("tables", "show", "households")
    assert [c["name"] for c in shown["columns"]][:2] == ["head_name", "size"]
    assert shown["columns"][0]["required"] is True
    # and the feed position agrees
    assert cli.json("changes")["last_seq"] == db.info()["update_seq"]


def test_cli_writes_python_reads(outpost_bin, db_path, households):
    db = households  # stays open while the CLI writes
    cli = Cli(outpost_bin, f"sqlite:{db_path}")
    put = cli.json("records", "put", "households", "h-002", "head_name=Peter Okot", "size=3",
                   "visited=2026-11-22T10:00:00Z", "photo=AAEC/w==", "consent=false", "lat=1.50")
    r = db.get("households", "h-002")
    assert r.revision == put["revision"]
    assert r.values == {
        "head_name": "Peter Okot",
        "size": 3,
        "visited": dt.datetime(2026, 11, 22, 10, 0, tzinfo=UTC),
        "photo": b"\x00\x01\x02\xff",
        "consent": False,
        "lat": 1.5,
    }
    # an edit by Python on the CLI's revision, then the CLI on Python's
    w = db.put("households", "h-002", {"head_name": "Peter Okot", "size": 4}, revision=put["revision"])
    put2 = cli.json("records", "put", "households", "h-002", "size=5", "--merge", "--revision", w.revision)
    r2 = db.get("households", "h-002", ancestry=True)
    assert r2.revision == put2["revision"] and r2["size"] == 5 and r2["head_name"] == "Peter Okot"
    assert r2.ancestry[:2] == [w.revision, put["revision"]]
    # a table created by the CLI
    cli.run("tables", "create", "visits", "who:string!", "n:int")
    assert db.table("visits").columns == [outpost.Column("who", "string", True), outpost.Column("n", "int", False)]
    # a deletion by the CLI
    cli.run("records", "delete", "households", "h-002")
    assert db.get("households", "h-002").deleted is True


def test_same_edit_same_revision(outpost_bin, tmp_path):
    """Revision ids are content hashes: Python and the CLI writing the same
    edit into two databases make the same revision."""
    a = tmp_path / "a.db"
    b = tmp_path / "b.db"
    cli = Cli(outpost_bin, f"sqlite:{b}")
    cli.run("tables", "create", "households", "head_name:string!", "size:int")
    with outpost.open(f"sqlite:{a}") as db:
        db.create_table("households", ["head_name:string!", "size:int"])
        w = db.put("households", "h-001", {"head_name": "Amina Okello", "size": 6})
    c = cli.json("records", "put", "households", "h-001", "head_name=Amina Okello", "size=6")
    assert w.revision == c["revision"] == "1-ffd9fefeb88117e7a8d9f362e981a73a"  # docs/cli.md's example
