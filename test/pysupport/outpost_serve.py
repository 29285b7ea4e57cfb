"""`outpost serve` as a child process, for the Python suites that run a real
hub (bindings/python/tests, test/ui, test/hostile).

Each suite's conftest puts this directory on sys.path and builds its own Hub
on ServeProcess, adding what it needs (an API client, raw requests, ...).
"""

from __future__ import annotations

import ctypes
import pathlib
import signal
import subprocess
import threading


def die_with_parent():
    """In the child before exec: SIGKILL when the test process dies (a crash
    skips the finalizers, and no hub may outlive its tests)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except Exception:
        pass


class ServeProcess:
    """`binary --db DB serve --listen 127.0.0.1:0 ARGS...`, started and ready.

    `url` is what it printed after "listening on ", `token` after "admin
    token: " (None with --no-auth); its stderr goes to `log_path`. Raises
    AssertionError, with what it printed, when it is not listening within
    30 s.
    """

    def __init__(self, binary: str, db: str, log_path: pathlib.Path, args=()):
        self.binary = binary
        self.db = db
        self.url: str | None = None
        self.token: str | None = None
        self.log_path = log_path
        self.args = [binary, "--db", db, "serve", "--listen", "127.0.0.1:0", *args]
        self._log = open(log_path, "w")
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=self._log,
                                     text=True, preexec_fn=die_with_parent)
        self._lines: list[str] = []
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._ready.wait(30) or self.url is None:
            self.stop()
            raise AssertionError(f"{' '.join(self.args)} did not start: stdout "
                                 f"{self._lines!r}, log {self.log()!r}")

    def _read(self):
        # Reads stdout to its end, so that the pipe never fills.
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            self._lines.append(line)
            if line.startswith("admin token: "):
                self.token = line[len("admin token: "):].strip()
            elif line.startswith("listening on "):
                self.url = line[len("listening on "):].strip()
                self._ready.set()
        self._ready.set()

    def printed(self) -> list[str]:
        """What it printed on stdout so far."""
        return list(self._lines)

    def log(self, tail: int = 4000) -> str:
        """The end of its log (stderr)."""
        try:
            return self.log_path.read_text()[-tail:]
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self):
        """SIGTERM, then SIGKILL after 15 s; idempotent."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(15)
        self._reader.join(5)
        if self.proc.stdout:
            self.proc.stdout.close()
        self._log.close()
