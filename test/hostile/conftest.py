"""Fixtures of the hostile tests: a real `outpost serve` hub, a malicious hub
in front of it (a Python proxy that forwards outpost's HTTP API v1 to the
real hub and tampers with one kind of answer per test), devices (SQLite
files) synced through it with the real CLI, and raw HTTP to a real hub.

Environment:
  OUTPOST_BIN  the outpost binary (default build/outpost of the repo)

The contract a device must keep against a hostile hub (each test checks it
through `Device.sync_hostile`): `outpost sync` exits 1 (not 0, not a
signal), says `error: ...` on stderr (and with --json prints an object with
"error" and "message"), writes only valid data (`outpost check` passes, no
record from the hostile answer is stored), ends within its stated bounds
(--timeout, --retry-for) and stays under MAX_RSS of memory.
"""

from __future__ import annotations

import dataclasses
import http.client
import http.server
import json
import os
import pathlib
import shutil
import signal
import socket
import socketserver
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

import pytest

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "test" / "pysupport"))

from outpost_serve import ServeProcess, die_with_parent  # noqa: E402

# The bounds a sync is run with, and held to.
TIMEOUT_S = 3  # --timeout: one request's time limit
RETRY_FOR_S = 4  # --retry-for: how long a one-shot sync retries transient failures
WALL_LIMIT_S = RETRY_FOR_S + 2 * TIMEOUT_S + 10
# A run still going this long after its limit is killed (and fails the test).
KILL_GRACE_S = 4
MAX_RSS = 512 << 20  # bytes, per sync process

# The options that state those bounds. A diagnostic run against a binary
# without them may replace this list (e.g. from a pytest plugin given -p).
SYNC_BOUND_ARGS = ["--timeout", str(TIMEOUT_S), "--retry-for", str(RETRY_FOR_S)]


def pytest_terminal_summary(terminalreporter):
    if CHECK_MISSING:
        terminalreporter.write_line(
            f"test/hostile: this outpost has no 'check' command: {len(CHECK_MISSING)} device "
            f"databases were checked with PRAGMA integrity_check only")


def _interrupt_on_sigterm(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


signal.signal(signal.SIGTERM, _interrupt_on_sigterm)


@pytest.fixture(scope="session")
def outpost_bin() -> str:
    path = os.environ.get("OUTPOST_BIN") or str(REPO / "build" / "outpost")
    if not os.access(path, os.X_OK):
        pytest.fail(f"no outpost binary at {path} (set OUTPOST_BIN, or run make build)")
    return str(pathlib.Path(path).resolve())


# ---------------------------------------------------------------------------
# The CLI


def run_cli(binary: str, db: str, *args, timeout=60, env=None) -> subprocess.CompletedProcess:
    cmd = [binary, "--db", db, *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})}, preexec_fn=die_with_parent)


def cli_ok(binary: str, db: str, *args, **kw) -> subprocess.CompletedProcess:
    p = run_cli(binary, db, *args, **kw)
    if p.returncode != 0:
        raise AssertionError(f"outpost --db {db} {' '.join(args)} exited {p.returncode}: "
                             f"{p.stderr.strip()} {p.stdout.strip()}")
    return p


COLUMNS = ["head_name:string!", "size:int", "district:string"]
TABLE = "households"


@dataclasses.dataclass
class Run:
    """One `outpost sync` process: how it ended and what it cost."""

    args: list
    returncode: int  # negative: killed by that signal
    stdout: str
    stderr: str
    seconds: float
    max_rss: int  # bytes
    killed_by_watchdog: bool

    def describe(self) -> str:
        end = (f"killed by the test after {self.seconds:.1f}s (no end within its bounds)"
               if self.killed_by_watchdog else
               f"signal {-self.returncode}" if self.returncode < 0 else f"exit {self.returncode}")
        return (f"`outpost {' '.join(self.args)}`: {end} after {self.seconds:.1f}s, "
                f"max RSS {self.max_rss / 2**20:.0f} MiB\n  stdout: {_cut(self.stdout)!r}\n"
                f"  stderr: {_cut(self.stderr)!r}")


