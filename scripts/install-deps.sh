#!/usr/bin/env bash
# Install the Debian 12 packages outpost needs to build, run and test.
#
#   scripts/install-deps.sh [--check|--dry-run] [PACKAGE...]
#
# Idempotent and fast: asks dpkg-query what is installed and only touches apt
# when something is missing ("apt-get update" once, then one "apt-get install").
# As non-root it cannot install; it names what is missing and fails.
#   --check    only report; exit 1 if anything is missing
#   --dry-run  print the apt commands instead of running them
#   PACKAGE... check/install these instead of the default list (for testing)
set -euo pipefail

DEFAULT_PACKAGES=(
  g++ cmake make pkg-config
  libsqlite3-dev libpq-dev libboost1.81-dev rapidjson-dev libssl-dev doctest-dev
  libzstd-dev zlib1g-dev   # HTTP body compression (docs/dependencies.md)
  postgresql   # server for the tests (pulls postgresql-15)
  openssl      # CLI, for test certificates
  procps
  clang-format # make test checks the formatting (scripts/check-format.sh)
  # scripts/test-abi.sh: the C ABI test is built with the C compiler, the
  # library checked with readelf/nm/strip, the Python binding's tests run
  gcc binutils python3 python3-pytest
  # scripts/test-ui.sh: the web console in a real browser, driven over the
  # DevTools protocol (test/ui/cdp.py uses Debian's WebSocket client)
  chromium python3-websocket fonts-dejavu-core
  # scripts/fuzz.sh: the libFuzzer targets are built with clang; their
  # runtime (libclang_rt.fuzzer) is only a Recommends of clang-14, and
  # llvm gives the sanitizers llvm-symbolizer for readable stacks
  clang libclang-rt-14-dev llvm
  # scripts/test-hostile.sh: the zstd command builds the zstd bomb answers
  zstd
)

mode=install
packages=()
for arg in "$@"; do
  case "$arg" in
    --check) mode=check ;;
    --dry-run) mode=dry-run ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "install-deps: unknown option $arg" >&2; exit 2 ;;
    *) packages+=("$arg") ;;
  esac
done
[[ ${#packages[@]} -gt 0 ]] || packages=("${DEFAULT_PACKAGES[@]}")

is_installed() {
  [[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" == installed ]]
}

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "install-deps: dpkg-query not found; this script supports Debian 12 only." >&2
  echo "install-deps: install by hand: ${packages[*]}" >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  is_installed "$p" || missing+=("$p")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  [[ $mode == install ]] || echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: missing packages: ${missing[*]}" >&2
case "$mode" in
  check) exit 1 ;;
  dry-run) run() { echo "+ $*"; } ;;
  install)
    if [[ $(id -u) -ne 0 ]]; then
      echo "install-deps: not root; as root run: apt-get update && apt-get install -y ${missing[*]}" >&2
      exit 1
    fi
    run() { echo "+ $*" >&2; "$@"; } ;;
esac

export DEBIAN_FRONTEND=noninteractive
apt_opts=(-y -q -o DPkg::Lock::Timeout=300)
run apt-get "${apt_opts[@]}" update
run apt-get "${apt_opts[@]}" install --no-install-recommends "${missing[@]}"

if [[ $mode == install ]]; then
  still=()
  for p in "${missing[@]}"; do is_installed "$p" || still+=("$p"); done
  if [[ ${#still[@]} -gt 0 ]]; then
    echo "install-deps: still not installed after apt-get: ${still[*]}" >&2
    exit 1
  fi
  echo "install-deps: installed ${missing[*]}" >&2
fi
