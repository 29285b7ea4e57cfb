"""A small Chrome DevTools Protocol driver for the console's browser tests.

Launches Debian's headless chromium on a throwaway profile, connects to its
page target and offers what the tests need: navigate, evaluate, wait_for,
click, type, screenshots, the viewport, and the record of what went wrong on
the page (console messages, uncaught exceptions, CSP violations, dialogs,
network responses).

The WebSocket client is the `websocket` module of Debian's python3-websocket
package (websocket-client): a small pure-Python client packaged by Debian,
so the tests pull nothing from npm or pip. Everything else is the standard
library. The protocol is driven synchronously from the test's thread: a
command is sent and messages are read until its answer comes; the events read
meanwhile are recorded (and dispatched to handlers) as they pass.
"""

from __future__ import annotations

import atexit
import base64
import json
import os
import pathlib
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request

import websocket  # Debian: python3-websocket (see the module docstring)

CHROMIUM = os.environ.get("OUTPOST_CHROMIUM", "/usr/bin/chromium")

# Injected into every document before its own scripts run (so it survives
# reloads): traps alert/confirm/prompt, reports CSP violations, and marks that
# the trap is in place. Reports go through the binding __outpostReport, which
# arrives as Runtime.bindingCalled even if the page is navigated away at once.
TRAP_JS = r"""
(() => {
  const report = (kind, detail) => {
    try { window.__outpostReport(JSON.stringify({kind, detail: String(detail)})); } catch (e) {}
  };
  window.__outpostDialogs = [];
  window.__outpostConfirmAnswer = true;
  const trap = (name, answer) => function (message) {
    window.__outpostDialogs.push([name, String(message)]);
    report(name, message);
    return typeof answer === 'function' ? answer() : answer;
  };
  window.alert = trap('alert', undefined);
  window.prompt = trap('prompt', null);
  window.confirm = trap('confirm', () => window.__outpostConfirmAnswer);
  document.addEventListener('securitypolicyviolation', (e) => {
    report('csp', e.violatedDirective + ' blocked ' + (e.blockedURI || '(inline)') +
           ' at ' + (e.sourceFile || '') + ':' + (e.lineNumber || 0) +
           ' sample ' + (e.sample || ''));
  }, true);
  window.__outpostTrap = 1;
})();
"""


def _new_group_dying_with_parent():
    """In the child before exec: a new session (process group), and SIGKILL
    when the test process dies (PR_SET_PDEATHSIG survives the exec of the
    /usr/bin/chromium wrapper, which execs the browser in turn)."""
    os.setsid()
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))
    except Exception:
        pass


_open_browsers: set = set()


@atexit.register
def _close_all():
    for b in list(_open_browsers):
        b.close()


class CdpError(AssertionError):
    """A protocol error, a timeout or an exception in the page."""


