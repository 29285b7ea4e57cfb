// The `put` scenario: local writes through Engine::write against the raw
// SQLite baseline (bench/sqlite_raw_baseline.h), once batched
// (BenchOptions::batch records per write call and transaction) and once one
// durable write per record. Each figure uses fresh database files in a
// temporary directory, removed afterwards.
// Thread-safety: see bench.h.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "api/record.h"
#include "bench/bench.h"
#include "bench/sqlite_raw_baseline.h"

namespace outpost {

// Record i of the benchmark: id "rec00000042" and six columns of mixed types.
BaselineRow bench_row(size_t i);

// Record i as a local edit of table kBenchTable (bench_row's values).
Edit bench_edit(size_t i);

// Writes records [0, count) through Engine::write, `per_write` per call, from
// `writers` threads each taking an equal share, into the fresh database at
// `url` (creating the bench table). Returns the seconds the writes took.
double time_engine_writes(const BenchOptions& options, const std::string& url, size_t count,
                          size_t per_write, std::string_view stage, size_t writers = 1);

// Throws Error(unavailable) for a backend the scenario does not cover yet.
BenchReport run_put_bench(const BenchOptions& options);

}  // namespace outpost
