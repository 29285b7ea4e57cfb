"""A hostile device against a real `outpost serve` hub, over raw sockets and
http.client: what test/server/{hostile,compression,server}_test.cpp and
bad_input_cases.cpp do not already cover.

Already covered there (not repeated): deep JSON (20 000 `[`) in PUT
record, bulk_docs and PUT /v1/local (and revs_diff at depth 8, in process);
the body limit (413) by Content-Length, chunked and sent at once; the
header limit; malformed HTTP; slowloris on the request header (plain and
TLS, `--read-timeout-ms`); 1024 connections mid-body and unauthenticated
bodies (server RSS); connection floods; Transfer-Encoding smuggling; an
8x-the-limit zstd/gzip whitespace bomb in PUT record; corrupt and unknown
codings.

Added here, each asserting the answer (DESIGN.md section 8,
docs/http-api.md), that the hub serves another client right after (GET
/v1/health), and that its data is unchanged:
  - deep JSON (unclosed, closed, and in objects) in every POST and PUT
    route, bulk_get, revs_diff, tables, records, resolve, tokens included;
  - a body that stops halfway and closes, for the write routes;
  - a body held open halfway, and one trickled a byte a second after a
    whole header: dropped one read timeout after connecting, unanswered,
    while others are served;
  - 1 GiB gzip and zstd request bombs in every POST/PUT route (413, the
    connection stays usable), and sixteen at once (server memory bounded).
"""

from __future__ import annotations

import http.client
import json
import pathlib
import socket
import threading
import time

import pytest

from conftest import TABLE, Hub

READ_TIMEOUT_MS = 1500
HUB_RSS_LIMIT = 512 << 20


@pytest.fixture(scope="module")
def served(outpost_bin, seeded_hub_db, tmp_path_factory):
    """One hub for the module (every case leaves its data unchanged, which
    each test checks), with a short whole-request read timeout, a token to
    re-scope and a record with a conflict to resolve."""
    import shutil

    d = tmp_path_factory.mktemp("served")
    shutil.copy(seeded_hub_db, d / "hub.db")
    hub = Hub(outpost_bin, d, ["--read-timeout-ms", str(READ_TIMEOUT_MS)])
    try:
        st, _, data = hub.request("POST", "/v1/tokens", json.dumps(
            {"name": "worker", "read": [TABLE], "write": [TABLE]}))
        assert st == 201, data
        yield hub
    finally:
        hub.stop()


def state(hub: Hub) -> dict:
    """What a hostile request must not change: the feed position, tables,
    records, tokens, the local documents the tests aim at."""
    out = {}
    for path in ("/v1", "/v1/tables", f"/v1/tables/{TABLE}/records?limit=1000", "/v1/tokens",
                 "/v1/local/hx", "/v1/tables/evil"):
        st, _, data = hub.request("GET", path)
        body = json.loads(data) if data else None
        if path == "/v1":
            body = body.get("update_seq")
        out[path] = (st, body)
    return out


def hub_memory(hub: Hub, field: str = "VmHWM") -> int:
    for line in pathlib.Path(f"/proc/{hub.proc.pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} in /proc/{hub.proc.pid}/status")


def assert_serving(hub: Hub, before: dict):
    t = time.monotonic()
    st = hub.health()
    took = time.monotonic() - t
    assert st == 200, f"the hub does not answer GET /v1/health right after: {st}; log {hub.log()!r}"
    assert took < 2, f"GET /v1/health took {took:.1f}s right after"
    assert hub.alive(), f"the hub exited: {hub.log()!r}"
    after = state(hub)
    assert after == before, f"the hub's data changed:\nbefore {before}\nafter  {after}"


def raw_exchange(hub: Hub, head: str, body: bytes = b"", read_for: float = 10.0) -> bytes:
    """Sends head + body on a fresh connection, then reads until the server
    closes or read_for seconds pass; the bytes received."""
    s = socket.create_connection((hub.host, hub.port), timeout=read_for)
    try:
        s.sendall(head.encode() + body)
        return _read_all(s, read_for)
    finally:
        s.close()


def _read_all(s: socket.socket, read_for: float) -> bytes:
    got = b""
    end = time.monotonic() + read_for
    while time.monotonic() < end:
        s.settimeout(max(0.05, end - time.monotonic()))
        try:
            piece = s.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            break
        if not piece:
            break
        got += piece
        if _complete(got):
            break
    return got


def _complete(data: bytes) -> bool:
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            return len(body) >= int(v)
    return False


def parse_response(data: bytes):
    """(status, error code or None) of a raw HTTP answer."""
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    try:
        code = json.loads(body).get("error")
    except ValueError:
        code = None
    return status, code