def _cut(text: str, n: int = 1500) -> str:
    text = text.strip()
    return text if len(text) <= n else text[:n // 2] + " [...] " + text[-n // 2:]


def run_measured(binary: str, db: str, args, env, wall_limit: float) -> Run:
    """Runs `outpost --db DB ARGS`, measuring its time and its own peak RSS
    (os.wait4), killing it when it outlives wall_limit + KILL_GRACE_S."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.monotonic()
        proc = subprocess.Popen([binary, "--db", db, *args], stdout=out, stderr=err,
                                stdin=subprocess.DEVNULL, env={**os.environ, **env},
                                preexec_fn=die_with_parent)
        killed = threading.Event()

        def watchdog():
            killed.set()
            try:
                os.kill(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(wall_limit + KILL_GRACE_S, watchdog)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.monotonic() - start
        out.seek(0)
        err.seek(0)
        return Run(["--db", db, *args], proc.returncode,
                   out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace"),
                   seconds, usage.ru_maxrss * 1024, killed.is_set() and proc.returncode < 0)


# ---------------------------------------------------------------------------
# The real hub


class Hub(ServeProcess):
    """A running `outpost serve` on 127.0.0.1:0 over its own SQLite file."""

    def __init__(self, binary: str, directory: pathlib.Path, extra_args=()):
        self.directory = directory
        self.db_path = directory / "hub.db"
        super().__init__(binary, f"sqlite:{self.db_path}", directory / "serve.log", extra_args)
        u = urllib.parse.urlsplit(self.url)
        self.host, self.port = u.hostname, u.port

    def request(self, method, path, body=None, headers=None, timeout=10):
        """(status, headers, body bytes) of one request to the real hub."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            h = {"Authorization": f"Bearer {self.token}"}
            if body is not None:
                h["Content-Type"] = "application/json"
            h.update(headers or {})
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            return r.status, dict(r.getheaders()), r.read()
        finally:
            conn.close()

    def health(self) -> int:
        try:
            return self.request("GET", "/v1/health", timeout=5)[0]
        except OSError as e:
            return f"no answer: {e!r}"


HUB_RECORDS = {f"h-{i:03d}": {"head_name": f"hub head {i}", "size": str(i), "district": "north"}
               for i in range(1, 6)}


@pytest.fixture(scope="session")
def seeded_hub_db(outpost_bin, tmp_path_factory) -> pathlib.Path:
    """A hub database with the households table and HUB_RECORDS, made once
    and copied for each hub (no server has opened it yet)."""
    d = tmp_path_factory.mktemp("seed")
    db = f"sqlite:{d / 'hub.db'}"
    cli_ok(outpost_bin, db, "tables", "create", TABLE, *COLUMNS)
    for rid, attrs in HUB_RECORDS.items():
        cli_ok(outpost_bin, db, "records", "put", TABLE, rid, *[f"{k}={v}" for k, v in attrs.items()])
    return d / "hub.db"


@pytest.fixture
def make_hub(outpost_bin, seeded_hub_db, tmp_path, request):
    count = [0]

    def make(*extra_args) -> Hub:
        count[0] += 1
        d = tmp_path / f"hub{count[0]}"
        d.mkdir()
        shutil.copy(seeded_hub_db, d / "hub.db")
        h = Hub(outpost_bin, d, extra_args)
        request.addfinalizer(h.stop)
        assert h.token, "the first serve of a fresh database prints an admin token"
        return h

    return make


@pytest.fixture
def hub(make_hub) -> Hub:
    return make_hub()


# ---------------------------------------------------------------------------
# The malicious hub


def route_of(method: str, path: str) -> str:
    """The kind of a request: info, tables, local_get, local_put, changes,
    revs_diff, bulk_get, bulk_docs, health, or other."""
    p = urllib.parse.urlsplit(path).path
    if p == "/v1" and method == "GET":
        return "info"
    if p == "/v1/health":
        return "health"
    if p == "/v1/tables" and method == "GET":
        return "tables"
    if p.startswith("/v1/local/"):
        return "local_get" if method == "GET" else "local_put"
    if p == "/v1/changes":
        return "changes"
    if p in ("/v1/revs_diff", "/v1/bulk_get", "/v1/bulk_docs") and method == "POST":
        return p[len("/v1/"):]
    return "other"


@dataclasses.dataclass
class Request:
    method: str
    path: str
    route: str
    headers: dict
    body: bytes
    proxy: "HostileHub"

    def json(self):
        return json.loads(self.body) if self.body else None

    def forward(self, body: bytes | None = None, path: str | None = None):
        """Sends the request (or this body, this path) to the real hub:
        (status, content type, body bytes), the body uncompressed."""
        return self.proxy.upstream(self.method, path or self.path, self.headers,
                                   self.body if body is None else body)

    def forward_json(self, **kw):
        status, _, data = self.forward(**kw)
        return status, json.loads(data) if data else None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "hostile/1"

    def log_message(self, fmt, *args):
        pass

    def _any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        req = Request(self.command, self.path, route_of(self.command, self.path),
                      {k: v for k, v in self.headers.items()}, body, self.server.hub)
        hub: HostileHub = self.server.hub
        answer = None
        tampered = False
        with hub.lock:
            hub.seen.append((req.method, req.path))
        try:
            if hub.tamper is not None:
                answer = hub.tamper(req)
            tampered = answer is not None and not isinstance(answer, PassThrough)
            if answer is None:
                status, ctype, data = req.forward()
                answer = Body(data, status=status, content_type=ctype)
            with hub.lock:
                if tampered:
                    hub.tampered.append((req.method, req.path))
            answer.write(self)
        except (BrokenPipeError, ConnectionResetError, socket.timeout, TimeoutError):
            self.close_connection = True
        except Exception as e:  # a bug in the test's hub: make it visible
            with hub.lock:
                hub.errors.append(f"{req.method} {req.path}: {e!r}")
            self.close_connection = True
            raise

    do_GET = do_PUT = do_POST = do_DELETE = _any


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


class HostileHub:
    """A proxy to a real hub that answers some requests its own way:
    `tamper(request)` returns an Answer (written instead of the hub's), or
    None (the real hub's answer is passed on)."""

    def __init__(self, upstream: Hub):
        self.hub = upstream
        self.tamper = None
        self.lock = threading.Lock()
        self.seen: list[tuple[str, str]] = []
        self.tampered: list[tuple[str, str]] = []
        self.errors: list[str] = []
        self.server = _Server(("127.0.0.1", 0), Handler)
        self.server.hub = self
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1},
                                       daemon=True)
        self.thread.start()

    def upstream(self, method, path, headers, body):
        conn = http.client.HTTPConnection(self.hub.host, self.hub.port, timeout=30)
        try:
            h = {k: v for k, v in headers.items()
                 if k.lower() in ("authorization", "content-type", "content-encoding")}
            conn.request(method, path, body=body if body else None, headers=h)
            r = conn.getresponse()
            return r.status, r.getheader("Content-Type") or "application/json", r.read()
        finally:
            conn.close()

    def routes_seen(self):
        with self.lock:
            return [route_of(m, p) for m, p in self.seen]

    def was_tampered(self, route: str | None = None) -> bool:
        """Whether an answer of kind `route` (any kind: None) was tampered with."""
        with self.lock:
            return any(route is None or route_of(m, p) == route for m, p in self.tampered)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hostile(hub, request) -> HostileHub:
    h = HostileHub(hub)
    request.addfinalizer(h.stop)
    return h


