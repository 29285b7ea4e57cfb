"""The library's log lines: outpost_log_level and outpost_log_sink."""

from __future__ import annotations

import logging

import pytest

import outpost
from outpost import _lib


@pytest.fixture
def logs():
    try:
        _lib.function("outpost_log_sink")
        _lib.function("outpost_log_level")
    except OSError as e:
        pytest.skip(str(e))
    lines = []
    outpost.set_log_sink(lines.append)
    yield lines
    outpost.set_log_sink(None)
    outpost.set_log_level("info")


def refused_push(make_hub, tmp_path):
    """A push the hub refuses a document of: the replicator warns."""
    hub = make_hub("--max-body", "65536")
    tmp_path.mkdir(parents=True, exist_ok=True)
    with outpost.open(f"sqlite:{tmp_path / 'a.db'}") as a:
        a.create_table("households", [("head_name", "string", True)])
        a.put("households", "big", {"head_name": "x" * 200000})
        with pytest.raises(outpost.TooLarge):
            a.sync(hub.url, token=hub.token, direction="push")


def test_sink_gets_lines_and_level_filters(logs, make_hub, tmp_path):
    outpost.set_log_level("info")
    refused_push(make_hub, tmp_path / "1")
    warned = [line for line in logs if " WARN " in line]
    assert warned, logs
    assert all(not line.endswith("\n") for line in logs)
    assert any("too_large" in line or "not written" in line for line in warned)
    logs.clear()
    outpost.set_log_level("off")
    refused_push(make_hub, tmp_path / "2")
    assert logs == []


def test_invalid_level(logs):
    with pytest.raises(outpost.InvalidValue) as e:
        outpost.set_log_level("loud")
    assert e.value.code == "invalid_value"


def test_sink_exception_is_dropped(logs, make_hub, tmp_path):
    calls = []

    def bad(line):
        calls.append(line)
        raise RuntimeError("a sink that fails")

    outpost.set_log_sink(bad)
    outpost.set_log_level("info")
    refused_push(make_hub, tmp_path)
    assert calls


def test_log_to_logging(logs, make_hub, tmp_path, caplog):
    logger = outpost.log_to_logging(logging.getLogger("outpost.test"))
    outpost.set_log_level("warn")
    with caplog.at_level(logging.DEBUG, logger="outpost.test"):
        refused_push(make_hub, tmp_path)
    records = [r for r in caplog.records if r.name == logger.name]
    assert records and all(r.levelno >= logging.WARNING for r in records)