def request_head(hub: Hub, method: str, path: str, length: int, extra: dict | None = None) -> str:
    h = {"Host": "127.0.0.1", "Authorization": f"Bearer {hub.token}",
         "Content-Type": "application/json", "Content-Length": str(length), **(extra or {})}
    return f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h.items()) + "\r\n"


# Every route that takes a body, with a valid body that would change the hub.
WRITE_ROUTES = {
    "put_table": ("PUT", f"/v1/tables/{TABLE}",
                  {"columns": [{"name": "evil_col", "type": "string"}]}),
    "create_table": ("PUT", "/v1/tables/evil", {"columns": [{"name": "a", "type": "string"}]}),
    "post_record": ("POST", f"/v1/tables/{TABLE}/records",
                    {"attributes": {"head_name": {"string": "evil"}}}),
    "put_record": ("PUT", f"/v1/tables/{TABLE}/records/evil-1",
                   {"attributes": {"head_name": {"string": "evil"}}}),
    "resolve": ("POST", f"/v1/tables/{TABLE}/records/h-001/resolve",
                {"revision": "1-" + "0" * 32, "attributes": {"head_name": {"string": "evil"}}}),
    "revs_diff": ("POST", "/v1/revs_diff", {TABLE: {"h-001": ["1-" + "0" * 32]}}),
    "bulk_get": ("POST", "/v1/bulk_get",
                 {"docs": [{"table": TABLE, "id": "h-001", "rev": "1-" + "0" * 32, "known": []}]}),
    "bulk_docs": ("POST", "/v1/bulk_docs",
                  {"new_edits": True, "docs": [{"table": TABLE, "id": "evil-2",
                                                "attributes": {"head_name": {"string": "evil"}}}]}),
    "put_local": ("PUT", "/v1/local/hx", {"last_seq": "1"}),
    "post_token": ("POST", "/v1/tokens", {"name": "evil", "admin": True}),
    "put_token": ("PUT", "/v1/tokens/worker", {"scope": f"{TABLE}: *", "grace_seconds": 0}),
}

DEEP_SHAPES = {
    "unclosed": b"[" * 400_000,
    "closed": b"[" * 100_000 + b"]" * 100_000,
    "objects": b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
}


def _deep_in_envelope(route: str) -> bytes:
    """The route's valid body with its first member's value replaced by one
    nested 100 000 deep: {"columns": [[[...]]], "pad": 1}."""
    _, _, body = WRITE_ROUTES[route]
    first = next(iter(body))
    return b"{" + json.dumps(first).encode() + b":" + DEEP_SHAPES["closed"] + b',"pad":1}'


@pytest.mark.parametrize("shape", [*DEEP_SHAPES, "in_envelope"])
@pytest.mark.parametrize("route", list(WRITE_ROUTES))
def test_deep_json_in_every_write_route(served, route, shape):
    before = state(served)
    method, path, _ = WRITE_ROUTES[route]
    body = _deep_in_envelope(route) if shape == "in_envelope" else DEEP_SHAPES[shape]
    answer = raw_exchange(served, request_head(served, method, path, len(body)), body)
    assert answer, f"{method} {path} with deep JSON: no answer (connection closed); log {served.log()!r}"
    status, code = parse_response(answer)
    assert (status, code) == (400, "invalid_json"), (
        f"{method} {path} with deep JSON ({shape}): HTTP {status} {code}: {answer[:300]!r}")
    assert_serving(served, before)


@pytest.mark.parametrize("route", ["bulk_docs", "put_record", "post_record", "put_local",
                                   "create_table", "post_token"])
