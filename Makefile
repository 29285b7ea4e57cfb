# outpost — entry points (DESIGN.md; CI runs .ci/run, which runs "make test").
#
#   make deps    install missing Debian packages (scripts/install-deps.sh)
#   make build   configure with CMake and build into $(BUILD_DIR)
#   make run     deps + build + scripts/run.sh   (OUTPOST_DB, RUN_ARGS)
#   make test    deps + build + scripts/test.sh  (TEST_ARGS passed to doctest)
#   make clean   remove $(BUILD_DIR)

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

BUILD_DIR  ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)

export BUILD_DIR

.PHONY: all deps configure build run test clean

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

clean:
	rm -rf $(BUILD_DIR)
