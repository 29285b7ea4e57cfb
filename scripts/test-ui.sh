#!/usr/bin/env bash
# Tests the hub's web console (server/ui, issue 19) in a real browser.
#
#   scripts/test-ui.sh [--docs-shots DIR] [PYTEST ARGS...]
#
# Runs test/ui with Debian's pytest (/usr/bin/python3 -m pytest): each test
# starts a real `outpost serve` on a fresh SQLite file, seeds it through the
# HTTP API and the CLI (`outpost sync` from device databases), and drives
# Debian's headless chromium over the DevTools protocol (test/ui/cdp.py,
# with the python3-websocket package). Needs: chromium, python3-pytest,
# python3-websocket (make deps installs them).
#
# Environment:
#   OUTPOST_BIN           the outpost binary (default $BUILD_DIR/outpost)
#   OUTPOST_UI_SHOTS      where the screenshots go (default $BUILD_DIR/ui-shots)
#   OUTPOST_UI_DIR        serve the console from this directory (serve --ui-dir,
#                         for UI work without a rebuild) instead of the built-in files
#   OUTPOST_UI_DOCS_SHOTS after a passing run, copy the 1280x900 screenshots
#                         to DIR/console-<page>.png (same as --docs-shots DIR;
#                         docs/images regenerates the images of docs/operations.md)
#   OUTPOST_UI_TIMEOUT    seconds for the whole run (default 600)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BUILD_DIR=${BUILD_DIR:-build}
docs_shots=${OUTPOST_UI_DOCS_SHOTS:-}
if [[ ${1:-} == --docs-shots ]]; then
  [[ $# -ge 2 ]] || { echo "test-ui: --docs-shots needs a directory" >&2; exit 2; }
  docs_shots=$2
  shift 2
fi

say() { echo "test-ui: $*" >&2; }
fail() {
  say "FAILED: $*"
  exit 1
}

export OUTPOST_BIN=${OUTPOST_BIN:-$BUILD_DIR/outpost}
export OUTPOST_UI_SHOTS=${OUTPOST_UI_SHOTS:-$BUILD_DIR/ui-shots}
[[ -x $OUTPOST_BIN ]] || fail "$OUTPOST_BIN is not built (run: make build)"
[[ -x ${OUTPOST_CHROMIUM:-/usr/bin/chromium} ]] || fail "chromium is not installed (run: make deps)"
/usr/bin/python3 -c 'import pytest, websocket' 2>/dev/null \
  || fail "python3-pytest and python3-websocket are needed (run: make deps)"
OUTPOST_BIN=$(realpath "$OUTPOST_BIN")
mkdir -p "$OUTPOST_UI_SHOTS"
OUTPOST_UI_SHOTS=$(realpath "$OUTPOST_UI_SHOTS")
rm -f "$OUTPOST_UI_SHOTS"/console-*.png

# shellcheck source=scripts/lib/bounded.sh
. scripts/lib/bounded.sh

say "outpost: $OUTPOST_BIN; screenshots: $OUTPOST_UI_SHOTS"
start=$SECONDS
# In the background so that a signal stops it at once (cleanup); pytest ends
# its hubs and browsers on SIGTERM through its fixtures' finalizers, and the
# hubs die with it in any case (PR_SET_PDEATHSIG).
status=0
run_bounded "${OUTPOST_UI_TIMEOUT:-600}" \
  /usr/bin/python3 -m pytest -q -p no:cacheprovider test/ui "$@" || status=$?
say "pytest exited with status $status after $((SECONDS - start))s"
shots=("$OUTPOST_UI_SHOTS"/console-*.png)
if [[ -e ${shots[0]} ]]; then
  say "screenshots (${#shots[@]}) are in $OUTPOST_UI_SHOTS"
fi
[[ $status -eq 0 ]] || exit "$status"

if [[ -n $docs_shots ]]; then
  mkdir -p "$docs_shots"
  copied=0
  for shot in "${shots[@]}"; do
    name=$(basename "$shot")
    [[ $name == *-tablet.png ]] && continue # the docs show the 1280x900 ones
    cp "$shot" "$docs_shots/$name"
    copied=$((copied + 1))
  done
  say "copied $copied screenshots to $docs_shots (console-<page>.png)"
fi
