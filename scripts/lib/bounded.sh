# Sourced by the test scripts (test.sh, test-abi.sh, test-ui.sh,
# test-hostile.sh, fuzz.sh): runs their long commands in the background, so that a signal to
# the script is handled at once, and stops such a command whatever way the
# script ends. A script that has more to clean up defines cleanup_hook.
#
#   run_bounded SECONDS CMD...   CMD under `timeout` (SIGKILL 10 s after the
#                                SIGTERM); returns its status, 124 when it
#                                ran out of time (said on stderr, through
#                                the script's `say` when it has one)
#   run_waited CMD...            the same without a time limit
# shellcheck shell=bash

bounded_child=

# shellcheck disable=SC2317 # called from the trap
bounded_cleanup() {
  local status=$?
  trap - EXIT INT TERM HUP
  if [[ -n $bounded_child ]] && kill -0 "$bounded_child" 2>/dev/null; then
    kill -TERM "$bounded_child" 2>/dev/null || true
    wait "$bounded_child" 2>/dev/null || true
  fi
  if declare -F cleanup_hook >/dev/null; then cleanup_hook || true; fi
  exit "$status"
}
trap bounded_cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

run_waited() {
  "$@" &
  bounded_child=$!
  local status=0
  wait "$bounded_child" || status=$?
  bounded_child=
  return "$status"
}

run_bounded() {
  local limit=$1
  shift
  local status=0
  run_waited timeout --kill-after=10 "$limit" "$@" || status=$?
  if [[ $status -eq 124 ]]; then
    if declare -F say >/dev/null; then
      say "timed out after ${limit}s: $*"
    else
      echo "$(basename "$0"): timed out after ${limit}s: $*" >&2
    fi
  fi
  return "$status"
}
