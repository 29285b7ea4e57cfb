"""Fixtures of the console's browser tests: a real `outpost serve` hub on a
fresh SQLite file, its HTTP API (urllib), devices synced with the real CLI,
and a headless chromium (cdp.py).

Environment:
  OUTPOST_BIN       the outpost binary (default build/outpost of the repo)
  OUTPOST_UI_DIR    if set, `serve --ui-dir DIR`: the console's files from disk
                    (development) instead of the ones compiled in
  OUTPOST_UI_SHOTS  where screenshots go (default build/ui-shots of the repo)
  OUTPOST_CHROMIUM  the browser (default /usr/bin/chromium)
"""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

import pytest

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "test" / "pysupport"))

from cdp import Browser, CdpError, Chromium  # noqa: E402
from outpost_serve import ServeProcess  # noqa: E402


def _interrupt_on_sigterm(signum, frame):
    # SIGTERM (scripts/test-ui.sh stopped, its timeout) as Ctrl-C: pytest then
    # runs the fixtures' finalizers, which stop the hubs and the browsers.
    raise KeyboardInterrupt(f"signal {signum}")


signal.signal(signal.SIGTERM, _interrupt_on_sigterm)


@pytest.fixture(scope="session")
def outpost_bin() -> str:
    path = os.environ.get("OUTPOST_BIN") or str(REPO / "build" / "outpost")
    if not os.access(path, os.X_OK):
        pytest.fail(f"no outpost binary at {path} (set OUTPOST_BIN, or run make build)")
    return str(pathlib.Path(path).resolve())


@pytest.fixture(scope="session")
def shots_dir() -> pathlib.Path:
    d = pathlib.Path(os.environ.get("OUTPOST_UI_SHOTS") or REPO / "build" / "ui-shots")
    d.mkdir(parents=True, exist_ok=True)
    return d


class ApiError(AssertionError):
    def __init__(self, status, body, what):
        self.status, self.body = status, body
        super().__init__(f"{what}: HTTP {status}: {body}")


class Api:
    """The hub's JSON API through urllib, with one bearer token."""

    def __init__(self, base: str, token: str | None):
        self.base = base.rstrip("/")
        self.token = token

    def with_token(self, token):
        return Api(self.base, token)

    def raw(self, method: str, path: str, body=None, params=None, headers=None):
        """(status, headers, bytes) of one request; never raises on HTTP errors."""
        url = self.base + path
        if params:
            url += "?" + urllib.parse.urlencode(params)
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def call(self, method: str, path: str, body=None, params=None, expect=(200, 201)):
        status, _, data = self.raw(method, path, body, params)
        try:
            parsed = json.loads(data) if data else None
        except ValueError:
            parsed = data.decode("utf-8", "replace")
        if expect is not None and status not in (expect if isinstance(expect, tuple) else (expect,)):
            raise ApiError(status, parsed, f"{method} {path} {params or ''}")
        return parsed

    def get(self, path, **params):
        return self.call("GET", path, params=params or None)

    def put(self, path, body, **params):
        return self.call("PUT", path, body, params=params or None)

    def post(self, path, body, **params):
        return self.call("POST", path, body, params=params or None)

    # helpers
    def create_table(self, name: str, columns):
        cols = [{"name": c[0], "type": c[1], "required": bool(c[2]) if len(c) > 2 else False}
                for c in columns]
        return self.put(f"/v1/tables/{q(name)}", {"columns": cols})

    def put_record(self, table: str, rid: str, attrs: dict, revision: str | None = None):
        body = {"attributes": typed(attrs)}
        if revision:
            body["revision"] = revision
        return self.put(f"/v1/tables/{q(table)}/records/{q(rid)}", body)

    def record(self, table: str, rid: str, **params):
        return self.get(f"/v1/tables/{q(table)}/records/{q(rid)}", **params)

    def create_token(self, name: str, **fields):
        return self.post("/v1/tokens", {"name": name, **fields})


def q(part: str) -> str:
    """Percent-encodes one path segment (ids may hold '/', spaces, ...)."""
    return urllib.parse.quote(part, safe="")


def typed(attrs: dict) -> dict:
    """{"size": 3, "name": "x"} -> the API's typed values."""
    out = {}
    for k, v in attrs.items():
        if v is None:
            out[k] = {"null": "true"}
        elif isinstance(v, bool):
            out[k] = {"bool": "true" if v else "false"}
        elif isinstance(v, int):
            out[k] = {"int": str(v)}
        elif isinstance(v, float):
            out[k] = {"float": repr(v)}
        elif isinstance(v, dict):
            out[k] = v
        else:
            out[k] = {"string": str(v)}
    return out


def plain(attrs: dict) -> dict:
    """The API's typed values -> their text ({"size": "3"})."""
    return {k: next(iter(v.values())) for k, v in (attrs or {}).items()}


class Hub(ServeProcess):
    """A running `outpost serve` on 127.0.0.1:0 over its own SQLite file."""

    def __init__(self, binary: str, directory: pathlib.Path, extra_args=(), no_auth: bool = False):
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        args = list(extra_args)
        if no_auth:
            args.append("--no-auth")
        ui_dir = os.environ.get("OUTPOST_UI_DIR")
        if ui_dir:
            args += ["--ui-dir", str(pathlib.Path(ui_dir).resolve())]
        super().__init__(binary, f"sqlite:{directory / 'hub.db'}", directory / "serve.log", args)
        if self.token is None and not no_auth:
            self.stop()
            raise AssertionError(f"outpost serve printed no 'admin token: ...': {self.printed()!r}")
        self.api = Api(self.url, self.token)

    def ui(self, route: str = "") -> str:
        return f"{self.url}/ui/{route}"