# Answers -------------------------------------------------------------------


class Answer:
    def write(self, handler: Handler):
        raise NotImplementedError


class PassThrough(Answer):
    """An answer of the hostile hub that is not the step under test (a
    helping change: it does not count as having reached the step)."""

    def __init__(self, answer: Answer):
        self.answer = answer

    def write(self, handler):
        self.answer.write(handler)


def _head(handler: Handler, status: int, headers: dict):
    handler.send_response(status)
    for k, v in headers.items():
        handler.send_header(k, str(v))
    handler.end_headers()


class Body(Answer):
    """A whole body, with its Content-Length."""

    def __init__(self, data, status=200, content_type="application/json", headers=None):
        if not isinstance(data, (bytes, bytearray)):
            data = json.dumps(data).encode()
        self.data, self.status, self.content_type = bytes(data), status, content_type
        self.headers = headers or {}

    def write(self, handler):
        _head(handler, self.status, {"Content-Type": self.content_type,
                                     "Content-Length": len(self.data), **self.headers})
        handler.wfile.write(self.data)
        handler.wfile.flush()


class Stream(Answer):
    """`total` bytes made of `chunk` repeated (after `prefix`), sent as they
    are made, with a Content-Length (or chunked)."""

    def __init__(self, total: int, chunk: bytes, prefix: bytes = b"", chunked: bool = False,
                 headers=None):
        self.total, self.chunk, self.prefix, self.chunked = total, chunk, prefix, chunked
        self.headers = headers or {}
        self.sent = 0

    def write(self, handler):
        h = {"Content-Type": "application/json", **self.headers}
        if self.chunked:
            h["Transfer-Encoding"] = "chunked"
        else:
            h["Content-Length"] = self.total
        _head(handler, 200, h)
        handler.close_connection = True
        left = self.total
        first = True
        while left > 0:
            piece = self.prefix if first and self.prefix else self.chunk
            first = False
            piece = piece[:left]
            if self.chunked:
                handler.wfile.write(b"%x\r\n" % len(piece) + piece + b"\r\n")
            else:
                handler.wfile.write(piece)
            left -= len(piece)
            self.sent += len(piece)
        if self.chunked:
            handler.wfile.write(b"0\r\n\r\n")
        handler.wfile.flush()