class Chromium:
    """One headless chromium process on a throwaway profile. Pages are made
    by Browser, each in a browser context of its own (its own cookies and
    storage, like a fresh incognito window), so tests share the process and
    not their state."""

    def __init__(self, width: int = 1280, height: int = 900, timeout: float = 30.0):
        self.timeout = timeout
        self.width, self.height = width, height
        self.profile = tempfile.mkdtemp(prefix="outpost-ui-chromium.")
        self.proc = None
        self.ws = None
        self._next_id = 0
        _open_browsers.add(self)
        try:
            self._launch()
        except BaseException:
            self.close()
            raise

    def _launch(self):
        if not os.access(CHROMIUM, os.X_OK):
            raise CdpError(f"no chromium at {CHROMIUM} (run: make deps; it installs Debian's chromium)")
        args = [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu",
                "--remote-debugging-port=0", "--remote-allow-origins=*",
                f"--user-data-dir={self.profile}", f"--window-size={self.width},{self.height}",
                "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                "--disable-background-networking", "--disable-sync", "--disable-translate",
                "--disable-component-update", "--disable-default-apps", "--mute-audio",
                "--hide-scrollbars", "--force-color-profile=srgb", "--lang=en-US",
                # A container's /dev/shm may be a few MiB: use /tmp instead.
                "--disable-dev-shm-usage",
                "about:blank"]
        self._stderr = open(os.path.join(self.profile, "chromium.stderr"), "w")
        # Its own process group, so that close() ends chromium and all its
        # helper processes (and only those) with one killpg; and SIGKILL if
        # this process dies without closing it (its helpers then exit too).
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self._stderr,
                                     stderr=self._stderr, preexec_fn=_new_group_dying_with_parent)
        port_file = pathlib.Path(self.profile, "DevToolsActivePort")
        deadline = time.monotonic() + self.timeout
        port = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise CdpError(f"chromium exited with status {self.proc.returncode} before "
                               f"opening its DevTools port: {self.stderr_tail()}")
            try:
                text = port_file.read_text().split("\n")
                if text and text[0].strip().isdigit():
                    port = int(text[0])
                    break
            except OSError:
                pass
            time.sleep(0.05)
        if port is None:
            raise CdpError(f"chromium wrote no {port_file} within {self.timeout}s: {self.stderr_tail()}")
        self.port = port
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/version", timeout=10) as r:
            url = json.load(r)["webSocketDebuggerUrl"]
        self.ws = websocket.create_connection(url, timeout=self.timeout, suppress_origin=True)

    def page_targets(self) -> list[dict]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/list", timeout=10) as r:
            return [t for t in json.load(r) if t.get("type") == "page"]

    def send(self, method: str, **params) -> dict:
        """A command to the browser target (events there are not used)."""
        self._next_id += 1
        msg_id = self._next_id
        self.ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            self.ws.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                msg = json.loads(self.ws.recv())
            except websocket.WebSocketTimeoutException:
                break
            if msg.get("id") == msg_id:
                if "error" in msg:
                    raise CdpError(f"{method} failed: {msg['error']}")
                return msg.get("result", {})
        raise CdpError(f"no answer to {method} within {self.timeout}s")

    def stderr_tail(self) -> str:
        try:
            return pathlib.Path(self.profile, "chromium.stderr").read_text()[-2000:]
        except OSError:
            return ""

    def close(self):
        """Ends chromium (its whole process group) and removes the profile."""
        _open_browsers.discard(self)
        if self.ws is not None:
            try:
                self.ws.close()
            except Exception:
                pass
            self.ws = None
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
            if self.proc.poll() is None:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(5)
        # Helpers of the group may outlive the main process for a moment.
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if getattr(self, "_stderr", None):
            self._stderr.close()
        shutil.rmtree(self.profile, ignore_errors=True)


