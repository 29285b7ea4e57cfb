"""outpost: Python bindings over liboutpost's C ABI (include/outpost.h).

    import outpost
    with outpost.open("sqlite:field.db") as db:
        db.create_table("households", ["head_name:string!", ("size", "int")])
        w = db.put("households", "h-001", {"head_name": "Amina", "size": 6})
        rec = db.get("households", "h-001")
        report = db.sync("http://127.0.0.1:8080", token="...")

Values are Python values (str, int, float, bool, bytes, aware datetime,
None) or ``outpost.Typed(type, text)``; see ``outpost.values``. Failures
raise ``outpost.Error`` subclasses carrying ``.code`` and ``.message``.
The library is found through $OUTPOST_LIBRARY, else the loader's path
(liboutpost.so.1); see ``outpost._lib``.
"""

from __future__ import annotations

from . import _lib
from .database import (
    BulkResult,
    Change,
    Changes,
    Column,
    ConflictEntry,
    Database,
    Page,
    Record,
    Table,
    WriteResult,
)
from .errors import (
    Cancelled,
    Conflict,
    DiskFull,
    Error,
    Forbidden,
    Internal,
    InvalidJSON,
    InvalidName,
    InvalidRevision,
    InvalidScope,
    InvalidValue,
    MethodNotAllowed,
    MissingRequired,
    NotFound,
    SchemaConflict,
    TooLarge,
    Unauthorized,
    Unavailable,
    UnknownColumn,
    UnknownTable,
    UnsupportedMediaType,
)
from .logs import log_to_logging, set_log_level, set_log_sink
from .values import TYPES, Typed

__all__ = [
    "open", "version", "abi_version", "library_path", "code_name",
    "set_log_level", "set_log_sink", "log_to_logging",
    "Database", "Record", "Page", "Change", "Changes", "Column", "Table", "WriteResult",
    "BulkResult", "ConflictEntry", "Typed", "TYPES",
    "Error", "InvalidJSON", "InvalidValue", "InvalidName", "UnknownColumn", "MissingRequired",
    "InvalidRevision", "InvalidScope", "Unauthorized", "Forbidden", "NotFound",
    "MethodNotAllowed", "UnknownTable", "Conflict", "SchemaConflict", "TooLarge",
    "UnsupportedMediaType", "Unavailable", "Internal", "DiskFull", "Cancelled",
]


def open(url, token: str | None = None, **options) -> Database:  # noqa: A001 - outpost.open
    """Opens the database at ``url``: ``sqlite:PATH`` or a path (created when
    missing), or a hub ``http(s)://HOST:PORT`` (``token``: its bearer token).
    Options: ``durability`` ("full"/"normal"), ``busy_timeout_ms``,
    ``cacert``, ``insecure``. Use the result as a context manager."""
    return Database(url, token=token, **options)


def version() -> str:
    """The loaded library's version, e.g. "0.1.0"."""
    return _lib.load().outpost_version().decode()


def abi_version() -> int:
    """The ABI version of the loaded library (1)."""
    return _lib.load().outpost_abi_version()


def code_name(code: int) -> str:
    """The wire name of an outpost_code number ("unknown" for none)."""
    return _lib.load().outpost_code_name(int(code)).decode()


def library_path() -> str | None:
    """Where the library was loaded from (loads it)."""
    _lib.load()
    return _lib.path()