class Cut(Answer):
    """Declares Content-Length `declared`, sends `data` (fewer bytes), closes."""

    def __init__(self, data: bytes, declared: int):
        self.data, self.declared = data, declared

    def write(self, handler):
        _head(handler, 200, {"Content-Type": "application/json", "Content-Length": self.declared})
        handler.wfile.write(self.data)
        handler.wfile.flush()
        handler.close_connection = True
        try:
            handler.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class Trickle(Answer):
    """Sends `raw` (a whole HTTP response, header included, or only its body
    after a proper header) one byte every `interval` seconds, until the
    client goes away or `limit` seconds pass."""

    def __init__(self, body: bytes, header_too: bool, interval: float = 1.0, limit: float = 120):
        self.body, self.header_too, self.interval, self.limit = body, header_too, interval, limit

    def write(self, handler):
        head = (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(self.body)}\r\n\r\n").encode()
        data = head + self.body
        if not self.header_too:
            handler.wfile.write(head)
            handler.wfile.flush()
            data = self.body
        handler.close_connection = True
        end = time.monotonic() + self.limit
        for i in range(len(data)):
            if time.monotonic() > end:
                break
            handler.wfile.write(data[i:i + 1])
            handler.wfile.flush()
            time.sleep(self.interval)


# ---------------------------------------------------------------------------
# Devices


# Databases checked without `outpost check` (a binary that lacks it).
CHECK_MISSING: list[str] = []


class Device:
    """A device's SQLite database, synced by the real CLI."""

    def __init__(self, binary: str, path: pathlib.Path, token: str):
        self.binary, self.path, self.token = binary, path, token
        self.db = f"sqlite:{path}"

    def cli(self, *args, **kw):
        return cli_ok(self.binary, self.db, *args, **kw)

    def records(self, table: str = TABLE) -> dict:
        """{id: record} of the table's live records; {} when the table is not
        there (a device that received nothing)."""
        p = run_cli(self.binary, self.db, "--json", "records", "list", table, "--limit", "10000")
        if p.returncode != 0:
            if "unknown_table" in p.stderr:
                return {}
            raise AssertionError(f"records list {table} on the device exited {p.returncode}: "
                                 f"{p.stderr.strip()}")
        data = json.loads(p.stdout)
        recs = data["records"] if isinstance(data, dict) else data
        return {r["id"]: r for r in recs}

    def get(self, table: str, rid: str):
        p = run_cli(self.binary, self.db, "--json", "records", "get", table, rid, "--conflicts")
        if p.returncode != 0:
            if "not_found" in p.stderr or "unknown_table" in p.stderr:
                return None
            raise AssertionError(f"records get {table} {rid}: exit {p.returncode}: {p.stderr.strip()}")
        return json.loads(p.stdout)

    def tables(self) -> list:
        p = cli_ok(self.binary, self.db, "--json", "tables", "list")
        data = json.loads(p.stdout)
        tables = data["tables"] if isinstance(data, dict) else data
        return [t["name"] for t in tables]

    def copy(self, path: pathlib.Path) -> "Device":
        for suffix in ("", "-wal", "-shm"):
            src = pathlib.Path(str(self.path) + suffix)
            if src.exists():
                shutil.copy(src, str(path) + suffix)
        return Device(self.binary, path, self.token)

    def sync(self, remote: str, *args, json_output=False) -> Run:
        argv = ["sync", "--remote", remote, *SYNC_BOUND_ARGS, *args]
        if json_output:
            argv.append("--json")
        return run_measured(self.binary, self.db, argv, {"OUTPOST_TOKEN": self.token}, WALL_LIMIT_S)

    def check(self) -> list[str]:
        """Problems with the database: `outpost check` (exit 1 or a message
        that is not a clean bill) and SQLite's integrity check."""
        problems = []
        p = run_cli(self.binary, self.db, "check")
        if p.returncode == 2 and "'check' is not an outpost command" in p.stderr:
            CHECK_MISSING.append(self.db)  # an older binary: the integrity check only
        elif p.returncode != 0:
            problems.append(f"`outpost check` exited {p.returncode}: {_cut(p.stderr + p.stdout, 800)}")
        with sqlite3.connect(f"file:{self.path}?mode=ro", uri=True) as c:
            rows = [r[0] for r in c.execute("PRAGMA integrity_check")]
        if rows != ["ok"]:
            problems.append(f"PRAGMA integrity_check: {rows[:10]}")
        return problems


