#!/usr/bin/env bash
# What "make run" runs: the server once it exists, until then a command that
# shows the default database works.
#
#   scripts/run.sh [ARGS...]    extra args go to "outpost serve" (also $RUN_ARGS)
#
# The database is $OUTPOST_DB, default sqlite:outpost.db (DESIGN.md 10/11).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BUILD_DIR=${BUILD_DIR:-build}
bin=$BUILD_DIR/outpost
[[ -x $bin ]] || { echo "run: $bin is not built (run: make build)" >&2; exit 1; }
export OUTPOST_DB=${OUTPOST_DB:-sqlite:outpost.db}

read -ra extra_args <<<"${RUN_ARGS:-}"
# The probe has a timeout so that a serve that ignores --help cannot hang here.
if timeout 10 "$bin" serve --help >/dev/null 2>&1; then
  echo "run: $bin serve (database $OUTPOST_DB)" >&2
  exec "$bin" serve "${extra_args[@]}" "$@"
else
  echo "run: no 'serve' command yet; checking the default database: $bin tables list (database $OUTPOST_DB)" >&2
  exec "$bin" tables list
fi