class Browser:
    """One page, driven over the DevTools protocol, in a browser context of
    its own: of `chromium` when given, else of a chromium of its own that
    close() ends."""

    def __init__(self, width: int = 1280, height: int = 900, timeout: float = 30.0,
                 trap: bool = True, chromium: Chromium | None = None):
        self.timeout = timeout
        self.width, self.height = width, height
        self.ws = None
        self._next_id = 0
        self.events: list[dict] = []          # every event, in order
        self.console: list[dict] = []         # Runtime.consoleAPICalled params
        self.exceptions: list[dict] = []      # Runtime.exceptionThrown exceptionDetails
        self.log_entries: list[dict] = []     # Log.entryAdded entry
        self.reports: list[dict] = []         # from TRAP_JS: {kind, detail}
        self.dialogs: list[dict] = []         # Page.javascriptDialogOpening params
        self.responses: dict[str, dict] = {}  # requestId -> Network.Response (+ "finished")
        self.requests: list[dict] = []        # Network.requestWillBeSent: {url, method, at}
        self._handlers: dict[str, list] = {}
        self._own = chromium is None
        self.chromium = chromium
        self.context_id = self.target_id = None
        _open_browsers.add(self)
        try:
            if self.chromium is None:
                self.chromium = Chromium(width, height, timeout)
            self.context_id = self.chromium.send("Target.createBrowserContext",
                                                 disposeOnDetach=True)["browserContextId"]
            self.target_id = self.chromium.send("Target.createTarget", url="about:blank",
                                                browserContextId=self.context_id,
                                                width=width, height=height)["targetId"]
            self.ws = websocket.create_connection(
                f"ws://127.0.0.1:{self.chromium.port}/devtools/page/{self.target_id}",
                timeout=self.timeout, suppress_origin=True)
            self._setup(trap)
        except BaseException:
            self.close()
            raise

    def _stderr_tail(self) -> str:
        return self.chromium.stderr_tail() if self.chromium else ""

    def _setup(self, trap: bool):
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable")
        self.send("Page.setLifecycleEventsEnabled", enabled=True)
        self.send("Runtime.addBinding", name="__outpostReport")
        if trap:
            self.send("Page.addScriptToEvaluateOnNewDocument", source=TRAP_JS)
        self.set_viewport(self.width, self.height)

    def close(self):
        """Closes the page and its browser context (and chromium, when it is
        this page's own)."""
        _open_browsers.discard(self)
        if self.ws is not None:
            try:
                self.ws.close()
            except Exception:
                pass
            self.ws = None
        if self.chromium is not None and not self._own and self.chromium.ws is not None:
            try:
                if self.target_id:
                    self.chromium.send("Target.closeTarget", targetId=self.target_id)
                if self.context_id:
                    self.chromium.send("Target.disposeBrowserContext", browserContextId=self.context_id)
            except (CdpError, OSError, websocket.WebSocketException):
                pass
        if self._own and self.chromium is not None:
            self.chromium.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # --- the protocol ------------------------------------------------------
    def on(self, method: str, handler):
        self._handlers.setdefault(method, []).append(handler)

    def _event(self, msg: dict):
        method, params = msg["method"], msg.get("params", {})
        self.events.append(msg)
        if method == "Runtime.consoleAPICalled":
            self.console.append(params)
        elif method == "Runtime.exceptionThrown":
            self.exceptions.append(params.get("exceptionDetails", {}))
        elif method == "Log.entryAdded":
            self.log_entries.append(params.get("entry", {}))
        elif method == "Runtime.bindingCalled" and params.get("name") == "__outpostReport":
            try:
                self.reports.append(json.loads(params.get("payload", "{}")))
            except ValueError:
                self.reports.append({"kind": "bad-report", "detail": params.get("payload")})
        elif method == "Page.javascriptDialogOpening":
            # A real dialog opened (the trap was bypassed): record and dismiss it.
            self.dialogs.append(params)
            self._send_nowait("Page.handleJavaScriptDialog", accept=False)
        elif method == "Network.requestWillBeSent":
            req = params.get("request", {})
            self.requests.append({"url": req.get("url", ""), "method": req.get("method"),
                                  "at": time.monotonic(), "headers": req.get("headers", {})})
        elif method == "Network.responseReceived":
            resp = dict(params.get("response", {}))
            resp["type"] = params.get("type")
            self.responses[params["requestId"]] = resp
        elif method == "Network.loadingFinished":
            if params.get("requestId") in self.responses:
                self.responses[params["requestId"]]["finished"] = True
        for handler in self._handlers.get(method, []):
            handler(params)

    def _send_nowait(self, method: str, **params) -> int:
        self._next_id += 1
        self.ws.send(json.dumps({"id": self._next_id, "method": method, "params": params}))
        return self._next_id

    def send(self, method: str, timeout: float | None = None, **params) -> dict:
        """Sends one command and returns its result, recording the events
        that arrive meanwhile."""
        if self.ws is None:
            raise CdpError("the browser is closed")
        msg_id = self._send_nowait(method, **params)
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise CdpError(f"no answer to {method} within {timeout or self.timeout}s")
            self.ws.settimeout(left)
            try:
                raw = self.ws.recv()
            except websocket.WebSocketTimeoutException:
                raise CdpError(f"no answer to {method} within {timeout or self.timeout}s") from None
            except (websocket.WebSocketConnectionClosedException, ConnectionError) as e:
                raise CdpError(f"the DevTools connection closed during {method} ({e}); "
                               f"chromium: {self._stderr_tail()}") from None
            msg = json.loads(raw)
            if "method" in msg:
                self._event(msg)
            elif msg.get("id") == msg_id:
                if "error" in msg:
                    raise CdpError(f"{method} failed: {msg['error']}")
                return msg.get("result", {})

    def pump(self, seconds: float = 0.0):
        """Reads (and records) events for up to `seconds`."""
        self.send("Runtime.evaluate", expression="0")
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.ws.settimeout(max(0.01, end - time.monotonic()))
            try:
                msg = json.loads(self.ws.recv())
            except websocket.WebSocketTimeoutException:
                break
            if "method" in msg:
                self._event(msg)

    # --- page actions ------------------------------------------------------
    def evaluate(self, js: str, timeout: float | None = None):
        """Evaluates an expression in the page (awaiting a promise) and returns
        its value by value; an exception in the page raises CdpError."""
        result = self.send("Runtime.evaluate", timeout=timeout, expression=js,
                           returnByValue=True, awaitPromise=True, userGesture=True)
        if "exceptionDetails" in result:
            d = result["exceptionDetails"]
            text = d.get("exception", {}).get("description") or d.get("text")
            raise CdpError(f"the page threw evaluating {js[:200]!r}: {text}")
        return result.get("result", {}).get("value")

    def wait_for(self, predicate_js: str, timeout: float = 15.0, message: str = "",
                 interval: float = 0.05):
        """Polls until the JS expression is truthy; returns its value. On timeout
        raises CdpError with `message`, the expression, and the page's state."""
        deadline = time.monotonic() + timeout
        last_error = None
        # A DOM node comes back by value as {}, falsy in Python: make it true.
        wrapped = (f"(() => {{ const v = ({predicate_js});"
                   " return (v && typeof v === 'object' && v.nodeType) ? true : v; })()")
        while True:
            try:
                value = self.evaluate(wrapped)
                last_error = None
                if value:
                    return value
            except CdpError as e:  # e.g. the document is being replaced
                last_error = e
            if time.monotonic() >= deadline:
                break
            time.sleep(interval)
        raise CdpError(f"timed out after {timeout}s waiting for {message or predicate_js!r}"
                       f" ({predicate_js}); page state: {self.state()}"
                       + (f"; last error: {last_error}" if last_error else ""))

    def state(self) -> str:
        """A short description of the page, for failure messages."""
        try:
            return json.dumps(self.evaluate(
                "({url: location.href, dataset: Object.assign({}, document.body && document.body.dataset),"
                " banner: (document.querySelector('.error-banner') || {}).textContent || null,"
                " text: (document.body ? document.body.innerText : '').slice(0, 400)})"))
        except CdpError as e:
            return f"(unavailable: {e})"

    def navigate(self, url: str, timeout: float = 20.0):
        """Loads a URL and waits until its document has loaded."""
        result = self.send("Page.navigate", url=url)
        if result.get("errorText"):
            raise CdpError(f"navigating to {url} failed: {result['errorText']}")
        self.wait_for("document.readyState === 'complete'", timeout,
                      f"{url} to finish loading")

    def go_hash(self, route: str):
        """Changes the hash route (as a link would) without reloading."""
        self.evaluate(f"location.hash = {json.dumps(route)}")

    def _box(self, selector: str, timeout: float):
        js = (f"(() => {{ const el = document.querySelector({json.dumps(selector)});"
              " if (!el) return null; el.scrollIntoView({block: 'center', inline: 'center'});"
              " const r = el.getBoundingClientRect();"
              " if (r.width === 0 || r.height === 0) return null;"
              " return {x: r.left + r.width / 2, y: r.top + r.height / 2,"
              "         disabled: !!el.disabled}; })()")
        return self.wait_for(js, timeout, f"a visible element {selector}")

    def click(self, selector: str, timeout: float = 10.0):
        """Clicks the element's centre with real mouse events, as a user does.
        Checks that the element is what is under the pointer there."""
        box = self._box(selector, timeout)
        if box.get("disabled"):
            raise CdpError(f"{selector} is disabled")
        hit = self.evaluate(
            f"(() => {{ const el = document.querySelector({json.dumps(selector)});"
            f" const at = document.elementFromPoint({box['x']}, {box['y']});"
            " return !!at && (at === el || el.contains(at) || (at.control === el) ||"
            " (at.tagName === 'LABEL' && at.contains(el))); })()")
        if not hit:
            raise CdpError(f"{selector} is covered by another element at its centre; state {self.state()}")
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            extra = {} if kind == "mouseMoved" else {"button": "left", "clickCount": 1}
            self.send("Input.dispatchMouseEvent", type=kind, x=box["x"], y=box["y"], **extra)

    def type(self, selector: str, text: str, clear: bool = True, timeout: float = 10.0):
        """Focuses a field and types text into it (Input.insertText: input
        events as from a keyboard)."""
        self._box(selector, timeout)
        self.evaluate(f"(() => {{ const el = document.querySelector({json.dumps(selector)});"
                      f" el.focus(); if ({json.dumps(clear)}) {{ el.value = '';"
                      " el.dispatchEvent(new Event('input', {bubbles: true})); } })()")
        if text:
            self.send("Input.insertText", text=text)

    def press_enter(self):
        for kind in ("keyDown", "keyUp"):
            self.send("Input.dispatchKeyEvent", type=kind, key="Enter", code="Enter",
                      windowsVirtualKeyCode=13, nativeVirtualKeyCode=13,
                      **({"text": "\r"} if kind == "keyDown" else {}))

    def set_viewport(self, width: int, height: int):
        self.width, self.height = width, height
        self.send("Emulation.setDeviceMetricsOverride", width=width, height=height,
                  deviceScaleFactor=1, mobile=False)

    def screenshot(self, path) -> bytes:
        """Saves a PNG of the viewport and returns its bytes."""
        data = base64.b64decode(self.send("Page.captureScreenshot", format="png")["data"])
        path = pathlib.Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return data

    def response_bodies(self):
        """(url, body text) of every finished network response of the page
        that still has its body (long-polls in flight have none yet)."""
        out = []
        for request_id, resp in list(self.responses.items()):
            if not resp.get("finished"):
                continue
            try:
                r = self.send("Network.getResponseBody", requestId=request_id)
            except CdpError:
                continue  # evicted or not available (redirects, ...)
            body = r.get("body", "")
            if r.get("base64Encoded"):
                body = base64.b64decode(body).decode("utf-8", "replace")
            out.append((resp.get("url", ""), body))
        return out

    # --- what went wrong ---------------------------------------------------
    def csp_violations(self) -> list[str]:
        found = [r["detail"] for r in self.reports if r.get("kind") == "csp"]
        for e in self.log_entries:
            text = e.get("text", "")
            if "Content Security Policy" in text or "Content-Security-Policy" in text:
                found.append(text)
        for c in self.console:
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in c.get("args", []))
            if "Content Security Policy" in text:
                found.append(text)
        return found

    def exception_texts(self) -> list[str]:
        return [(d.get("exception", {}).get("description") or d.get("text", "")) +
                f" at {d.get('url', '')}:{d.get('lineNumber', '')}" for d in self.exceptions]

    def console_errors(self) -> list[str]:
        """What the page's scripts wrote with console.error or console.assert."""
        return [" ".join(str(a.get("value", a.get("description", ""))) for a in c.get("args", []))
                for c in self.console if c.get("type") in ("error", "assert")]

    def dialog_calls(self) -> list[str]:
        """alert/confirm/prompt calls seen by the trap, and real dialogs."""
        calls = [f"{r['kind']}({r['detail']})" for r in self.reports
                 if r.get("kind") in ("alert", "confirm", "prompt")]
        calls += [f"real {d.get('type')} dialog: {d.get('message')}" for d in self.dialogs]
        return calls

    def assert_clean(self, allow_confirm: bool = False):
        """No uncaught exception, no console.error, no CSP violation and no
        dialog so far."""
        self.pump()
        problems = []
        if self.exceptions:
            problems.append(f"JS exceptions: {self.exception_texts()}")
        if self.csp_violations():
            problems.append(f"CSP violations: {self.csp_violations()}")
        errors = self.console_errors()
        if errors:
            problems.append(f"console.error/assert calls: {errors}")
        calls = [c for c in self.dialog_calls() if not (allow_confirm and c.startswith("confirm("))]
        if calls:
            problems.append(f"dialogs: {calls}")
        if problems:
            raise CdpError("; ".join(problems))
