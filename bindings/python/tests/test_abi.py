"""The conventions of include/outpost.h, checked on the raw C functions."""

from __future__ import annotations

import ctypes
import json

import pytest

from outpost import _lib

SENTINEL = 0x5A5A5A5A


@pytest.fixture(scope="module")
def lib():
    return _lib.load()


@pytest.fixture
def handle(lib, tmp_path):
    db = ctypes.c_void_p()
    err = _lib.OutpostError()
    rc = lib.outpost_open(f"sqlite:{tmp_path / 'abi.db'}".encode(), None, ctypes.byref(db), ctypes.byref(err))
    assert rc == 0 and db.value and err.message is None
    lib.outpost_error_clear(ctypes.byref(err))
    yield db
    lib.outpost_close(db)


def put_table(lib, db):
    err = _lib.OutpostError()
    out = ctypes.c_void_p()
    body = b'{"columns":[{"name":"head_name","type":"string","required":true},{"name":"size","type":"int"}]}'
    rc = lib.outpost_table_put(db, b"households", body, ctypes.byref(out), ctypes.byref(err))
    assert rc == 0, ctypes.string_at(err.message)
    table = json.loads(_lib.take_string(lib, out.value))
    assert table["name"] == "households"
    lib.outpost_error_clear(ctypes.byref(err))


def test_failure_fills_err_and_leaves_out_alone(lib, handle):
    put_table(lib, handle)
    err = _lib.OutpostError()
    out = ctypes.c_void_p(SENTINEL)
    rc = lib.outpost_get(handle, b"households", b"absent", None, ctypes.byref(out), ctypes.byref(err))
    assert rc == 10  # OUTPOST_NOT_FOUND
    assert err.code == rc
    assert err.message and ctypes.string_at(err.message)
    assert out.value == SENTINEL, "a failed call changed its out-parameter"
    lib.outpost_error_clear(ctypes.byref(err))
    assert err.code == 0 and err.message is None


def test_error_reused_without_clearing(lib, handle):
    """A call that fills an error already holding a message frees that one
    first: reusing one struct for two failures is fine, one clear at the end."""
    err = _lib.OutpostError()
    out = ctypes.c_void_p()
    assert lib.outpost_table_get(handle, b"nope", ctypes.byref(out), ctypes.byref(err)) == 12
    first = ctypes.string_at(err.message)
    assert lib.outpost_put(handle, b"nope", b"x", None, b"{}", ctypes.byref(out), ctypes.byref(err)) == 12
    assert err.code == 12 and ctypes.string_at(err.message)
    assert first
    lib.outpost_error_clear(ctypes.byref(err))


def test_err_may_be_null(lib, handle):
    out = ctypes.c_void_p()
    assert lib.outpost_table_get(handle, b"nope", ctypes.byref(out), None) == 12
    assert out.value is None


def test_failed_open_leaves_db_alone(lib, tmp_path):
    db = ctypes.c_void_p(SENTINEL)
    err = _lib.OutpostError()
    rc = lib.outpost_open(b"sqlite:/nonexistent-dir/x/y.db", None, ctypes.byref(db), ctypes.byref(err))
    assert rc != 0 and err.code == rc and err.message
    assert db.value == SENTINEL
    lib.outpost_error_clear(ctypes.byref(err))
    rc = lib.outpost_open(f"sqlite:{tmp_path / 'x.db'}".encode(), b'{"durability": "sometimes"}',
                          ctypes.byref(db), None)
    assert rc != 0 and db.value == SENTINEL


def test_out_may_be_null_where_the_header_says_so(lib, handle):
    err = _lib.OutpostError()
    body = b'{"columns":[{"name":"head_name","type":"string"}]}'
    assert lib.outpost_table_put(handle, b"t", body, None, ctypes.byref(err)) == 0
    assert lib.outpost_scope_set(handle, b"t: *", None, ctypes.byref(err)) == 0
    assert lib.outpost_scope_clear(handle, None, ctypes.byref(err)) == 0
    lib.outpost_error_clear(ctypes.byref(err))


def test_null_is_fine_for_free_clear_close(lib):
    lib.outpost_free(None)
    lib.outpost_error_clear(None)
    lib.outpost_close(None)


def test_static_strings(lib):
    assert lib.outpost_version().decode()
    assert lib.outpost_abi_version() == 1
    names = [lib.outpost_code_name(i).decode() for i in range(1, 20)]
    assert names == [
        "invalid_json", "invalid_value", "invalid_name", "unknown_column", "missing_required",
        "invalid_revision", "invalid_scope", "unauthorized", "forbidden", "not_found",
        "method_not_allowed", "unknown_table", "conflict", "schema_conflict", "too_large",
        "unsupported_media_type", "unavailable", "internal", "disk_full",
    ]
    assert lib.outpost_code_name(100) == b"cancelled"
    assert lib.outpost_code_name(20) == b"unknown" and lib.outpost_code_name(-1) == b"unknown"


def test_strings_out_are_utf8_json(lib, handle):
    put_table(lib, handle)
    err = _lib.OutpostError()
    out = ctypes.c_void_p()
    attrs = json.dumps({"head_name": {"string": "Åsa 🏠"}}, ensure_ascii=False).encode()
    assert lib.outpost_put(handle, b"households", "é/1".encode(), None, attrs, ctypes.byref(out), ctypes.byref(err)) == 0
    w = json.loads(_lib.take_string(lib, out.value))
    assert w["id"] == "é/1"
    assert lib.outpost_get(handle, b"households", "é/1".encode(), b'{"conflicts":true}', ctypes.byref(out),
                           ctypes.byref(err)) == 0
    r = json.loads(_lib.take_string(lib, out.value))
    assert r["attributes"] == {"head_name": {"string": "Åsa 🏠"}} and r["conflicts"] == []
    lib.outpost_error_clear(ctypes.byref(err))


def test_sync_without_progress_and_report(lib, handle, tmp_path):
    put_table(lib, handle)
    err = _lib.OutpostError()
    out = ctypes.c_void_p()
    assert lib.outpost_put(handle, b"households", b"h", None, b'{"head_name":{"string":"x"}}',
                           ctypes.byref(out), ctypes.byref(err)) == 0
    _lib.take_string(lib, out.value)
    other = f"sqlite:{tmp_path / 'other.db'}".encode()
    assert lib.outpost_sync(handle, other, None, _lib.PROGRESS_FN(), None, None, ctypes.byref(err)) == 0
    rc = lib.outpost_sync(handle, other, b'{"direction":"push"}', _lib.PROGRESS_FN(), None, ctypes.byref(out), ctypes.byref(err))
    assert rc == 0
    report = json.loads(_lib.take_string(lib, out.value))
    assert "changes_read" in report
    lib.outpost_error_clear(ctypes.byref(err))
