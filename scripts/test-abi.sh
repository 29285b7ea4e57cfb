#!/usr/bin/env bash
# Tests liboutpost.so, the C ABI of include/outpost.h, from the outside.
#
#   scripts/test-abi.sh      (scripts/test.sh runs it after outpost_tests pass)
#
# $BUILD_DIR (default build) is the normal build, already built (make build).
# In order, stopping at the first failure:
#  1. builds the device library (-DOUTPOST_DEVICE=ON: no PostgreSQL) with
#     ASan and UBSan (fatal) into $BUILD_DIR-device-asan;
#  2. checks that the device library does not need libpq (readelf -d) and
#     prints the stripped sizes of both libraries;
#  3. checks that both libraries export every function of outpost.h and no
#     defined symbol but outpost_*, with the SONAME liboutpost.so.N (N is
#     OUTPOST_ABI_VERSION);
#  4. compiles test/capi/abi_test.c as C99 (-Wall -Wextra -Werror -pedantic)
#     against the device library and runs it with LeakSanitizer on;
#     it gets OUTPOST_ABI_SERVER_BIN (the normal build's CLI, for
#     `outpost serve`), OUTPOST_ABI_TMP (a fresh directory) and
#     OUTPOST_ABI_DEVICE=1 (postgres:// URLs must be OUTPOST_UNAVAILABLE);
#  5. installs the normal build into a temporary prefix (cmake --install)
#     and builds and runs a C program with `pkg-config --cflags --libs
#     outpost` against it;
#  6. runs the Python binding's tests (bindings/python/tests) against
#     $BUILD_DIR/liboutpost.so (OUTPOST_LIBRARY) and $BUILD_DIR/outpost
#     (OUTPOST_BIN).
# OUTPOST_ABI_TIMEOUT (seconds, default 900) bounds each of 4 and 6.
# Temporary files go to one directory, removed on exit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BUILD_DIR=${BUILD_DIR:-build}
DEVICE_DIR=$BUILD_DIR-device-asan
TIMEOUT=${OUTPOST_ABI_TIMEOUT:-900}
SANITIZE=address,undefined
SANITIZE_FLAGS=("-fsanitize=$SANITIZE" -fno-sanitize-recover=undefined -fno-omit-frame-pointer)

say() { echo "test-abi: $*" >&2; }
fail() {
  say "FAILED: $*"
  exit 1
}

for tool in cc cmake readelf nm strip pkg-config timeout; do
  command -v "$tool" >/dev/null 2>&1 || fail "$tool is not installed (run: make deps)"
done

lib=$BUILD_DIR/liboutpost.so
cli=$BUILD_DIR/outpost
[[ -f $lib ]] || fail "$lib is not built (run: make build)"
[[ -x $cli ]] || fail "$cli is not built (run: make build)"
lib=$(realpath "$lib")
cli=$(realpath "$cli")

abi=$(sed -n 's/^#define OUTPOST_ABI_VERSION \([0-9]*\)$/\1/p' include/outpost.h)
[[ -n $abi ]] || fail "no '#define OUTPOST_ABI_VERSION N' in include/outpost.h"
# The functions outpost.h declares: the name on each OUTPOST_EXPORT line.
mapfile -t declared < <(grep '^OUTPOST_EXPORT' include/outpost.h \
  | grep -o 'outpost_[a-z0-9_]*(' | tr -d '(' | sort -u)
