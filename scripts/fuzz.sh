#!/usr/bin/env bash
# Build the libFuzzer targets of test/fuzz and run each (docs/fuzzing.md).
#
#   scripts/fuzz.sh [FILTER]     only the targets whose name contains FILTER
#
#   FUZZ_SECONDS    seconds per target (default 30; `make fuzz`: 600)
#   FUZZ_BUILD_DIR  the clang build directory (default build-fuzz)
#   FUZZ_JOBS       parallel compile jobs (default 2)
#   FUZZ_MAX_LEN    -max_len of the inputs (default 4096 bytes)
#   FUZZ_RSS_MB     -rss_limit_mb per target (default 2048)
#
# Configures and builds $FUZZ_BUILD_DIR with clang (-DOUTPOST_FUZZ=ON; the
# main build is untouched). Then, per target: replays every file under
# test/fuzz/regressions/<target>/ (inputs that once crashed) and fails if one
# crashes again; fuzzes for FUZZ_SECONDS from a scratch copy of
# test/fuzz/corpus/<target>/ (the checked-in seeds never grow here); and
# prints the executions, exec/s and coverage (cov:, ft:) of the run. An input
# that crashes, leaks, times out (-timeout=10) or runs out of memory is copied
# into test/fuzz/regressions/<target>/ to be checked in, and the script fails
# naming it. Exits 0 only when every target passed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

filter=${1:-}
seconds=${FUZZ_SECONDS:-30}
build_dir=${FUZZ_BUILD_DIR:-build-fuzz}
jobs=${FUZZ_JOBS:-2}
max_len=${FUZZ_MAX_LEN:-4096}
rss_mb=${FUZZ_RSS_MB:-2048}

if ! command -v clang++ >/dev/null 2>&1; then
  echo "fuzz: clang++ is not installed (make deps installs clang and libclang-rt-14-dev)" >&2
  exit 1
fi

# Build. The compile step holds /tmp/outpost-build.lock (as the main builds
# on a shared machine do) so that two builds do not starve each other.
echo "fuzz: building the fuzz targets in $build_dir" >&2
start=$SECONDS
nice cmake -S . -B "$build_dir" -DOUTPOST_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=Debug >/dev/null
build=(nice cmake --build "$build_dir" --target outpost_fuzz "-j$jobs")
if command -v flock >/dev/null 2>&1; then
  flock /tmp/outpost-build.lock "${build[@]}"
else
  "${build[@]}"
fi
echo "fuzz: built in $((SECONDS - start)) s" >&2

# Readable stacks, and UBSan reports that stop the run.
symbolizer=$(command -v llvm-symbolizer || true)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}${symbolizer:+:external_symbolizer_path=$symbolizer}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

scratch=$(mktemp -d "${TMPDIR:-/tmp}/outpost-fuzz.XXXXXX")
# shellcheck source=scripts/lib/bounded.sh
. scripts/lib/bounded.sh
# shellcheck disable=SC2317 # called from bounded_cleanup
cleanup_hook() { rm -rf "$scratch"; }

failed=()
summary=()
shopt -s nullglob
for source in test/fuzz/fuzz_*.cc; do
  binary_name=$(basename "$source" .cc)
  target=${binary_name#fuzz_}
  [[ -z $filter || $target == *"$filter"* ]] || continue
  binary=$build_dir/$binary_name
  regressions=test/fuzz/regressions/$target
  work=$scratch/$target
  mkdir -p "$work/corpus" "$work/artifacts"

  # 1. The inputs that crashed before, each run once.
  inputs=("$regressions"/*)
  if ((${#inputs[@]} > 0)); then
    status=0
    run_waited "$binary" -timeout=10 -rss_limit_mb="$rss_mb" "${inputs[@]}" \
      >"$work/replay.log" 2>&1 || status=$?
    if ((status != 0)); then
      echo "fuzz: $target: a regression input crashes again (exit $status):" >&2
      grep -aE 'Running:|ERROR|PROPERTY|first:|second:|runtime error|SUMMARY|^ +#([0-9]|1[0-2]) ' "$work/replay.log" \
        | head -40 >&2 || true
      failed+=("$target (regression replay; see the inputs in $regressions/)")
      continue
    fi
    echo "fuzz: $target: ${#inputs[@]} regression input(s) pass" >&2
  fi

  # 2. Fuzz from a scratch copy of the seeds.
  seeds=(test/fuzz/corpus/"$target"/*)
  ((${#seeds[@]} == 0)) || cp "${seeds[@]}" "$work/corpus/"
  echo "fuzz: $target: fuzzing for $seconds s from ${#seeds[@]} seeds" >&2
  status=0
  run_waited nice "$binary" "$work/corpus" -max_total_time="$seconds" -max_len="$max_len" \
    -rss_limit_mb="$rss_mb" -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/" >"$work/fuzz.log" 2>&1 || status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/fuzz.log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/fuzz.log" | tail -1)
  last=$(grep -E '^#[0-9]+' "$work/fuzz.log" | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corpus=$(find "$work/corpus" -type f | wc -l)
  line=$(printf '%-8s execs %-10s exec/s %-7s cov %-6s ft %-6s corpus %s' "$target" \
    "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "$corpus")
  summary+=("$line")
  echo "fuzz: $line" >&2

  artifacts=("$work"/artifacts/*)
  if ((status != 0 || ${#artifacts[@]} > 0)); then
    mkdir -p "$regressions"
    kept=()
    for a in "${artifacts[@]}"; do
      cp "$a" "$regressions/"
      kept+=("$regressions/$(basename "$a")")
    done
    echo "fuzz: $target FAILED (exit $status):" >&2
    grep -aE 'ERROR|PROPERTY|runtime error|SUMMARY|first:|second:|^ +#([0-9]|1[0-2]) ' "$work/fuzz.log" \
      | head -40 >&2 || true
    if ((${#kept[@]} > 0)); then
      printf 'fuzz: the input is saved as %s (check it in; scripts/fuzz.sh replays it)\n' \
        "${kept[@]}" >&2
    else
      tail -20 "$work/fuzz.log" >&2
    fi
    failed+=("$target")
  fi
done

if ((${#summary[@]} > 0)); then
  echo "fuzz: summary (${seconds} s per target):" >&2
  printf '  %s\n' "${summary[@]}" >&2
fi
if ((${#failed[@]} > 0)); then
  printf 'fuzz: FAILED: %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "fuzz: all targets passed" >&2
