// The `put` scenario: local writes through Engine::write against the raw
// SQLite baseline (bench/sqlite_raw_baseline.h), once batched
// (BenchOptions::batch records per write call and transaction) and once one
// durable write per record. Each figure uses fresh database files in a
// temporary directory, removed afterwards.
// Thread-safety: see bench.h.
#pragma once

#include <cstddef>

#include "bench/bench.h"
#include "bench/sqlite_raw_baseline.h"

namespace outpost {

// Record i of the benchmark: id "rec00000042" and six columns of mixed types.
BaselineRow bench_row(size_t i);

// Throws Error(unavailable) for a backend the scenario does not cover yet.
BenchReport run_put_bench(const BenchOptions& options);

}  // namespace outpost
