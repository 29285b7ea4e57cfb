// The `http` scenario: replication between a device database and a server
// that is a separate process (`outpost serve --no-auth` on 127.0.0.1 port 0,
// started from this same binary), over loopback, against the same
// replication done in process in the same run:
//   push         N records from the device to the empty hub
//   pull         the hub's N records into an empty device
//   push 1%      after updating 1% of the records on the device (incremental)
//   pull 1%      the same 1% into the device that pulled before
//   slow link    push 1% and pull 1% again, through a DelayProxy that makes
//                every round trip take 50 ms (the time counted in round trips)
// The hub is a SQLite file in a temporary directory, or, with --db
// postgres:..., a fresh database created on that PostgreSQL server (and
// dropped at the end). The in-process baseline is always SQLite to SQLite
// (device → local hub → device), on the same records in the same run.
// Figures only, never a pass or a fail.
// Thread-safety: see bench.h.
#pragma once

#include "bench/bench.h"

namespace outpost {

BenchReport run_http_bench(const BenchOptions& options);

}  // namespace outpost
