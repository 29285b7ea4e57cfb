#!/usr/bin/env bash
# Tests a device against a hostile hub, and a hub against a hostile device.
#
#   scripts/test-hostile.sh [PYTEST ARGS...]
#
# Runs test/hostile with Debian's pytest (/usr/bin/python3 -m pytest, the
# standard library only): a malicious hub (a Python proxy in front of a real
# `outpost serve` that tampers with one kind of answer per test: deeply
# nested or oversized JSON, bulk_get and revs_diff answers naming what was
# not asked, forged revisions, a feed that never ends, cut and trickled
# bodies, gzip and zstd bombs) against `outpost sync`, which must exit 1
# with a clear error, within its --timeout/--retry-for bounds and 512 MiB,
# leaving a consistent database (`outpost check`) without the hostile data;
# and raw-socket attacks on a real `outpost serve` beyond those of
# test/server (deep JSON in every write route, cut and trickled bodies,
# request bombs). The zstd cases need the zstd CLI (skipped without it).
# Needs: python3-pytest (make deps installs it). Installs nothing.
#
# Environment:
#   OUTPOST_BIN             the outpost binary (default $BUILD_DIR/outpost)
#   OUTPOST_HOSTILE_TIMEOUT seconds for the whole run (default 600)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BUILD_DIR=${BUILD_DIR:-build}

say() { echo "test-hostile: $*" >&2; }
fail() {
  say "FAILED: $*"
  exit 1
}

export OUTPOST_BIN=${OUTPOST_BIN:-$BUILD_DIR/outpost}
[[ -x $OUTPOST_BIN ]] || fail "$OUTPOST_BIN is not built (run: make build)"
/usr/bin/python3 -c 'import pytest' 2>/dev/null \
  || fail "python3-pytest is needed (run: make deps)"
OUTPOST_BIN=$(realpath "$OUTPOST_BIN")
command -v zstd >/dev/null || say "no zstd CLI: the zstd bomb cases are skipped"

# shellcheck source=scripts/lib/bounded.sh
. scripts/lib/bounded.sh

say "outpost: $OUTPOST_BIN"
start=$SECONDS
# In the background so that a signal stops it at once (cleanup); pytest ends
# its hubs through its fixtures' finalizers on SIGTERM, and every process it
# starts dies with it in any case (PR_SET_PDEATHSIG).
status=0
run_bounded "${OUTPOST_HOSTILE_TIMEOUT:-600}" \
  /usr/bin/python3 -m pytest -q -p no:cacheprovider test/hostile "$@" || status=$?
say "pytest exited with status $status after $((SECONDS - start))s"
exit "$status"
