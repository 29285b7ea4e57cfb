// The hub part of the `scope` scenario (bench_scope.h, DESIGN.md section
// 14): tokens with scopes, through `outpost serve` processes started from
// this binary with authentication on, on the databases the in-process part
// filled (closed by then; a SQLite file or a PostgreSQL schema each).
//   token_pull    a fresh device pulls with a token scoped to one district
//                 of the large hub (adopting the token's scope first, as
//                 `outpost sync` does); the baseline pulls with an unscoped
//                 token from a hub holding only that district.
//   devices       BenchOptions::devices devices (SQLite files), each with a
//                 token for a district of its own, pulled once (untimed);
//                 then 1% of every district changes on the hub (through an
//                 admin token) and every device syncs one round (push and
//                 pull, `outpost sync`): first one at a time (the baseline),
//                 then, after as many changes again, all at once, each on
//                 its own thread and connections. Aggregate rate and the
//                 p50/p99 time per device.
//   hub_memory    a fresh server answers BenchOptions::tokens requests
//                 (records lists and feed reads, limit 10, a new connection
//                 each, 4 client threads), each with its own token of a
//                 distinct scope; another fresh server the same requests with
//                 one token. The servers' resident memory (VmRSS, and the peak
//                 VmHWM, of the `outpost serve` process) after each.
// Thread-safety: see bench.h.
#pragma once

#include <filesystem>
#include <string>

#include "bench/bench.h"

namespace outpost {

struct ScopeHubDatabases {
  std::string large_url;      // engine URL: every district, `records` records
  std::string small_url;      // engine URL: the pulled district only
  size_t records = 0;         // in the large database, record i in district i mod kDistricts
  size_t pulled = 0;          // the district the token_pull figure pulls
  std::filesystem::path dir;  // scratch space for devices and server output
};

// Creates the tokens it needs in both databases, then adds its figures to
// `report`. `devices` 0 skips the devices figure, `tokens` 0 hub_memory.
void run_scope_hub_benches(const BenchOptions& options, const ScopeHubDatabases& dbs,
                           BenchReport& report);

}  // namespace outpost
