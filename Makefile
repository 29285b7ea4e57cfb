# outpost — entry points (DESIGN.md; CI runs .ci/run, which runs "make test").
#
#   make deps    install missing Debian packages (scripts/install-deps.sh)
#   make build   configure with CMake and build into $(BUILD_DIR)
#   make run     deps + build + scripts/run.sh   (OUTPOST_DB, RUN_ARGS)
#   make test    deps + build + scripts/test.sh  (TEST_ARGS passed to doctest;
#                then scripts/test-abi.sh tests liboutpost.so, the C ABI, and
#                scripts/test-ui.sh the web console in headless Chromium,
#                saving screenshots under $(BUILD_DIR)/ui-shots)
#   make screenshots  build + the console's browser tests, copying their
#                screenshots into docs/images/ (docs/operations.md)
#   make install build + cmake --install: include/outpost.h, liboutpost.so*,
#                outpost.pc (pkg-config) and the outpost CLI into $(PREFIX)
#                (default /usr/local; GNUInstallDirs), staged under $(DESTDIR)
#                when set: make install PREFIX=/usr DESTDIR=/tmp/stage
#                (stripped; as root without DESTDIR, ldconfig runs after)
#   make device  build only liboutpost.so, without PostgreSQL (libpq), server,
#                CLI or tests (-DOUTPOST_DEVICE=ON), into $(BUILD_DIR)-device
#   make fuzz    build the libFuzzer targets with clang into build-fuzz and
#                run each for FUZZ_SECONDS (default here 600; make test runs
#                them for 30 s each) after replaying test/fuzz/regressions/;
#                FUZZ_FILTER=json picks targets by name (scripts/fuzz.sh,
#                docs/fuzzing.md)
#   make clean   remove $(BUILD_DIR), $(BUILD_DIR)-device* and build-fuzz

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

BUILD_DIR  ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
PREFIX     ?= /usr/local
DESTDIR    ?=
FUZZ_SECONDS ?= 600
FUZZ_FILTER  ?=

export BUILD_DIR

.PHONY: all deps configure build run test screenshots install device fuzz clean

all: build

deps:
	bash scripts/install-deps.sh

configure: deps
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

build: configure
	cmake --build $(BUILD_DIR) -j$(JOBS)

run: build
	bash scripts/run.sh

test: build
	bash scripts/test.sh

screenshots: build
	OUTPOST_UI_DOCS_SHOTS=docs/images bash scripts/test-ui.sh -k screenshots

# Stripped copies; then, installing for real as root, ldconfig, so that the
# loader finds liboutpost.so.1 under /usr/local/lib at once.
install: build
	DESTDIR="$(DESTDIR)" cmake --install $(BUILD_DIR) --prefix "$(PREFIX)" --strip
	if [[ -z "$(DESTDIR)" && $$(id -u) -eq 0 ]] && command -v ldconfig >/dev/null; then ldconfig; fi

device: deps
	cmake -S . -B $(BUILD_DIR)-device -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DOUTPOST_DEVICE=ON
	cmake --build $(BUILD_DIR)-device -j$(JOBS)

fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash scripts/fuzz.sh $(FUZZ_FILTER)

clean:
	rm -rf $(BUILD_DIR) $(BUILD_DIR)-device $(BUILD_DIR)-device-asan build-fuzz