[[ ${#declared[@]} -gt 0 ]] || fail "no OUTPOST_EXPORT function found in include/outpost.h"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/outpost-abi.XXXXXX")
# shellcheck source=scripts/lib/bounded.sh
. scripts/lib/bounded.sh
# shellcheck disable=SC2317 # called from bounded_cleanup
cleanup_hook() { rm -rf "$tmp"; }

# --- 1. the device library with ASan and UBSan ----------------------------
say "building the device library (OUTPOST_DEVICE, $SANITIZE) in $DEVICE_DIR"
start=$SECONDS
log=$tmp/device-build.log
if ! {
  cmake -S . -B "$DEVICE_DIR" -DCMAKE_BUILD_TYPE=Debug -DOUTPOST_DEVICE=ON \
    -DOUTPOST_SANITIZE=$SANITIZE -DCMAKE_CXX_FLAGS=-fno-sanitize-recover=undefined \
    && cmake --build "$DEVICE_DIR" -j"$(nproc 2>/dev/null || echo 2)" --target outpost_shared
} >"$log" 2>&1; then
  tail -n 60 "$log" >&2
  fail "the device build failed (the end of its output is above)"
fi
device_lib=$(realpath "$DEVICE_DIR/liboutpost.so")
say "device library built in $((SECONDS - start))s: $device_lib"

# --- 2. dependencies and size ----------------------------------------------
needed=$(readelf -d "$device_lib" | grep '(NEEDED)' || true)
say "the device library needs:"
echo "$needed" >&2
if grep -q 'libpq' <<<"$needed"; then
  fail "the device library needs libpq; OUTPOST_DEVICE must leave PostgreSQL out"
fi
stripped_size() {
  cp "$1" "$tmp/stripped.so"
  strip --strip-unneeded "$tmp/stripped.so"
  stat -c %s "$tmp/stripped.so"
}
size=$(stripped_size "$lib")
say "stripped size of $BUILD_DIR/liboutpost.so: $size bytes ($((size / 1024)) KiB)"
size=$(stripped_size "$device_lib")
say "stripped size of the device library: $size bytes ($((size / 1024)) KiB;" \
  "instrumented with $SANITIZE, so larger than a release build)"

# --- 3. exported symbols and SONAME -----------------------------------------
check_exports() {
  local so=$1 soname exported stray missing=()
  soname=$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
  [[ $soname == "liboutpost.so.$abi" ]] \
    || fail "$so: SONAME is '$soname', expected liboutpost.so.$abi (OUTPOST_ABI_VERSION)"
  # Defined dynamic symbols only: what the library takes from others is fine.
  exported=$(nm -D --defined-only --format=posix "$so" | awk '{ sub(/@.*/, "", $1); print $1 }')
  stray=$(grep -v '^outpost_' <<<"$exported" || true)
  if [[ -n $stray ]]; then
    echo "$stray" | head -n 20 | sed 's/^/  /' >&2
    fail "$so exports $(wc -l <<<"$stray") symbol(s) that are not outpost_* (first ones above)"
  fi
  local name
  for name in "${declared[@]}"; do
    grep -qx "$name" <<<"$exported" || missing+=("$name")
  done
  [[ ${#missing[@]} -eq 0 ]] || fail "$so does not export ${missing[*]} (declared in outpost.h)"
  say "$so: SONAME $soname, exports $(wc -l <<<"$exported") symbols, all outpost_*," \
    "every function of outpost.h among them"
}
check_exports "$lib"
check_exports "$device_lib"

# --- 4. the C ABI test, C99, against the device library --------------------
abi_src=test/capi/abi_test.c
say "compiling $abi_src (C99, $SANITIZE) against the device library"
cc -std=c99 -Wall -Wextra -Werror -pedantic -g "${SANITIZE_FLAGS[@]}" -pthread \
  -Iinclude "$abi_src" -o "$tmp/abi_test" \
  -L"$(dirname "$device_lib")" -loutpost -Wl,-rpath,"$(dirname "$device_lib")" \
  || fail "$abi_src does not compile as C99 against outpost.h"
mkdir "$tmp/abi"
say "running abi_test (LeakSanitizer on, UBSan fatal)"
status=0
OUTPOST_ABI_SERVER_BIN=$cli OUTPOST_ABI_TMP=$tmp/abi OUTPOST_ABI_DEVICE=1 \
  ASAN_OPTIONS=detect_leaks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS} \
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS} \
  run_bounded "$TIMEOUT" "$tmp/abi_test" || status=$?
[[ $status -eq 0 ]] || fail "abi_test exited with status $status"
say "abi_test passed"

# --- 5. install and pkg-config ----------------------------------------------
prefix=$tmp/prefix
say "installing $BUILD_DIR into a temporary prefix"
cmake --install "$BUILD_DIR" --prefix "$prefix" >"$tmp/install.log" 2>&1 \
  || { cat "$tmp/install.log" >&2; fail "cmake --install $BUILD_DIR failed"; }
pc=$(find "$prefix" -name outpost.pc -print -quit)
[[ -n $pc ]] || fail "cmake --install put no outpost.pc under the prefix"
PKG_CONFIG_PATH=$(dirname "$pc")
export PKG_CONFIG_PATH
libdir=$(pkg-config --variable=libdir outpost)
includedir=$(pkg-config --variable=includedir outpost)
for f in "$includedir/outpost.h" "$libdir/liboutpost.so" "$libdir/liboutpost.so.$abi"; do
  [[ -e $f ]] || fail "cmake --install did not install $f"
done
# The example of docs/embedding.md, built as a user builds it.
# shellcheck disable=SC2046 # pkg-config's output is words
cc -std=c99 -Wall -Wextra -Werror -pedantic bindings/c/example.c -o "$tmp/example" \
  $(pkg-config --cflags --libs outpost) \
  || fail "bindings/c/example.c does not build with pkg-config --cflags --libs outpost"
output=$(LD_LIBRARY_PATH=$libdir "$tmp/example" "sqlite:$tmp/example.db") \
  || fail "the example against the installed library failed: $output"
version=$(pkg-config --modversion outpost)
[[ $(head -n 1 <<<"$output") == "outpost $version (ABI $abi)" ]] \
  || fail "the example printed '$(head -n 1 <<<"$output")', outpost.pc says $version"
# The revision docs/embedding.md shows for the example's record.
grep -q '"revision":"1-ffd9fefeb88117e7a8d9f362e981a73a"' <<<"$output" \
  || fail "the example's output differs from docs/embedding.md: $output"
say "installed library works: bindings/c/example.c built with pkg-config ran (outpost $version)"

# --- 6. the Python binding ---------------------------------------------------
# The first python3 with pytest (a pyenv python3 may shadow Debian's).
python=
for candidate in python3 /usr/bin/python3; do
  if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import pytest' 2>/dev/null; then
    python=$candidate
    break
  fi
done
[[ -n $python ]] || fail "no python3 with pytest (run: make deps, it installs python3-pytest)"
say "running the Python tests ($python -m pytest)"
status=0
OUTPOST_LIBRARY=$lib OUTPOST_BIN=$cli PYTHONDONTWRITEBYTECODE=1 \
  PYTHONPATH=$PWD/bindings/python${PYTHONPATH:+:$PYTHONPATH} \
  run_bounded "$TIMEOUT" "$python" -m pytest -q -p no:cacheprovider bindings/python/tests || status=$?
[[ $status -eq 0 ]] || fail "the Python tests failed (status $status)"

say "passed"
