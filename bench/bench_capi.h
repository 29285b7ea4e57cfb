// The `capi` scenario: the same batched writes as `put` (bench_row's
// records, BenchOptions::batch per transaction) through the C++ API
// (Engine::write) and through the C ABI (include/outpost.h: the bulk_docs
// JSON built per batch, as a C program builds it, and outpost_bulk_docs),
// in one run on fresh SQLite files, in turns, the best of three rounds
// each; then from Python (best of three runs) (bindings/python,
// ctypes over liboutpost.so) when python3, the package and the library are
// found. The C++ API is the baseline: ratio = C ABI (or Python) rate / C++
// rate. Every path must store the same revision for the same record.
// Thread-safety: see bench.h.
#pragma once

#include "bench/bench.h"

namespace outpost {

BenchReport run_capi_bench(const BenchOptions& options);

}  // namespace outpost
