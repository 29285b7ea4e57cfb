"""Fixtures: the outpost binary, fresh SQLite databases, and `outpost serve` hubs.

Environment:
  OUTPOST_LIBRARY  path of liboutpost.so (else the loader's search path)
  OUTPOST_BIN      path of the `outpost` binary (default: build/outpost of the repo)
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import time

import pytest

HERE = pathlib.Path(__file__).resolve().parent
PACKAGE_ROOT = HERE.parent  # bindings/python
REPO = PACKAGE_ROOT.parent.parent
sys.path.insert(0, str(PACKAGE_ROOT))
sys.path.insert(0, str(REPO / "test" / "pysupport"))

import outpost  # noqa: E402
from outpost_serve import ServeProcess  # noqa: E402

if "OUTPOST_LIBRARY" not in os.environ and (REPO / "build" / "liboutpost.so").exists():
    os.environ["OUTPOST_LIBRARY"] = str(REPO / "build" / "liboutpost.so")


@pytest.fixture(scope="session")
def outpost_bin() -> str:
    path = os.environ.get("OUTPOST_BIN") or str(REPO / "build" / "outpost")
    if not os.access(path, os.X_OK):
        pytest.fail(f"no outpost binary at {path} (set OUTPOST_BIN)")
    return path


class Cli:
    """Runs `outpost --db DB ... --json` and parses its output."""

    def __init__(self, binary: str, db: str):
        self.binary = binary
        self.db = db

    def run(self, *args, check=True, timeout=60) -> subprocess.CompletedProcess:
        cmd = [self.binary, "--db", self.db, *args]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} exited {p.returncode}: {p.stderr.strip()}")
        return p

    def json(self, *args, **kw):
        p = self.run(*args, "--json", **kw)
        return json.loads(p.stdout)


@pytest.fixture
def db_path(tmp_path) -> pathlib.Path:
    return tmp_path / "device.db"


@pytest.fixture
def db(db_path):
    with outpost.open(f"sqlite:{db_path}") as d:
        yield d


HOUSEHOLDS = [
    ("head_name", "string", True),
    ("size", "int"),
    ("lat", "float"),
    ("consent", "bool"),
    ("photo", "bytes"),
    ("visited", "timestamp"),
    ("district", "string"),
]


@pytest.fixture
def households(db):
    db.create_table("households", HOUSEHOLDS)
    return db


class Hub(ServeProcess):
    """A running `outpost serve` on 127.0.0.1 over its own SQLite file."""

    def __init__(self, binary: str, directory: pathlib.Path, no_auth: bool = False, extra_args=()):
        self.directory = directory
        self.db_path = directory / "hub.db"
        args = (["--no-auth"] if no_auth else []) + list(extra_args)
        super().__init__(binary, f"sqlite:{self.db_path}", directory / "serve.log", args)

    def cli(self) -> Cli:
        return Cli(self.binary, self.db)


HUB_COLUMNS = ["head_name:string!", "size:int", "lat:float", "consent:bool", "photo:bytes",
               "visited:timestamp", "district:string"]


@pytest.fixture
def make_hub(outpost_bin, tmp_path, request):
    """make_hub(*serve_args): a new hub (its households table created before
    it serves, as an operator would), stopped at the end of the test."""
    count = [0]

    def make(*extra_args):
        count[0] += 1
        directory = tmp_path / f"hub{count[0]}"
        directory.mkdir()
        Cli(outpost_bin, f"sqlite:{directory / 'hub.db'}").run("tables", "create", "households", *HUB_COLUMNS)
        h = Hub(outpost_bin, directory, extra_args=extra_args)
        request.addfinalizer(h.stop)
        assert h.token, "the first serve of a fresh database prints an admin token"
        return h

    return make


@pytest.fixture
def hub(make_hub):
    return make_hub()


def wait_for(predicate, timeout=10.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
