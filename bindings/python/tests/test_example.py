"""bindings/python/example.py, the program docs/embedding.md shows, run as
a user would run it: against a real hub, it makes a conflict and resolves
it, and the hub ends with none."""
import json
import os
import pathlib
import subprocess
import sys

EXAMPLE = pathlib.Path(__file__).resolve().parent.parent / "example.py"


def run_example(*args):
    env = dict(os.environ)
    env["PYTHONPATH"] = str(EXAMPLE.parent) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, str(EXAMPLE), *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=120)


def test_example_alone(tmp_path):
    out = run_example(tmp_path / "device.db")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("written 1-")
    assert lines[1] == "read Amina Okello 6 2026-11-22T10:00:00+00:00"
    assert lines[2].startswith("change households h-001 1-")
    assert lines[3].startswith("resume from ")


def test_example_with_a_hub(tmp_path, hub):
    out = run_example(tmp_path / "device.db", hub.url, hub.token)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "synced 1 revisions" in text
    assert "conflict h-001 winner 2-" in text
    assert text.rstrip().endswith("conflicts left 0")
    # The hub, through the CLI, holds the resolved record and no conflict.
    conflicts = subprocess.run([hub.binary, "--db", hub.db, "--json", "records", "conflicts"],
                               capture_output=True, text=True, timeout=60)
    assert conflicts.returncode == 0, conflicts.stderr
    assert json.loads(conflicts.stdout)["conflicts"] == []
    record = subprocess.run([hub.binary, "--db", hub.db, "--json", "records", "get", "households",
                             "h-001"], capture_output=True, text=True, timeout=60)
    assert json.loads(record.stdout)["attributes"]["size"] == {"int": "8"}
