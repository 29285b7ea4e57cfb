"""Database: one outpost_db handle, and the records, feed and sync over it."""

from __future__ import annotations

import collections
import ctypes
import json
import os
import threading
from dataclasses import dataclass, field
from json.encoder import encode_basestring as _esc
from typing import Any, Iterator, NamedTuple

from . import _lib
from .errors import Error, InvalidName, InvalidValue, from_name, from_number
from .values import decode_values, encode_values, values_json

# ----------------------------------------------------------------------------
# Result types
# ----------------------------------------------------------------------------


class Column(NamedTuple):
    """A column of a table: name, type (one of TYPES) and required."""

    name: str
    type: str
    required: bool = False

    def to_json(self) -> dict:
        return {"name": self.name, "type": self.type, "required": bool(self.required)}


class Table(NamedTuple):
    """A table definition as stored."""

    name: str
    columns: list

    @classmethod
    def from_json(cls, d: dict) -> "Table":
        return cls(
            d["name"],
            [Column(c["name"], c["type"], bool(c.get("required", False))) for c in d["columns"]],
        )

    def column(self, name: str) -> Column | None:
        for c in self.columns:
            if c.name == name:
                return c
        return None


class WriteResult(NamedTuple):
    """The result of a write: the record and the revision written."""

    table: str
    id: str
    revision: str


@dataclass
class BulkResult:
    """One document's outcome in :meth:`Database.bulk`: a revision, or an
    error (``error`` is the wire code, ``message`` the text)."""

    table: str | None
    id: str | None
    revision: str | None = None
    error: str | None = None
    message: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def exception(self) -> Error | None:
        """The error as an outpost.Error subclass (None when written)."""
        return None if self.error is None else from_name(self.error, self.message or "")


@dataclass
class Record:
    """A record (or one revision of it) as read.

    ``values`` holds Python values, nulls left out, so ``record.get(col)`` is
    None for a null. ``conflicts``/``ancestry`` are None unless asked for.
    ``record[col]`` and ``record.get(col)`` read ``values``.
    """

    table: str
    id: str
    revision: str
    deleted: bool
    values: dict
    conflicts: list | None = None
    ancestry: list | None = None
    attributes: dict = field(default_factory=dict, repr=False)  # the wire form

    @classmethod
    def from_json(cls, d: dict) -> "Record":
        attrs = d.get("attributes") or {}
        return cls(
            table=d.get("table"),
            id=d["id"],
            revision=d.get("revision"),
            deleted=bool(d.get("deleted", False)),
            values=decode_values(attrs),
            conflicts=d.get("conflicts"),
            ancestry=d.get("ancestry"),
            attributes=attrs,
        )

    def __getitem__(self, column: str):
        return self.values[column]

    def get(self, column: str, default=None):
        return self.values.get(column, default)


@dataclass
class Page:
    """One page of :meth:`Database.list`: ``records`` and ``next`` (the id to
    pass as ``after``; "" at the end). Iterating a page iterates its records."""

    records: list
    next: str

    def __iter__(self):
        return iter(self.records)

    def __len__(self):
        return len(self.records)


class ConflictEntry(NamedTuple):
    """A record with conflicts: its winner and the other live leaves."""

    table: str
    id: str
    winner: str
    conflicts: list


@dataclass
class Change:
    """An entry of the change feed. A ``removed`` entry (under a scope) has no
    revision, deleted flag or leaves."""

    seq: str
    table: str
    id: str
    revision: str | None = None
    deleted: bool = False
    leaves: list = field(default_factory=list)
    removed: bool = False

    @classmethod
    def from_json(cls, d: dict) -> "Change":
        return cls(
            seq=d["seq"],
            table=d["table"],
            id=d["id"],
            revision=d.get("revision"),
            deleted=bool(d.get("deleted", False)),
            leaves=list(d.get("leaves") or []),
            removed=bool(d.get("removed", False)),
        )


# ----------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------


def _cstr(value, what: str = "name") -> bytes | None:
    """A borrowed C string; refuses an embedded NUL (C would cut the text there)."""
    if value is None:
        return None
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if isinstance(value, bytes):
        value = value.decode("utf-8")
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, not {type(value).__name__}")
    if "\x00" in value:
        cls = InvalidValue if what in ("scope", "url", "where") else InvalidName
        raise cls(f"{what} {value!r} contains a NUL character")
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError as e:
        raise InvalidValue(f"{what} {value!r} is not valid Unicode: {e}") from None