@pytest.fixture(scope="session")
def seeded_device_db(outpost_bin, tmp_path_factory) -> pathlib.Path:
    """A device database with the households table and DEVICE_RECORDS, made
    once and copied for each device."""
    d = tmp_path_factory.mktemp("seed-device")
    dev = Device(outpost_bin, d / "device.db", "")
    dev.cli("tables", "create", TABLE, *COLUMNS)
    for rid, attrs in DEVICE_RECORDS.items():
        dev.cli("records", "put", TABLE, rid, *[f"{k}={v}" for k, v in attrs.items()])
    return dev.path


@pytest.fixture
def make_device(outpost_bin, tmp_path, hub, seeded_device_db):
    count = [0]

    def make() -> Device:
        """A device holding the households table and DEVICE_RECORDS."""
        count[0] += 1
        seed = Device(outpost_bin, seeded_device_db, hub.token)
        return seed.copy(tmp_path / f"device-{count[0]}.db")

    return make


DEVICE_RECORDS = {f"d-{i:03d}": {"head_name": f"device head {i}", "size": str(i), "district": "north"}
                  for i in range(1, 4)}


# ---------------------------------------------------------------------------
# The contract


def sync_hostile(device: Device, hostile: HostileHub, *args, route: str | None = None,
                 json_too: bool = True, wall_limit: float = WALL_LIMIT_S) -> tuple[Run, Run | None]:
    """Runs `outpost sync` against the hostile hub (and, with json_too, a
    second run with --json on a copy of the device made before, side by side),
    and checks the contract of every hostile test:
      - the tampered answer was served (the test reached its step),
      - exit status 1 (not 0, not a signal), no AddressSanitizer report,
      - a line starting with `error:` on stderr; with --json, stdout is a
        JSON object with "error" and "message",
      - the run ended within wall_limit and its max RSS is under MAX_RSS,
      - the device database passes `outpost check` and PRAGMA integrity_check.
    Returns both runs; the caller checks what must not be on the device."""
    twin = device.copy(device.path.with_name(device.path.stem + "-json.db")) if json_too else None
    results: dict[str, Run] = {}

    def go(name, dev, j):
        results[name] = dev.sync(hostile.url, *args, json_output=j)

    threads = [threading.Thread(target=go, args=("text", device, False))]
    if twin:
        threads.append(threading.Thread(target=go, args=("json", twin, True)))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    text, js = results["text"], results.get("json")

    failures = []
    if hostile.errors:
        failures.append(f"the test's hostile hub failed: {hostile.errors}")
    if route is not None and not hostile.was_tampered(route):
        failures.append(f"the sync never reached the tampered step ({route}); requests seen: "
                        f"{hostile.routes_seen()}")
    for run, label in ((text, "sync"), (js, "sync --json")):
        if run is None:
            continue
        if run.killed_by_watchdog:
            failures.append(f"{label} did not end within {wall_limit}s: {run.describe()}")
        elif run.returncode < 0:
            failures.append(f"{label} crashed: {run.describe()}")
        elif run.returncode != 1:
            failures.append(f"{label} should exit 1: {run.describe()}")
        if "AddressSanitizer" in run.stderr or "runtime error:" in run.stderr:
            failures.append(f"{label}: sanitizer report: {run.describe()}")
        if run.seconds > wall_limit and not run.killed_by_watchdog:
            failures.append(f"{label} took {run.seconds:.1f}s, over its bound of {wall_limit}s: "
                            f"{run.describe()}")
        if run.max_rss > MAX_RSS:
            failures.append(f"{label} peaked at {run.max_rss / 2**20:.0f} MiB of memory, over "
                            f"{MAX_RSS >> 20} MiB: {run.describe()}")
    if not text.killed_by_watchdog and text.returncode >= 0:
        if not any(line.startswith("error:") for line in text.stderr.splitlines()):
            failures.append(f"sync printed no line starting with 'error:' on stderr: {text.describe()}")
    if js is not None and not js.killed_by_watchdog and js.returncode >= 0:
        try:
            obj = json.loads(js.stdout)
            if not (isinstance(obj, dict) and isinstance(obj.get("error"), str)
                    and isinstance(obj.get("message"), str)):
                failures.append(f"sync --json printed no {{\"error\", \"message\"}} object: {js.describe()}")
        except ValueError:
            failures.append(f"sync --json did not print one JSON object: {js.describe()}")
    for dev, label in ((device, "device"), (twin, "device of the --json run")):
        if dev is None:
            continue
        problems = dev.check()
        if problems:
            failures.append(f"the {label} database is not consistent: {problems}")
    assert not failures, "\n".join(failures)
    # Shown by pytest -rP: how each run ended.
    print(f"{text.describe()}\n{js.describe() if js else ''}")
    return text, js


