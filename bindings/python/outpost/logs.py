"""The library's log lines: their level, and where they go (outpost.h:
outpost_log_level, outpost_log_sink). Process-wide.

By default liboutpost writes lines such as
``2026-11-22T10:00:00.123456Z WARN sync: message key=value`` to stderr
from level "info" up.
"""

from __future__ import annotations

import atexit
import ctypes
import logging
import threading

from . import _lib
from .errors import from_number

LEVELS = ("debug", "info", "warn", "error", "off")

_lock = threading.Lock()
_installed = []  # every callback ever installed stays alive: a line may still be on its way
_atexit_registered = False

_TO_LOGGING = {"DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARN": logging.WARNING,
               "WARNING": logging.WARNING, "ERROR": logging.ERROR}


def set_log_level(level: str) -> None:
    """The least level the library writes: "debug", "info", "warn", "error"
    or "off" (another name: InvalidValue)."""
    fn = _lib.function("outpost_log_level")
    lib = _lib.load()
    err = _lib.OutpostError()
    try:
        rc = fn(str(level).encode("utf-8"), ctypes.byref(err))
        if rc != 0:
            message = ctypes.string_at(err.message).decode("utf-8", "replace") if err.message else ""
            raise from_number(rc, message, lib.outpost_code_name(rc).decode())
    finally:
        lib.outpost_error_clear(ctypes.byref(err))


def _reset_at_exit():
    # Library threads may outlive the interpreter's finalization: no line may
    # call into Python then.
    try:
        _lib.function("outpost_log_sink")(_lib.LOG_FN(), None)
    except Exception:
        pass


def set_log_sink(sink) -> None:
    """Sends each log line to ``sink(line)`` (a str without its newline),
    called from whichever thread logs, never two at once; ``None`` sends
    them back to stderr. An exception in ``sink`` is dropped."""
    global _atexit_registered
    fn = _lib.function("outpost_log_sink")
    with _lock:
        if sink is None:
            fn(_lib.LOG_FN(), None)
            return

        def trampoline(_user_data, line):
            try:
                sink(line.decode("utf-8", "replace").rstrip("\n") if line else "")
            except BaseException:  # noqa: BLE001 - nothing may propagate into C
                pass

        cb = _lib.LOG_FN(trampoline)
        _installed.append(cb)
        fn(cb, None)
        if not _atexit_registered:
            atexit.register(_reset_at_exit)
            _atexit_registered = True


def log_to_logging(logger: logging.Logger | None = None) -> logging.Logger:
    """Sends the library's lines to a ``logging`` logger (default
    "outpost"), at the level each line names. Returns the logger."""
    logger = logger or logging.getLogger("outpost")

    def sink(line: str) -> None:
        parts = line.split(" ", 2)
        level = _TO_LOGGING.get(parts[1].upper(), logging.INFO) if len(parts) >= 2 else logging.INFO
        logger.log(level, "%s", parts[2] if len(parts) == 3 else line)

    set_log_sink(sink)
    return logger
