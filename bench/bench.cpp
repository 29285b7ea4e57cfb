#include "bench/bench.h"

#include <algorithm>

#include "bench/bench_capi.h"
#include "bench/bench_console.h"
#include "bench/bench_http.h"
#include "bench/bench_link.h"
#include "bench/bench_put.h"
#include "bench/bench_replicate.h"
#include "bench/bench_scope.h"

namespace outpost {

namespace {

constexpr BenchScenario kScenarios[] = {
    {"put", "local writes through Engine::write vs raw SQLite inserts (batched, then single)",
     run_put_bench},
    {"replicate", "in-process replication SQLite to SQLite, and catching up after many edits",
     run_replicate_bench},
    {"http", "push and pull over HTTP to a server process vs in-process replication",
     run_http_bench},
    {"link",
     "1% push, 1% pull, idle sync and first pull over simulated field links (fast, 3G, 2G, 2G "
     "with drops) to a server process",
     run_link_bench},
    {"scope",
     "pull one district of a large database into a scoped device vs from a database holding "
     "only it",
     run_scope_bench},
    {"capi", "batched writes through the C ABI (outpost_bulk_docs) and from Python vs the C++ API",
     run_capi_bench},
    {"console",
     "the web console's overview page loaded over loopback from a hub of many records and "
     "tokens vs counting the records by paging",
     run_console_bench},
};

}  // namespace

std::span<const BenchScenario> bench_scenarios() { return kScenarios; }

const BenchScenario* find_bench_scenario(std::string_view name) {
  auto it = std::find_if(std::begin(kScenarios), std::end(kScenarios),
                         [&](const BenchScenario& s) { return s.name == name; });
  return it == std::end(kScenarios) ? nullptr : &*it;
}

}  // namespace outpost