def _json(obj) -> bytes:
    try:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError as e:
        raise InvalidValue(f"text that is not valid Unicode: {e}") from None


def _values(values) -> bytes:
    """The attributes JSON of Python values, as UTF-8 for C."""
    try:
        return values_json(values).encode("utf-8")
    except UnicodeEncodeError as e:
        raise InvalidValue(f"text that is not valid Unicode: {e}") from None


_PLAIN_DOC_KEYS = frozenset(("table", "id", "revision", "values", "deleted", "resolve"))


def _doc_json(d: dict, table: str | None) -> str:
    """One bulk_docs document as JSON text."""
    t = d.get("table", table)
    i = d.get("id")
    r = d.get("revision")
    if (d.keys() <= _PLAIN_DOC_KEYS and type(t) is str and (i is None or type(i) is str)
            and (r is None or type(r) is str)):
        out = '{"table":' + _esc(t)
        if i is not None:
            out += ',"id":' + _esc(i)
        if r is not None:
            out += ',"revision":' + _esc(r)
        if d.get("deleted"):
            out += ',"deleted":true'
        if d.get("resolve"):
            out += ',"resolve":true'
        return out + ',"attributes":' + values_json(d.get("values")) + "}"
    w = dict(d)
    if table is not None and "table" not in w:
        w["table"] = table
    v = w.pop("values", None)
    if v is not None:
        w["attributes"] = encode_values(v)
    elif "attributes" not in w:
        w["attributes"] = {}
    return json.dumps(w, ensure_ascii=False, separators=(",", ":"))


def _error_from(lib, rc: int, err: _lib.OutpostError, report=None) -> Error:
    message = ctypes.string_at(err.message).decode("utf-8", "replace") if err.message else ""
    name = lib.outpost_code_name(rc)
    return from_number(rc, message, name.decode() if name else None, report=report)


def _column(spec) -> dict:
    """A column spec as JSON: Column, "name:type[!]", (name, type[, required])
    where required is a bool or {"required": bool}, or a dict."""
    if isinstance(spec, Column):
        return spec.to_json()
    if isinstance(spec, str):
        name, sep, kind = spec.partition(":")
        if not sep:
            raise InvalidValue(f"column {spec!r}: write it as name:type or name:type!")
        required = kind.endswith("!")
        return Column(name, kind.rstrip("!"), required).to_json()
    if isinstance(spec, dict):
        return {
            "name": spec["name"],
            "type": spec["type"],
            "required": bool(spec.get("required", False)),
        }
    if isinstance(spec, (tuple, list)) and len(spec) in (2, 3):
        required = False
        if len(spec) == 3:
            extra = spec[2]
            required = bool(extra.get("required", False)) if isinstance(extra, dict) else bool(extra)
        return Column(spec[0], spec[1], required).to_json()
    raise InvalidValue(f"column {spec!r}: give a Column, 'name:type', (name, type[, required]) or a dict")


# ----------------------------------------------------------------------------
# Database
# ----------------------------------------------------------------------------


