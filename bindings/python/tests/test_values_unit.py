"""The binding's own value and column conversions (no library needed)."""

from __future__ import annotations

import datetime as dt

import pytest

import outpost
from outpost import values
from outpost.database import _column

UTC = dt.timezone.utc


@pytest.mark.parametrize(
    "value,wire",
    [
        (None, {"null": "true"}),
        ("héllo", {"string": "héllo"}),
        (True, {"bool": "true"}),
        (False, {"bool": "false"}),
        (0, {"int": "0"}),
        (-42, {"int": "-42"}),
        (1.5, {"float": "1.5"}),
        (1e21, {"float": "1e+21"}),
        (b"\x00\x01\x02\xff", {"bytes": "AAEC/w=="}),
        (bytearray(b"\x00"), {"bytes": "AA=="}),
        (dt.datetime(2026, 11, 22, 12, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))),
         {"timestamp": "2026-11-22T10:30:00.000000Z"}),
        (dt.datetime(5, 1, 2, 3, 4, 5, 6, tzinfo=UTC), {"timestamp": "0005-01-02T03:04:05.000006Z"}),
        (outpost.Typed("float", "1.50"), {"float": "1.50"}),
    ],
)
def test_encode(value, wire):
    assert values.encode(value) == wire


@pytest.mark.parametrize(
    "wire,value",
    [
        ({"string": ""}, ""),
        ({"int": "-9223372036854775808"}, -(2**63)),
        ({"float": "1e+21"}, 1e21),
        ({"float": "-0.0025"}, -0.0025),
        ({"bool": "true"}, True),
        ({"bytes": "AAEC/w=="}, b"\x00\x01\x02\xff"),
        ({"timestamp": "2026-11-22T10:30:00.123456Z"}, dt.datetime(2026, 11, 22, 10, 30, 0, 123456, tzinfo=UTC)),
        ({"null": "true"}, None),
        ({"geo": "1,2"}, outpost.Typed("geo", "1,2")),
    ],
)
def test_decode(wire, value):
    got = values.decode(wire)
    assert got == value and type(got) is type(value)


def test_naive_datetime_and_unknown_types_are_refused():
    with pytest.raises(outpost.InvalidValue) as e:
        values.encode(dt.datetime(2026, 1, 1))
    assert e.value.code == "invalid_value"
    with pytest.raises(outpost.InvalidValue):
        values.encode({"a": 1})
    with pytest.raises(outpost.InvalidValue):
        values.encode(dt.date(2026, 1, 1))


def test_decode_values_leaves_out_nulls():
    assert values.decode_values({"a": {"null": "true"}, "b": {"int": "1"}}) == {"b": 1}


def test_column_forms():
    want = {"name": "size", "type": "int", "required": True}
    assert _column("size:int!") == want
    assert _column(("size", "int", True)) == want
    assert _column(("size", "int", {"required": True})) == want
    assert _column({"name": "size", "type": "int", "required": True}) == want
    assert _column(outpost.Column("size", "int", True)) == want
    assert _column(("size", "int")) == {"name": "size", "type": "int", "required": False}
    with pytest.raises(outpost.InvalidValue):
        _column("size")


def test_errors_map_by_number_and_name():
    e = outpost.errors.from_number(2, "bad")
    assert isinstance(e, outpost.InvalidValue) and isinstance(e, ValueError)
    assert (e.code, e.message, str(e)) == ("invalid_value", "bad", "invalid_value: bad")
    assert isinstance(outpost.errors.from_number(100, "x"), outpost.Cancelled)
    odd = outpost.errors.from_number(77, "x", name="something_new")
    assert type(odd) is outpost.Error and odd.code == "something_new"
    assert isinstance(outpost.errors.from_name("unknown_table", "t"), outpost.UnknownTable)
    assert len(set(outpost.errors.BY_NUMBER)) == 20
    assert isinstance(outpost.errors.from_number(19, "full"), outpost.DiskFull)


def test_values_json_matches_encode_values():
    import json

    class S(str):
        pass

    v = {
        "s": 'quote " backslash \\ nl \n nul-free é 🏠 \u2028',
        "i": -(2**63),
        "f": 0.1,
        "nan": float("nan"),
        "b": True,
        "n": None,
        "raw": b"\x00\xff",
        "ba": bytearray(b"\x01"),
        "ts": dt.datetime(2026, 1, 2, tzinfo=UTC),
        "typed": outpost.Typed("float", "1.50"),
        "sub": S("x"),
        'k"ey': 1,
    }
    assert json.loads(values.values_json(v)) == values.encode_values(v)
    assert values.values_json({}) == "{}" and values.values_json(None) == "{}"
    with pytest.raises(outpost.InvalidValue):
        values.values_json({"d": dt.datetime(2026, 1, 1)})


def test_bulk_document_json():
    import json

    from outpost.database import _doc_json

    fast = _doc_json({"id": 'a"b', "revision": "1-x", "deleted": True, "values": {"n": 1}}, "t")
    assert json.loads(fast) == {"table": "t", "id": 'a"b', "revision": "1-x", "deleted": True,
                                "attributes": {"n": {"int": "1"}}}
    slow = _doc_json({"table": "u", "id": "x", "attributes": {"n": {"int": "2"}}, "ancestry": ["1-a"]}, "t")
    assert json.loads(slow) == {"table": "u", "id": "x", "attributes": {"n": {"int": "2"}}, "ancestry": ["1-a"]}


def test_binding_declares_every_function_of_the_header():
    import pathlib
    import re

    from outpost import _lib

    header = pathlib.Path(__file__).resolve().parents[3] / "include" / "outpost.h"
    if not header.exists():
        pytest.skip(f"no {header}")
    text = header.read_text()
    declared = set(re.findall(r"OUTPOST_EXPORT[^;(]*?\b(outpost_\w+)\s*\(", text))
    assert declared, "no function found in outpost.h"
    assert declared == set(_lib._PROTOTYPES), (
        f"in outpost.h, not in the binding: {sorted(declared - set(_lib._PROTOTYPES))}; "
        f"in the binding, not in outpost.h: {sorted(set(_lib._PROTOTYPES) - declared)}"
    )
    # and each one's parameter count agrees
    for name, (_restype, argtypes) in _lib._PROTOTYPES.items():
        m = re.search(r"OUTPOST_EXPORT[^;(]*?\b" + name + r"\s*\(([^)]*)\)", text)
        params = [p for p in m.group(1).split(",") if p.strip() and p.strip() != "void"]
        assert len(params) == len(argtypes), name
