// The `scope` scenario (DESIGN.md section 14): what a scoped device pays
// to pull one district out of a large database, in process and through a hub.
//   initial_pull  a database of 10 × N records in 100 districts (N is
//                 BenchOptions::records: 1 000 000 records by default) on the
//                 --db backend; one district is pulled into a fresh scoped
//                 SQLite device. The baseline pulls the same records from a
//                 database that holds only them, so a ratio near 1 means the
//                 cost does not depend on the size of the database.
//   incremental   10 000 changes across the large database, 1% of them in
//                 the district, then the device's next sync; the baseline is
//                 the same 100 changes synced from the small database.
// The device's peak RSS during the initial pull is printed with it.
// Then the same two databases serve as hubs through `outpost serve` with
// tokens (bench_scope_hub.h): token_pull, devices and hub_memory.
// Figures only, never a pass or a fail.
// Thread-safety: see bench.h.
#pragma once

#include "bench/bench.h"

namespace outpost {

BenchReport run_scope_bench(const BenchOptions& options);

}  // namespace outpost