class Database:
    """An open database: a local SQLite file or a hub over HTTP.

    Use it as a context manager, or call :meth:`close`. Its methods may be
    called from several threads at once; :meth:`close` refuses while another
    call runs (cancel a running sync with :meth:`cancel` first).
    """

    def __init__(self, url, token: str | None = None, **options):
        self._lib = _lib.load()
        self.url = os.fspath(url) if isinstance(url, os.PathLike) else url
        opts = {k: v for k, v in options.items() if v is not None}
        if isinstance(opts.get("cacert"), os.PathLike):
            opts["cacert"] = os.fspath(opts["cacert"])
        if token is not None:
            opts["token"] = token
        self._state = threading.Condition()
        self._busy = 0
        self._h = None
        handle = ctypes.c_void_p()
        err = _lib.OutpostError()
        try:
            rc = self._lib.outpost_open(
                _cstr(self.url, "url"), _json(opts) if opts else None, ctypes.byref(handle), ctypes.byref(err)
            )
            if rc != 0:
                raise _error_from(self._lib, rc, err)
        finally:
            self._lib.outpost_error_clear(ctypes.byref(err))
        self._h = handle

    # -- lifetime --------------------------------------------------------

    def __enter__(self) -> "Database":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        try:
            if getattr(self, "_h", None) is not None and self._busy == 0:
                self._lib.outpost_close(self._h)
                self._h = None
        except Exception:
            pass

    @property
    def closed(self) -> bool:
        return self._h is None

    def close(self) -> None:
        """Closes the handle (again: nothing). Raises RuntimeError while
        another thread is in a call on it."""
        with self._state:
            if self._h is None:
                return
            if self._busy:
                raise RuntimeError("outpost: close() while another call runs on this database; cancel() it first")
            h, self._h = self._h, None
        self._lib.outpost_close(h)

    def _enter(self):
        with self._state:
            if self._h is None:
                raise ValueError("outpost: the database is closed")
            self._busy += 1
            return self._h

    def _leave(self):
        with self._state:
            self._busy -= 1

    def _call(self, fname: str, *args) -> str | None:
        """Calls fname(db, *args, &out, &err); the out text, or raises."""
        lib = self._lib
        fn = getattr(lib, fname)
        out = ctypes.c_void_p()
        err = _lib.OutpostError()
        h = self._enter()
        try:
            rc = fn(h, *args, ctypes.byref(out), ctypes.byref(err))
            text = _lib.take_string(lib, out.value)
            if rc != 0:
                raise _error_from(lib, rc, err)
            return text
        finally:
            lib.outpost_error_clear(ctypes.byref(err))
            self._leave()

    def _call_json(self, fname: str, *args):
        text = self._call(fname, *args)
        return None if text is None else json.loads(text)

    # -- the database ------------------------------------------------------

    def info(self) -> dict:
        """{"db_id", "backend", "update_seq", "scope"}."""
        return self._call_json("outpost_info")

    def cancel(self) -> None:
        """Cancels every sync and waiting changes read running on this
        database now (from any thread). Calls started later are not affected.
        A changes long-poll on a hub (http(s)://) runs to its timeout."""
        with self._state:
            h = self._h
            if h is None:
                return
            self._busy += 1
        try:
            self._lib.outpost_cancel(h)
        finally:
            self._leave()

    # -- tables ------------------------------------------------------------

    def tables(self) -> list:
        """Every table definition, as Table(name, columns)."""
        return [Table.from_json(t) for t in self._call_json("outpost_table_list")["tables"]]

    def table(self, name: str) -> Table:
        """One table's definition; raises UnknownTable when there is none."""
        return Table.from_json(self._call_json("outpost_table_get", _cstr(name, "table name")))

    def create_table(self, name: str, columns) -> Table:
        """Creates table ``name``, or merges ``columns`` into it (as PUT
        /v1/tables/{t}: a union; a column retyped is SchemaConflict). Columns:
        ``Column``, ``"name:type"``/``"name:type!"`` (required),
        ``(name, type)``, ``(name, type, True)``, ``(name, type, {"required":
        True})`` or ``{"name", "type", "required"}``. Returns the definition."""
        body = {"columns": [_column(c) for c in columns]}
        return Table.from_json(
            self._call_json("outpost_table_put", _cstr(name, "table name"), _json(body))
        )

    def extend_table(self, name: str, columns) -> Table:
        """Adds columns to an existing table (UnknownTable when it does not
        exist; added columns cannot be required: SchemaConflict)."""
        self.table(name)
        return self.create_table(name, columns)

    # -- records -----------------------------------------------------------

    @staticmethod
    def _write_result(text: str) -> WriteResult:
        d = json.loads(text)
        return WriteResult(d["table"], d["id"], d["revision"])

    def put(self, table: str, id: str, values, revision: str | None = None) -> WriteResult:
        """Writes ``values`` (the record's whole new content) as a new
        revision of record ``id``, on leaf ``revision`` or (None) on the
        winner, creating the record when absent."""
        return self._write_result(
            self._call(
                "outpost_put",
                _cstr(table, "table name"),
                _cstr(id, "record id"),
                _cstr(revision, "revision"),
                _values(values),
            )
        )

    def create(self, table: str, values) -> WriteResult:
        """A new record with a generated id (UUID v4), named in the result."""
        return self._write_result(
            self._call("outpost_create", _cstr(table, "table name"), _values(values))
        )

    def delete(self, table: str, id: str, revision: str | None = None) -> WriteResult:
        """Writes a tombstone on leaf ``revision`` or (None) on the winner."""
        return self._write_result(
            self._call(
                "outpost_delete", _cstr(table, "table name"), _cstr(id, "record id"), _cstr(revision, "revision")
            )
        )

    def resolve(self, table: str, id: str, revision: str | None = None, values=None) -> WriteResult:
        """Keeps leaf ``revision`` (None: the winner) with ``values`` (None:
        that leaf's own) and deletes every other live leaf, in one transaction."""
        return self._write_result(
            self._call(
                "outpost_resolve",
                _cstr(table, "table name"),
                _cstr(id, "record id"),
                _cstr(revision, "revision"),
                None if values is None else _values(values),
            )
        )

    def bulk(self, docs, table: str | None = None, new_edits: bool = True) -> list:
        """Writes many documents in one transaction.

        Each document is a dict: ``table`` (default: the ``table`` argument),
        ``id`` (optional: generated), ``revision`` (the parent), ``values``
        (Python values) or ``attributes`` (wire form, sent as is),
        ``deleted``/``resolve`` (bools); other keys (``ancestry``, ...) are
        sent as they are. Returns one :class:`BulkResult` per document, in
        order: a document that fails has ``error``/``message`` and does not
        stop the others (nothing is raised for it).
        """
        parts = []
        refused = {}  # index -> BulkResult: documents this binding cannot even encode
        for index, d in enumerate(docs):
            try:
                parts.append(_doc_json(d, table).encode("utf-8"))
            except (InvalidValue, UnicodeEncodeError, TypeError, ValueError) as e:
                message = e.message if isinstance(e, Error) else f"cannot encode the document: {e}"
                refused[index] = BulkResult(d.get("table", table), d.get("id"), None, "invalid_value", message)
        body = b'{"new_edits":' + (b"true" if new_edits else b"false") + b',"docs":[' + b",".join(parts) + b"]}"
        answer = self._call_json("outpost_bulk_docs", body)
        if isinstance(answer, dict):
            answer = answer.get("results", [])
        results = [
            BulkResult(r.get("table"), r.get("id"), r.get("revision"), r.get("error"), r.get("message"))
            for r in answer
        ]
        for index in sorted(refused):
            results.insert(index, refused[index])
        return results

    def get(self, table: str, id: str, rev: str | None = None, conflicts: bool = False,
            ancestry: bool = False) -> Record:
        """The record's winner (or revision ``rev``). Raises NotFound when the
        record (or revision) does not exist; a deleted record is returned with
        ``deleted`` True and no values."""
        opts: dict[str, Any] = {}
        if rev is not None:
            opts["rev"] = rev
        if conflicts:
            opts["conflicts"] = True
        if ancestry:
            opts["ancestry"] = True
        return Record.from_json(
            self._call_json(
                "outpost_get", _cstr(table, "table name"), _cstr(id, "record id"), _json(opts) if opts else None
            )
        )

    def list(self, table: str, where: str | None = None, after: str | None = None,
             limit: int | None = None) -> Page:
        """One page of live records in id order (``limit`` default 1000).
        ``where``: a scope clause of this table ("size IN (5, 6)")."""
        opts: dict[str, Any] = {}
        if where is not None:
            opts["where"] = where
        if after is not None:
            opts["after"] = after
        if limit is not None:
            opts["limit"] = limit
        d = self._call_json("outpost_list", _cstr(table, "table name"), _json(opts) if opts else None)
        return Page([Record.from_json(r) for r in d["records"]], d.get("next") or "")

    def records(self, table: str, where: str | None = None, page_size: int = 1000) -> Iterator[Record]:
        """Every live record of ``table`` in id order, paging with ``next``."""
        after = None
        while True:
            page = self.list(table, where=where, after=after, limit=page_size)
            yield from page.records
            if not page.next:
                return
            after = page.next

    def conflicts(self, table: str | None = None, page_size: int | None = None) -> list:
        """Every record with conflicts (in ``table``, or in every table)."""
        result = []
        after = None
        while True:
            opts: dict[str, Any] = {}
            if table is not None:
                opts["table"] = table
            if after:
                opts["after"] = after
            if page_size is not None:
                opts["limit"] = page_size
            d = self._call_json("outpost_conflicts", _json(opts) if opts else None)
            result += [ConflictEntry(c["table"], c["id"], c["winner"], list(c["conflicts"])) for c in d["conflicts"]]
            if not d.get("next"):
                return result
            after = d["next"]

    # -- the change feed -----------------------------------------------------

    def changes_page(self, since: str | None = None, tables=None, scope: str | None = None,
                     timeout_ms: int | None = None, limit: int | None = None) -> dict:
        """One page of the feed as the library answers it: {"results": [...],
        "last_seq", "more"} (entries as dicts)."""
        opts: dict[str, Any] = {}
        if since is not None:
            opts["since"] = since
        if tables is not None:
            opts["tables"] = [tables] if isinstance(tables, str) else list(tables)
        if scope is not None:
            opts["scope"] = scope
        if timeout_ms is not None:
            opts["timeout_ms"] = int(timeout_ms)
        if limit is not None:
            opts["limit"] = int(limit)
        return self._call_json("outpost_changes", _json(opts) if opts else None)

    def changes(self, since: str | None = None, tables=None, scope: str | None = None,
                timeout_ms: int | None = None, limit: int | None = None) -> "Changes":
        """The feed after ``since`` as an iterator of :class:`Change`, read
        page by page (``limit`` entries each) until the feed says there is no
        more. ``timeout_ms``: each read waits that long for an entry when
        there is none yet. The iterator's ``last_seq`` is the cursor after
        the last entry it yielded (after a whole page: the page's
        ``last_seq``); pass it as ``since`` to resume."""
        return Changes(self, since, tables, scope, timeout_ms, limit, follow=False)

    def follow(self, since: str | None = None, tables=None, scope: str | None = None,
               timeout_ms: int = 30000, limit: int | None = None) -> "Changes":
        """Like :meth:`changes` but never done: long-polls (``timeout_ms`` per
        wait) for new entries until its ``stop()`` is called (noticed at the
        end of the current wait; ``stop(wake=True)`` also calls
        :meth:`cancel` to end the wait at once, which cancels running syncs
        too; on a hub, http(s)://, a wait always runs to its timeout)."""
        return Changes(self, since, tables, scope, timeout_ms, limit, follow=True)

    # -- sync --------------------------------------------------------------

    def sync(self, url, token: str | None = None, *, direction: str = "both", tables=None,
             scope: str | None = None, continuous: bool = False, progress=None,
             batch: int | None = None, cacert: str | None = None, insecure: bool | None = None,
             scope_check_ms: int | None = None, retry_for_ms: int | None = None) -> dict:
        """Replicates with the database at ``url`` (a hub's http(s)://HOST:PORT
        or any database URL) until both hold the same records; returns the
        report (the JSON of ``outpost sync --json``) as a dict.

        Without ``continuous``, a hub that cannot be reached, answers 503 or
        times out is tried again for ``retry_for_ms`` (default 60000) before
        the sync raises :class:`Unavailable`; each request is sent once, so
        ``retry_for_ms=0`` means no retry at all.

        ``progress(info)`` is called with a dict per step of a direction
        ({"direction", "changes_read", "revisions_written", ...}) from the
        library's syncing threads, one call at a time. Returning ``True``
        cancels the sync; an
        exception raised in it cancels the sync too and is raised again by
        ``sync`` once it has returned.

        Raises an :class:`Error` (its ``report`` attribute holds the report
        when the sync started): :class:`Cancelled` when cancelled (how a
        continuous sync ends, unless an error other than Unavailable ends
        it; see :meth:`cancel`), the stopping error,
        or the first refused document's code. In the main thread, Ctrl-C
        cancels the sync and raises KeyboardInterrupt.
        """
        opts: dict[str, Any] = {}
        if token is not None:
            opts["token"] = token
        if direction != "both":
            opts["direction"] = direction
        if tables is not None:
            opts["tables"] = [tables] if isinstance(tables, str) else list(tables)
        if scope is not None:
            opts["scope"] = scope
        if continuous:
            opts["continuous"] = True
        if batch is not None:
            opts["batch"] = int(batch)
        if cacert is not None:
            opts["cacert"] = os.fspath(cacert)
        if insecure is not None:
            opts["insecure"] = bool(insecure)
        if scope_check_ms is not None:
            opts["scope_check_ms"] = int(scope_check_ms)
        if retry_for_ms is not None:
            opts["retry_for_ms"] = int(retry_for_ms)
        url_c = _cstr(os.fspath(url) if isinstance(url, os.PathLike) else url, "url")

        raised: list[BaseException] = []
        raised_lock = threading.Lock()
        cb = _lib.PROGRESS_FN()  # NULL: no callback (ctypes takes no None for a CFUNCTYPE)
        if progress is not None:

            def trampoline(_user_data, text):
                # Runs on a syncing thread of the library: nothing may
                # propagate into C, so every exception is kept and cancels.
                try:
                    info = json.loads(text.decode("utf-8")) if text else {}
                    return 1 if progress(info) is True else 0
                except BaseException as e:  # noqa: BLE001 - re-raised by sync()
                    with raised_lock:
                        if not raised:
                            raised.append(e)
                    return 1

            cb = _lib.PROGRESS_FN(trampoline)  # referenced until the call returns

        lib = self._lib
        result: dict[str, Any] = {}

        def run(h, done=None):
            out = ctypes.c_void_p()
            err = _lib.OutpostError()
            try:
                rc = lib.outpost_sync(h, url_c, _json(opts) if opts else None, cb, None,
                                      ctypes.byref(out), ctypes.byref(err))
                text = _lib.take_string(lib, out.value)
                result["report"] = json.loads(text) if text else None
                result["rc"] = rc
                if rc != 0:
                    result["error"] = _error_from(lib, rc, err, report=result["report"])
            except BaseException as e:  # noqa: BLE001 - handed to the caller
                result["exc"] = e
            finally:
                lib.outpost_error_clear(ctypes.byref(err))
                if done is not None:
                    self._leave()  # the thread holds the handle until here
                    done.set()

        h = self._enter()
        if threading.current_thread() is threading.main_thread():
            # Blocked in C, the main thread would not see Ctrl-C until the
            # sync ends (never, for a continuous one): the sync runs on a
            # thread and the main thread waits on an Event (Thread.join can
            # report a live thread as ended once a KeyboardInterrupt broke
            # into it, before Python 3.13).
            done = threading.Event()
            t = threading.Thread(target=run, args=(h, done), name="outpost-sync", daemon=True)
            try:
                t.start()
            except BaseException:
                self._leave()
                raise
            interrupted = None
            while not done.is_set():
                try:
                    done.wait(0.2)
                except BaseException as e:  # Ctrl-C, SystemExit from a handler, ...
                    # Cancel, and wait for the sync to return all the same:
                    # the handle is in use until it does.
                    interrupted = interrupted or e
                if interrupted is not None:
                    # Again at every turn: a cancel that came before the
                    # worker entered outpost_sync does not reach it.
                    lib.outpost_cancel(h)
            if interrupted is not None:
                raise interrupted
        else:
            try:
                run(h)
            finally:
                self._leave()
        if "exc" in result:
            raise result["exc"]
        if raised:
            exc = raised[0]
            try:
                exc.add_note(f"raised in the progress callback of outpost sync with {url}; the sync was cancelled")
            except AttributeError:
                pass
            raise exc
        if "error" in result:
            raise result["error"]
        return result["report"]

    # -- scope -------------------------------------------------------------

    def scope(self) -> dict:
        """{"scope", "fingerprint"}; both None for a database holding every record."""
        return self._call_json("outpost_scope_get")

    def set_scope(self, scope: str | None) -> dict:
        """Sets the database's scope ("households: district = 'north'; visits");
        None or "" clears it. Returns {"scope", "fingerprint", "purged", "waiting"}."""
        return self._call_json("outpost_scope_set", _cstr(scope, "scope"))

    def clear_scope(self) -> dict:
        """Clears the scope: the database holds every record again."""
        return self._call_json("outpost_scope_clear")


