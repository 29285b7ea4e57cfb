#!/usr/bin/env bash
# Run the whole test binary against a throwaway PostgreSQL cluster.
#
#   scripts/test.sh [DOCTEST ARGS...]     (extra args also from $TEST_ARGS)
#
# First checks the include layering and the formatting
# (scripts/check-layering.sh, scripts/check-format.sh). Then
# starts a cluster (scripts/pg-cluster.sh), exports OUTPOST_TEST_PG and the PG*
# variables so the SQLite and PostgreSQL suites both run, runs
# $BUILD_DIR/outpost_tests, and always stops and removes the cluster, also
# when the tests fail or the run is interrupted. When they pass, runs
# scripts/test-abi.sh (liboutpost.so, the C ABI and its bindings) unless
# OUTPOST_SKIP_ABI=1, then scripts/test-ui.sh (the web console in headless
# Chromium) unless OUTPOST_SKIP_UI=1, then scripts/test-hostile.sh (a
# device against a malicious hub, a hub against a hostile device) unless
# OUTPOST_SKIP_HOSTILE=1, then scripts/fuzz.sh (the libFuzzer
# targets built with clang into build-fuzz, their regression inputs replayed
# and each fuzzed for 30 s; docs/fuzzing.md) unless OUTPOST_SKIP_FUZZ=1.
# Exits with the status of the first that failed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BUILD_DIR=${BUILD_DIR:-build}
tests=$BUILD_DIR/outpost_tests
if [[ ! -x $tests ]]; then
  echo "test: $tests is not built (run: make build)" >&2
  exit 1
fi

# The dependency direction of DESIGN.md section 1 and the formatting
# (.clang-format), before any test runs.
bash scripts/check-layering.sh
bash scripts/check-format.sh

unset OUTPOST_PG_DIR
# shellcheck source=scripts/lib/bounded.sh
. scripts/lib/bounded.sh
# shellcheck disable=SC2317 # called from bounded_cleanup
cleanup_hook() {
  if [[ -n ${OUTPOST_PG_DIR:-} ]]; then
    bash scripts/pg-cluster.sh stop "$OUTPOST_PG_DIR" \
      || echo "test: WARNING: could not remove the cluster in $OUTPOST_PG_DIR" >&2
  fi
}
cluster_env=$(OUTPOST_PG_OWNER_PID=$$ bash scripts/pg-cluster.sh start)
eval "$cluster_env"
echo "test: OUTPOST_TEST_PG=$OUTPOST_TEST_PG" >&2

# TEST_ARGS is split on whitespace (no globbing): TEST_ARGS='-tc=*sqlite* -s'.
read -ra extra_args <<<"${TEST_ARGS:-}"
status=0
run_waited "$tests" "${extra_args[@]}" "$@" || status=$?
echo "test: outpost_tests exited with status $status" >&2
if [[ $status -eq 0 && ${OUTPOST_SKIP_ABI:-0} != 1 ]]; then
  run_waited bash scripts/test-abi.sh || status=$?
  echo "test: test-abi.sh exited with status $status" >&2
fi
if [[ $status -eq 0 && ${OUTPOST_SKIP_UI:-0} != 1 ]]; then
  run_waited bash scripts/test-ui.sh || status=$?
  echo "test: test-ui.sh exited with status $status" >&2
fi
if [[ $status -eq 0 && ${OUTPOST_SKIP_HOSTILE:-0} != 1 ]]; then
  run_waited bash scripts/test-hostile.sh || status=$?
  echo "test: test-hostile.sh exited with status $status" >&2
fi
if [[ $status -eq 0 && ${OUTPOST_SKIP_FUZZ:-0} != 1 ]]; then
  FUZZ_SECONDS=30 run_waited bash scripts/fuzz.sh || status=$?
  echo "test: fuzz.sh exited with status $status" >&2
fi
exit "$status"