def test_body_stops_halfway_and_closes(served, route):
    before = state(served)
    method, path, body = WRITE_ROUTES[route]
    data = json.dumps(body).encode()
    s = socket.create_connection((served.host, served.port), timeout=5)
    try:
        s.sendall(request_head(served, method, path, len(data)).encode() + data[:len(data) // 2])
        s.shutdown(socket.SHUT_WR)
        answer = _read_all(s, 5)
    finally:
        s.close()
    if answer:  # an answer is allowed, but not a success
        status, _ = parse_response(answer)
        assert status >= 400, f"a body cut halfway was answered {answer[:300]!r}"
    assert_serving(served, before)


def _slow_body(served, route: str, trickle: bool):
    """Sends a whole header and half the body at once (trickle=False) or the
    body a byte a second (trickle=True); (seconds until the server closed,
    bytes it answered, health answers taken meanwhile)."""
    method, path, body = WRITE_ROUTES[route]
    data = json.dumps(body).encode()
    s = socket.create_connection((served.host, served.port), timeout=10)
    start = time.monotonic()
    answered = b""
    health_times = []
    closed_at = None
    try:
        s.sendall(request_head(served, method, path, len(data)).encode())
        if not trickle:
            s.sendall(data[:len(data) // 2])
        i = 0
        while time.monotonic() - start < 10:
            if trickle and i < len(data):
                try:
                    s.sendall(data[i:i + 1])
                except (BrokenPipeError, ConnectionResetError):
                    closed_at = time.monotonic() - start
                    break
                i += 1
            t = time.monotonic()
            health_times.append((served.health(), time.monotonic() - t))
            s.settimeout(1.0)
            try:
                piece = s.recv(65536)
            except socket.timeout:
                continue
            except ConnectionResetError:
                piece = b""
            if not piece:
                closed_at = time.monotonic() - start
                break
            answered += piece
    finally:
        s.close()
    return closed_at, answered, health_times


@pytest.mark.parametrize("trickle", [False, True], ids=["held_halfway", "one_byte_a_second"])
@pytest.mark.parametrize("route", ["bulk_docs", "put_record"])
def test_slow_body_is_dropped_at_the_read_timeout(served, route, trickle):
    before = state(served)
    closed_at, answered, health = _slow_body(served, route, trickle)
    limit = READ_TIMEOUT_MS / 1000
    assert closed_at is not None, f"the hub kept a slow body's connection open over 10 s ({route})"
    assert limit - 0.3 <= closed_at <= limit + 2.5, (
        f"the hub closed the slow connection after {closed_at:.1f}s; its read timeout is {limit}s")
    assert not answered or parse_response(answered)[0] >= 400, (
        f"a slow body was answered as a success: {answered[:300]!r}")
    assert health and all(st == 200 and took < 1 for st, took in health), (
        f"other clients were not served promptly meanwhile: {health}")
    assert_serving(served, before)


BOMB_ROUTES = ["bulk_docs", "revs_diff", "bulk_get", "put_local", "put_record", "put_table",
               "post_token"]


def _bomb_once(served, route: str, bomb: bytes, coding: str):
    """The bomb on a keep-alive connection, then GET /v1/health on the same
    connection: (status, error code, health status or the failure)."""
    method, path, _ = WRITE_ROUTES[route]
    conn = http.client.HTTPConnection(served.host, served.port, timeout=30)
    try:
        conn.request(method, path, body=bomb, headers={
            "Authorization": f"Bearer {served.token}", "Content-Type": "application/json",
            "Content-Encoding": coding})
        r = conn.getresponse()
        data = r.read()
        try:
            code = json.loads(data).get("error")
        except ValueError:
            code = None
        sock = conn.sock
        try:
            conn.request("GET", "/v1/health")
            h = conn.getresponse()
            h.read()
            again = h.status if conn.sock is sock or sock is None else "a new connection"
        except (http.client.HTTPException, OSError) as e:
            again = f"the connection was closed: {e!r}"
        return r.status, code, again
    finally:
        conn.close()


@pytest.mark.parametrize("route", BOMB_ROUTES)
@pytest.mark.parametrize("coding", ["gzip", "zstd"])
def test_request_bomb(served, route, coding, request):
    bomb = request.getfixturevalue("gzip_bomb" if coding == "gzip" else "zstd_bomb")
    before = state(served)
    status, code, again = _bomb_once(served, route, bomb, coding)
    assert (status, code) == (413, "too_large"), f"a {coding} bomb in {route}: HTTP {status} {code}"
    assert again == 200, f"after the 413 the connection should stay usable: {again}"
    assert hub_memory(served) < HUB_RSS_LIMIT, (
        f"the hub peaked at {hub_memory(served) / 2**20:.0f} MiB")
    assert_serving(served, before)


def test_sixteen_request_bombs_at_once(served, gzip_bomb):
    before = state(served)
    results = []
    lock = threading.Lock()

    def one(i):
        try:
            r = _bomb_once(served, BOMB_ROUTES[i % len(BOMB_ROUTES)], gzip_bomb, "gzip")
        except Exception as e:  # noqa: BLE001 - reported below
            r = repr(e)
        with lock:
            results.append(r)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    bad = [r for r in results
           if not (isinstance(r, tuple) and (r[0], r[1]) in ((413, "too_large"), (503, "unavailable")))]
    assert len(results) == 16 and not bad, f"answers to 16 bombs at once: {results}"
    peak = hub_memory(served)
    assert peak < HUB_RSS_LIMIT, f"the hub peaked at {peak / 2**20:.0f} MiB under 16 bombs at once"
    assert_serving(served, before)