class Device:
    """A device's SQLite database, synced with the hub by the real CLI."""

    def __init__(self, binary: str, path: pathlib.Path, hub: Hub, token: str):
        self.binary, self.path, self.hub, self.token = binary, path, hub, token
        self.db = f"sqlite:{path}"

    def run(self, *args, check=True, timeout=60) -> subprocess.CompletedProcess:
        cmd = [self.binary, "--db", self.db, *args]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                           env={**os.environ, "OUTPOST_TOKEN": self.token})
        if check and p.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} exited {p.returncode}: {p.stderr.strip()} "
                                 f"{p.stdout.strip()}")
        return p

    def json(self, *args, **kw):
        return json.loads(self.run(*args, "--json", **kw).stdout)

    def sync(self):
        return self.run("sync", "--remote", self.hub.url)

    def put(self, table: str, rid: str, **values):
        args = [f"{k}={v}" for k, v in values.items()]
        return self.json("records", "put", table, rid, *args, "--merge")

    def get(self, table: str, rid: str, conflicts=True):
        return self.json("records", "get", table, rid, *(["--conflicts"] if conflicts else []))

    def conflicts(self):
        return self.json("records", "conflicts")["conflicts"]


@pytest.fixture
def hub(outpost_bin, tmp_path):
    h = Hub(outpost_bin, tmp_path / "hub")
    yield h
    h.stop()


@pytest.fixture
def make_device(outpost_bin, tmp_path):
    counter = [0]

    def make(hub: Hub, token: str, name: str | None = None) -> Device:
        counter[0] += 1
        return Device(outpost_bin, tmp_path / f"{name or 'device'}-{counter[0]}.db", hub, token)

    return make


@pytest.fixture(scope="session")
def chromium():
    """One chromium for the session; each test gets a page in a browser
    context of its own (fresh storage), see `browser`."""
    c = Chromium(width=1280, height=900)
    yield c
    c.close()


@pytest.fixture
def browser(chromium):
    b = Browser(width=1280, height=900, chromium=chromium)
    yield b
    b.close()


class Console:
    """The console page in a browser, per the contract (/tmp/console-contract.md):
    readiness through document.body.dataset.ready / .page."""

    def __init__(self, browser: Browser, hub: Hub):
        self.b = browser
        self.hub = hub

    def open(self, route: str = ""):
        self.b.navigate(self.hub.ui() + (f"#/{route}" if route else ""))

    def wait_page(self, page: str, timeout: float = 15.0):
        """Waits until `page` has rendered its data (ready = 1); an error
        banner instead fails with the API's message."""
        js = (f"(() => {{ const d = document.body && document.body.dataset; if (!d) return false;"
              f" if (d.page !== {json.dumps(page)} || d.ready !== '1') return false;"
              f" if (!d.error) return 'ready';"
              f" return 'error:' + d.error + ': ' +"
              f" ((document.querySelector('.error-banner') || {{}}).textContent || ''); }})()")
        got = self.b.wait_for(js, timeout, f"page {page} to be ready (body data-page={page} data-ready=1)")
        if got != "ready":
            raise CdpError(f"page {page} showed an error instead of its data: {got}; state {self.b.state()}")

    def wait_error(self, timeout: float = 15.0) -> str:
        return self.b.wait_for("document.body.dataset.ready === '1' && document.body.dataset.error || ''", timeout,
                               "the page to show an API error (body data-error)")

    def go(self, route: str, page: str | None = None):
        """Follows a hash route (no reload) and waits for its page."""
        target = f"#/{route}"
        # Mark the page not ready before the hash changes (the app sets
        # ready = 0 itself on hashchange, but that event is asynchronous: a
        # wait started at once could see the previous page's ready = 1).
        same = self.b.evaluate(f"location.hash === {json.dumps(target)}")
        if same:
            raise CdpError(f"already at {target}: following it again would not render anything")
        self.b.evaluate(f"document.body.dataset.ready = '0'; location.hash = {json.dumps(target)}; 1")
        if page:
            self.wait_page(page)

    def sign_in(self, token: str, expect_page: str = "overview"):
        if self.b.evaluate("location.hash") == "#/signin":
            self.b.navigate("about:blank")  # a fresh sign-in page, not the one showing
        self.open("signin")
        # The sign-in page may show an error (a refused token) and still be ready.
        self.b.wait_for("document.body.dataset.page === 'signin' && document.body.dataset.ready === '1' &&"
                        " !!document.querySelector('#signin-token')", 15, "the sign-in page")
        self.b.type("#signin-token", token)
        self.b.click("#signin-submit")
        self.wait_page(expect_page)
        stored = self.b.evaluate("sessionStorage.getItem('outpost.token')")
        assert stored == token, f"sessionStorage outpost.token is {stored!r} after sign-in"
        assert token not in self.b.evaluate("location.href"), "the token went into the URL"

    def text(self, selector: str) -> str | None:
        return self.b.evaluate(f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
                               f" return e ? e.textContent.trim() : null; }})()")

    def count(self, selector: str) -> int:
        return self.b.evaluate(f"document.querySelectorAll({json.dumps(selector)}).length")

    def exists(self, selector: str) -> bool:
        return self.count(selector) > 0

    def html(self) -> str:
        return self.b.evaluate("document.documentElement.outerHTML")


@pytest.fixture
def console(browser, hub):
    return Console(browser, hub)


def sel_attr(name: str, value: str) -> str:
    """A CSS attribute selector with the value quoted safely (CSS.escape-like)."""
    return f"[{name}={json.dumps(value, ensure_ascii=False)}]"
