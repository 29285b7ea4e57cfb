"""Records through the C ABI: typed values, errors, writes, reads, lists, bulk."""

from __future__ import annotations

import datetime as dt
import re

import pytest

import outpost

UTC = dt.timezone.utc
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
REV = re.compile(r"^[1-9][0-9]*-[0-9a-f]{32}$")


def test_library_identity():
    assert re.match(r"^\d+\.\d+\.\d+", outpost.version())
    assert outpost.abi_version() == 1
    assert outpost.code_name(2) == "invalid_value"
    assert outpost.code_name(100) == "cancelled"
    assert outpost.code_name(12345) == "unknown"
    # the binding's table of codes agrees with the library's names
    for number, cls in outpost.errors.BY_NUMBER.items():
        assert outpost.code_name(number) == cls.code


def test_info(db):
    info = db.info()
    assert info["backend"] == "sqlite"
    assert UUID4.match(info["db_id"])
    assert info["scope"] is None


def test_typed_round_trip_of_every_type(households):
    db = households
    visited = dt.datetime(2026, 11, 22, 12, 30, 0, 123456, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    values = {
        "head_name": "Amina Okello – 阿米娜 🏠 e\u0301",  # non-ASCII, astral, combining
        "size": -(2**63),
        "lat": 0.3476,
        "consent": False,
        "photo": b"\x00\x01\x00\xff\x00",
        "visited": visited,
        "district": None,  # null: the same as absent
    }
    w = db.put("households", "h-001", values)
    assert w.table == "households" and w.id == "h-001" and REV.match(w.revision)
    assert w.revision.startswith("1-")

    r = db.get("households", "h-001")
    assert isinstance(r, outpost.Record)
    assert (r.table, r.id, r.revision, r.deleted) == ("households", "h-001", w.revision, False)
    assert r.values == {
        "head_name": values["head_name"],
        "size": -(2**63),
        "lat": 0.3476,
        "consent": False,
        "photo": b"\x00\x01\x00\xff\x00",
        "visited": dt.datetime(2026, 11, 22, 10, 30, 0, 123456, tzinfo=UTC),
    }
    assert type(r["size"]) is int and type(r["consent"]) is bool and type(r["lat"]) is float
    assert r["visited"].tzinfo is not None and r["visited"] == visited
    assert r.get("district") is None and "district" not in r.values
    # the wire form is the canonical text
    assert r.attributes["visited"] == {"timestamp": "2026-11-22T10:30:00.123456Z"}
    assert r.attributes["photo"] == {"bytes": "AAEA/wA="}
    assert r.attributes["consent"] == {"bool": "false"}
    assert r.conflicts is None and r.ancestry is None


@pytest.mark.parametrize(
    "column,value,expected",
    [
        ("size", 2**63 - 1, 2**63 - 1),
        ("size", 0, 0),
        ("lat", 1e21, 1e21),
        ("lat", -0.0, 0.0),
        ("lat", 5e-324, 5e-324),
        ("lat", 0.1 + 0.2, 0.1 + 0.2),
        ("consent", True, True),
        ("photo", b"", b""),
        ("photo", bytes(range(256)), bytes(range(256))),
        ("visited", dt.datetime(1, 1, 1, tzinfo=UTC), dt.datetime(1, 1, 1, tzinfo=UTC)),
        ("visited", dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
         dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
        ("district", "", ""),
        ("district", "a\nb\t\"c\"\\ \u2028", "a\nb\t\"c\"\\ \u2028"),
    ],
)
def test_value_edges(households, column, value, expected):
    households.put("households", "e", {"head_name": "x", column: value})
    got = households.get("households", "e")[column]
    assert got == expected and type(got) is type(expected)


def test_typed_escape_and_canonical_text(households):
    db = households
    db.put("households", "t", {"head_name": "x", "lat": outpost.Typed("float", "1.50"),
                               "visited": outpost.Typed("timestamp", "2026-11-22T12:30:00+02:00"),
                               "size": outpost.Typed("int", "7"), "district": outpost.Typed("null", "true")})
    r = db.get("households", "t")
    assert r["lat"] == 1.5 and r.attributes["lat"] == {"float": "1.5"}
    assert r.attributes["visited"] == {"timestamp": "2026-11-22T10:30:00.000000Z"}
    assert r["size"] == 7
    assert "district" not in r.values


@pytest.mark.parametrize(
    "values",
    [
        {"size": 2**63},
        {"size": -(2**63) - 1},
        {"lat": float("nan")},
        {"lat": float("inf")},
        {"size": outpost.Typed("int", "six")},
        {"size": outpost.Typed("int", "007")},
        {"size": "6"},  # a string for an int column
        {"consent": 1},  # an int for a bool column
        {"photo": outpost.Typed("bytes", "AAE")},  # unpadded base64
        {"visited": outpost.Typed("timestamp", "2026-11-22T10:00:00")},  # no offset
        {"district": "nul\x00inside"},
    ],
)
def test_invalid_values_raise_invalid_value(households, values):
    with pytest.raises(outpost.InvalidValue) as e:
        households.put("households", "bad", {"head_name": "x", **values})
    assert e.value.code == "invalid_value"
    assert e.value.message
    assert isinstance(e.value, outpost.Error)
    with pytest.raises(outpost.NotFound):
        households.get("households", "bad")  # nothing was stored


def test_python_side_refusals(households):
    with pytest.raises(outpost.InvalidValue) as e:
        households.put("households", "n", {"head_name": "x", "visited": dt.datetime(2026, 1, 1)})
    assert e.value.code == "invalid_value" and "time zone" in e.value.message
    with pytest.raises(outpost.InvalidValue):
        households.put("households", "n", {"head_name": "x", "size": [1, 2]})
    with pytest.raises(outpost.InvalidName):
        households.put("households", "a\x00b", {"head_name": "x"})
    with pytest.raises(outpost.InvalidValue):
        households.put("households", "n", {"head_name": "lone \ud800 surrogate"})
    # in a batch, a document that cannot be encoded is reported in its place; the others are written
    res = households.bulk([{"id": "n", "values": {"head_name": "\udfff"}},
                           {"id": "ok-1", "values": {"head_name": "fine"}},
                           {"id": "n2", "values": {"head_name": "x", "visited": dt.datetime(2026, 1, 1)}},
                           {"id": "ok-2", "values": {"head_name": "fine"}}], table="households")
    assert [(r.id, r.ok, r.error) for r in res] == [("n", False, "invalid_value"), ("ok-1", True, None),
                                                    ("n2", False, "invalid_value"), ("ok-2", True, None)]
    assert "time zone" in res[2].message
    assert households.get("households", "ok-2")["head_name"] == "fine"
    with pytest.raises(outpost.NotFound):
        households.get("households", "n")


def test_errors_for_tables_columns_and_records(households):
    db = households
    with pytest.raises(outpost.UnknownTable) as e:
        db.put("nope", "x", {"a": 1})
    assert e.value.code == "unknown_table" and "nope" in e.value.message
    with pytest.raises(outpost.UnknownTable):
        db.get("nope", "x")
    with pytest.raises(outpost.UnknownTable):
        db.list("nope")
    with pytest.raises(outpost.UnknownTable):
        db.table("nope")
    with pytest.raises(outpost.UnknownColumn) as e:
        db.put("households", "x", {"head_name": "a", "colour": "red"})
    assert e.value.code == "unknown_column"
    with pytest.raises(outpost.MissingRequired) as e:
        db.put("households", "x", {"size": 3})
    assert e.value.code == "missing_required"
    with pytest.raises(outpost.InvalidName) as e:
        db.put("households", "_x", {"head_name": "a"})
    assert e.value.code == "invalid_name"
    with pytest.raises(outpost.NotFound) as e:
        db.get("households", "never")
    assert e.value.code == "not_found"
    with pytest.raises(outpost.InvalidRevision):
        db.put("households", "x", {"head_name": "a"}, revision="not-a-revision")


def test_put_update_conflict_delete(households):
    db = households
    w1 = db.put("households", "h", {"head_name": "A", "size": 1})
    w2 = db.put("households", "h", {"head_name": "A", "size": 2}, revision=w1.revision)
    assert w2.revision.startswith("2-")
    with pytest.raises(outpost.Conflict) as e:
        db.put("households", "h", {"head_name": "A", "size": 3}, revision=w1.revision)
    assert e.value.code == "conflict"
    # the same edit again answers the revision it made
    again = db.put("households", "h", {"head_name": "A", "size": 2}, revision=w1.revision)
    assert again.revision == w2.revision
    # without revision: builds on the winner; the whole content is replaced
    w3 = db.put("households", "h", {"head_name": "B"})
    r = db.get("households", "h", ancestry=True)
    assert r.revision == w3.revision and r.values == {"head_name": "B"}
    assert r.ancestry == [w2.revision, w1.revision]
    old = db.get("households", "h", rev=w1.revision)
    assert old.revision == w1.revision and old["size"] == 1
    d = db.delete("households", "h")
    assert d.revision.startswith("4-")
    gone = db.get("households", "h")
    assert gone.deleted is True and gone.values == {} and gone.revision == d.revision
    assert [r.id for r in db.records("households")] == []
    with pytest.raises(outpost.NotFound):
        db.get("households", "h", rev="9-" + "0" * 32)


def test_create_generates_uuid(households):
    w = households.create("households", {"head_name": "Grace"})
    assert UUID4.match(w.id) and w.revision.startswith("1-")
    assert households.get("households", w.id)["head_name"] == "Grace"


def test_tables(db):
    assert db.tables() == []
    t = db.create_table("visits", [("who", "string", {"required": True}), "n:int", {"name": "at", "type": "timestamp"},
                                   outpost.Column("ok", "bool")])
    assert t == outpost.Table("visits", [outpost.Column("who", "string", True), outpost.Column("n", "int", False),
                                         outpost.Column("at", "timestamp", False), outpost.Column("ok", "bool", False)])
    assert db.table("visits") == t
    assert db.tables() == [t]
    t2 = db.extend_table("visits", ["note:string"])
    assert t2.column("note") == outpost.Column("note", "string", False)
    assert len(t2.columns) == 5
    with pytest.raises(outpost.SchemaConflict) as e:
        db.extend_table("visits", ["n:string"])
    assert e.value.code == "schema_conflict"
    with pytest.raises(outpost.UnknownTable):
        db.extend_table("absent", ["x:int"])
    with pytest.raises(outpost.InvalidName):
        db.create_table("Bad-Name", ["x:int"])
    # idempotent: the same columns again change nothing
    assert db.create_table("visits", ["who:string!"]) == t2


def test_list_pages_where_and_iterator(households):
    db = households
    for i in range(25):
        db.put("households", f"h-{i:03d}", {"head_name": f"n{i}", "size": i % 5,
                                          "district": "north" if i % 2 else "south"})
    page = db.list("households", limit=10)
    assert [r.id for r in page] == [f"h-{i:03d}" for i in range(10)]
    assert page.next == "h-009"
    page2 = db.list("households", after=page.next, limit=10)
    assert [r.id for r in page2][0] == "h-010"
    last = db.list("households", after="h-019", limit=10)
    assert len(last) == 5 and last.next == ""
    everything = list(db.records("households", page_size=7))
    assert [r.id for r in everything] == [f"h-{i:03d}" for i in range(25)]
    assert everything[3]["size"] == 3
    north = list(db.records("households", where="district = 'north' AND size IN (1, 2)"))
    assert [r.id for r in north] == [f"h-{i:03d}" for i in range(25) if i % 2 and i % 5 in (1, 2)]
    with pytest.raises(outpost.InvalidScope):
        db.list("households", where="colour = 'red'")
    with pytest.raises(outpost.InvalidValue):
        db.list("households", limit=0)


def test_bulk_reports_per_document_errors(households):
    db = households
    base = db.put("households", "h-1", {"head_name": "A", "size": 6})
    results = db.bulk(
        [
            {"id": "h-1", "revision": base.revision, "values": {"head_name": "A", "size": 9}},
            {"values": {"head_name": "generated"}},
            {"id": "h-3", "values": {"size": 3}},  # missing head_name
            {"id": "h-4", "values": {"head_name": "x", "size": outpost.Typed("int", "1.5")}},
            {"table": "nope", "id": "h-5", "values": {"a": 1}},
            {"id": "h-6", "values": {"head_name": "six"}},
        ],
        table="households",
    )
    assert len(results) == 6
    assert results[0].ok and results[0].revision.startswith("2-") and results[0].id == "h-1"
    assert results[1].ok and UUID4.match(results[1].id)
    assert (results[2].ok, results[2].error, results[2].id) == (False, "missing_required", "h-3")
    assert results[3].error == "invalid_value" and "1.5" in results[3].message
    assert isinstance(results[3].exception(), outpost.InvalidValue)
    assert results[4].error == "unknown_table"
    assert results[5].ok
    assert db.get("households", "h-1")["size"] == 9
    assert db.get("households", "h-6")["head_name"] == "six"
    for missing in ("h-3", "h-4"):
        with pytest.raises(outpost.NotFound):
            db.get("households", missing)
    # deletions in bulk
    res = db.bulk([{"table": "households", "id": "h-6", "revision": results[5].revision, "deleted": True}])
    assert res[0].ok and db.get("households", "h-6").deleted


def test_bulk_values_of_every_type(households):
    db = households
    ts = dt.datetime(2026, 11, 22, 12, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    docs = [
        {"id": "b/1 é", "values": {"head_name": "Zoë \"q\" \\ 🏠", "size": 2**62, "lat": -2.5e-3,
                                   "consent": True, "photo": b"\x00\x00", "visited": ts, "district": None}},
        {"id": "b-2", "values": {"head_name": outpost.Typed("string", "typed"), "lat": outpost.Typed("float", "1.50"),
                                 "photo": bytearray(b"\x01")}},
        {"id": "b-3", "attributes": {"head_name": {"string": "raw"}, "size": {"int": "3"}}},
    ]
    results = households.bulk(docs, table="households")
    assert [r.ok for r in results] == [True, True, True], results
    r1 = db.get("households", "b/1 é")
    assert r1.values == {"head_name": 'Zoë "q" \\ 🏠', "size": 2**62, "lat": -0.0025, "consent": True,
                         "photo": b"\x00\x00", "visited": ts}
    assert db.get("households", "b-2").values == {"head_name": "typed", "lat": 1.5, "photo": b"\x01"}
    assert db.get("households", "b-3").values == {"head_name": "raw", "size": 3}


def test_error_object_carries_code_and_message(households):
    try:
        households.put("households", "x", {"head_name": "a", "size": "six"})
    except outpost.Error as e:
        assert e.code == "invalid_value"
        assert "size" in e.message
        assert str(e).startswith("invalid_value: ")
    else:
        pytest.fail("no error")


def test_closed_database(db_path):
    d = outpost.open(f"sqlite:{db_path}")
    d.close()
    d.close()  # again: nothing
    assert d.closed
    with pytest.raises(ValueError):
        d.tables()


def test_open_errors(tmp_path):
    with pytest.raises(outpost.Error) as e:
        outpost.open("postgres://127.0.0.1:1/none")
    assert e.value.code in ("unavailable", "invalid_value")
    with pytest.raises(outpost.Error):
        outpost.open(f"sqlite:{tmp_path}/no/such/dir/x.db")


def test_one_handle_from_several_threads(households):
    import threading

    db = households
    errors = []

    def writer(n):
        try:
            for i in range(50):
                db.put("households", f"t{n}-{i:02d}", {"head_name": f"{n}", "size": i})
                db.get("households", f"t{n}-{i:02d}")
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sum(1 for _ in db.records("households")) == 200
    assert len(list(db.changes())) == 200


def test_close_refused_while_a_call_runs(households):
    import threading
    import time

    db = households
    box = {}
    t = threading.Thread(target=lambda: box.update(page=db.changes_page(timeout_ms=5000,
                                                                       since=db.info()["update_seq"])))
    t.start()
    time.sleep(0.3)
    with pytest.raises(RuntimeError):
        db.close()
    db.cancel()
    t.join(10)
    assert not t.is_alive() and box["page"]["results"] == []
    db.close()
    assert db.closed
