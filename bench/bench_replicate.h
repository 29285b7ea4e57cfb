// The `replicate` scenario: in-process replication SQLite → SQLite through
// reconciler::replicate, in fresh databases in a temporary directory.
//   replicate    N records (BenchOptions::records) copied to an empty target;
//                the baseline is writing the same records locally through
//                Engine::write in the same batches (what it cost to make them).
//   catch_up     a device holding 100 records catches up after 10 000 edits
//                to them on the other side (100 each); the baseline is
//                copying 100 fresh records, so a ratio near 1 means catching
//                up costs what the records cost, not what the edits did.
// Figures only, never a pass or a fail.
// Thread-safety: see bench.h.
#pragma once

#include "bench/bench.h"

namespace outpost {

// Throws Error(unavailable) for a backend the scenario does not cover.
BenchReport run_replicate_bench(const BenchOptions& options);

}  // namespace outpost