class Changes:
    """An iterator over the change feed (see :meth:`Database.changes` and
    :meth:`Database.follow`). ``last_seq``: the cursor to resume from."""

    def __init__(self, db: Database, since, tables, scope, timeout_ms, limit, follow: bool):
        self._db = db
        self.last_seq = since
        self._tables = tables
        self._scope = scope
        self._timeout_ms = timeout_ms
        self._limit = limit
        self._follow = follow
        self._buffer: collections.deque = collections.deque()
        self._page_last = None
        self._done = False
        self._stopped = False
        self.pages = 0  # feed reads made so far

    def __iter__(self):
        return self

    def stop(self, wake: bool = False) -> None:
        """Ends a follow() once the current wait ends (``wake``: at once, by
        cancelling the database's waits and syncs)."""
        self._stopped = True
        if wake:
            self._db.cancel()

    def __next__(self) -> Change:
        while not self._buffer:
            if self._done or self._stopped:
                raise StopIteration
            before = self.last_seq
            page = self._db.changes_page(self.last_seq, self._tables, self._scope, self._timeout_ms, self._limit)
            self.pages += 1
            results = page.get("results") or []
            self._page_last = page.get("last_seq", self.last_seq)
            more = page.get("more", True)  # a page without "more" may have more
            if not results:
                self.last_seq = self._page_last
            else:
                self._buffer.extend(results)
            if not self._follow:
                if not more:
                    self._done = True
                elif not results and self.last_seq == before:
                    self._done = True  # "more" but nothing moved: nothing to read now
        entry = self._buffer.popleft()
        self.last_seq = self._page_last if not self._buffer else entry["seq"]
        return Change.from_json(entry)