def assert_not_stored(device: Device, ids, table: str = TABLE):
    """None of `ids` is on the device (table `table`)."""
    recs = device.records(table)
    there = sorted(set(ids) & set(recs))
    assert not there, f"records from the hostile answer were stored on the device: {there}"


# ---------------------------------------------------------------------------
# Hostile bodies


def deep_json(size: int = 400_000) -> bytes:
    return b"[" * size


@pytest.fixture(scope="session")
def gzip_bomb(tmp_path_factory) -> bytes:
    """gzip of 1 GiB of zeros (about 1 MB), made once."""
    import zlib

    path = tmp_path_factory.mktemp("bombs") / "zeros.gz"
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(16 << 20)
    with open(path, "wb") as f:
        for _ in range(64):
            f.write(comp.compress(zeros))
        f.write(comp.flush())
    return path.read_bytes()


def zstd_tool() -> str | None:
    return shutil.which("zstd")


@pytest.fixture(scope="session")
def zstd_bomb(tmp_path_factory) -> bytes:
    """zstd of 1 GiB of zeros (window within 8 MiB), made once with the zstd CLI."""
    tool = zstd_tool()
    if tool is None:
        pytest.skip("no zstd CLI (and Python's stdlib has no zstd): zstd bombs not tested")
    path = tmp_path_factory.mktemp("bombs") / "zeros.zst"
    with open(path, "wb") as f:
        p = subprocess.Popen([tool, "-q", "-3", "-c", "--long=23", "--stream-size=1073741824"],
                             stdin=subprocess.PIPE, stdout=f)
        zeros = bytes(16 << 20)
        for _ in range(64):
            p.stdin.write(zeros)
        p.stdin.close()
        assert p.wait(60) == 0
    return path.read_bytes()


def assert_genuine(device: Device, hub: Hub, own: dict | None = None, table: str = TABLE):
    """Every record on the device is one of its own (`own`, unchanged) or the
    real hub's, at a revision the real hub holds with the same body: nothing
    the hostile hub made up or altered was stored."""
    bad = []
    for rid, rec in device.records(table).items():
        mine = (own or {}).get(rid)
        if mine is not None:
            got = {k: next(iter(v.values())) for k, v in rec["attributes"].items()}
            if got != mine:
                bad.append(f"{rid}: the device's own record changed to {got}")
            continue
        status, _, data = hub.request(
            "GET", f"/v1/tables/{urllib.parse.quote(table, safe='')}/records/"
                   f"{urllib.parse.quote(rid, safe='')}?rev={urllib.parse.quote(rec['revision'])}")
        if status != 200:
            bad.append(f"{rid} {rec['revision']}: the real hub does not hold it (HTTP {status})")
            continue
        real = json.loads(data)
        if real.get("attributes") != rec.get("attributes"):
            bad.append(f"{rid} {rec['revision']}: stored as {rec.get('attributes')}, "
                       f"the real hub has {real.get('attributes')}")
    assert not bad, "the device holds records the real hub never had: " + "; ".join(bad)
