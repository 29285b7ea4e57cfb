#include "bench/bench_scope.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>

#include "api/engine.h"
#include "api/error.h"
#include "api/scope.h"
#include "bench/bench_common.h"
#include "bench/bench_scope_hub.h"
#include "bench/pg_raw_baseline.h"
#include "bench/scope_households.h"
#include "reconciler/replicator.h"
#include "reconciler/scoping.h"

namespace outpost {

namespace {

constexpr const char* kTable = kHouseholds;
constexpr size_t kDistrict = 7;  // the one pulled
constexpr size_t kIncrementalChanges = 10000;
constexpr size_t kBatch = kScopeBatch;

Table households() { return households_table(); }

std::string district_of(size_t i) { return district_name(i); }

// Writes the records i for which `take(i)` holds, of [0, count).
template <typename Take>
void fill(const BenchOptions& options, Engine& engine, size_t count, Take take,
          std::string_view stage) {
  fill_households(options, engine, count, take, stage);
}

// Updates the records `ids` (indexes) to version 1.
void update(Engine& engine, const std::vector<size_t>& indexes) {
  update_households(engine, indexes, 1);
}

// Peak resident memory of this process (VmHWM), in KiB; reset_peak() starts
// a new measurement where the kernel allows it.
size_t peak_rss_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoul(line.substr(6));
  }
  return 0;
}

void reset_peak() {
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5";
}

std::unique_ptr<Engine> device(const std::filesystem::path& file, const Scope& scope,
                               const BenchOptions& options) {
  OpenOptions open_options;
  open_options.durability = options.durability;
  std::unique_ptr<Engine> engine = open_engine("sqlite:" + file.string(), open_options);
  engine->put_table(households());
  set_database_scope(*engine, scope);
  return engine;
}

double timed_sync(Engine& source, Engine& target, size_t expected) {
  ReplicationOptions ro;
  ro.batch_size = kBatch;
  const auto start = std::chrono::steady_clock::now();
  ReplicationReport report = replicate(source, target, ro);
  const double seconds = seconds_since(start);
  if (report.fatal) throw *report.fatal;
  if (!report.errors.empty()) {
    throw Error(report.errors[0].code, "bench: " + report.errors[0].message);
  }
  if (report.revisions_written < expected) {
    throw Error(ErrorCode::internal, "bench: the scoped pull wrote " +
                                         std::to_string(report.revisions_written) +
                                         " revisions, expected " + std::to_string(expected));
  }
  return seconds;
}

}  // namespace

BenchReport run_scope_bench(const BenchOptions& options) {
  const bool postgres = options.db_url.starts_with("postgres:");
  BenchReport report;
  report.scenario = "scope";
  report.backend = postgres ? "postgres" : "sqlite";
  report.durability = options.durability == Durability::full ? "full" : "normal";
  report.baseline = "small";
  ScratchDir dir(options.dir);
  report.location = dir.path().string();

  std::optional<ScratchSchema> big_schema, small_schema;
  ScopeHubDatabases hub_dbs;
  auto open_source = [&](std::optional<ScratchSchema>& schema, const std::string& name) {
    OpenOptions open_options;
    open_options.durability = options.durability;
    std::string url;
    if (postgres) {
      schema.emplace(options.db_url, name);
      url = schema->engine_url();
    } else {
      url = "sqlite:" + (dir.path() / (name + ".db")).string();
    }
    std::unique_ptr<Engine> engine = open_engine(url, open_options);
    engine->put_table(households());
    (name == "scope_big" ? hub_dbs.large_url : hub_dbs.small_url) = url;
    return engine;
  };

  const size_t total = std::max<size_t>(options.records * 10, kDistricts);
  auto in_district = [](size_t i) { return i % kDistricts == kDistrict; };
  std::unique_ptr<Engine> big = open_source(big_schema, "scope_big");
  fill(
      options, *big, total, [](size_t) { return true; }, "scope: large database");
  std::unique_ptr<Engine> small = open_source(small_schema, "scope_small");
  fill(options, *small, total, in_district, "scope: district-only database");
  const size_t district_records = (total - kDistrict + kDistricts - 1) / kDistricts;

  Scope scope = parse_scope(std::string(kTable) + ": district = '" + district_of(kDistrict) + "'",
                            {households()});
  // The source's scope indexes exist before anything is timed, as they
  // would on a hub whose tokens name the column, and PostgreSQL has the
  // statistics its autovacuum would have gathered after the load.
  big->prepare_scope(scope);
  small->prepare_scope(scope);
  if (postgres) {
    options.notify("scope: VACUUM ANALYZE", 0, 1);
    pg_vacuum_analyze(big_schema->conninfo());
    pg_vacuum_analyze(small_schema->conninfo());
  }

  std::unique_ptr<Engine> from_big = device(dir.path() / "device_big.db", scope, options);
  std::unique_ptr<Engine> from_small = device(dir.path() / "device_small.db", scope, options);

  options.notify("scope: initial pull", 0, district_records);
  const double small_seconds = timed_sync(*small, *from_small, district_records);
  reset_peak();
  const size_t rss_before = peak_rss_kib();
  const double big_seconds = timed_sync(*big, *from_big, district_records);
  const size_t rss_peak = peak_rss_kib();
  (void)rss_before;

  BenchFigure initial;
  initial.name = "initial_pull";
  initial.label = "initial pull of 1 district of " + std::to_string(total) + " records (peak RSS " +
                  std::to_string(rss_peak / 1024) + " MiB)";
  initial.records = district_records;
  initial.per_transaction = kBatch;
  initial.engine_seconds = big_seconds;
  initial.baseline_seconds = small_seconds;
  report.figures.push_back(initial);

  // 10 000 changes across the large database, 1% in the district.
  std::vector<size_t> changed, changed_in_district;
  for (size_t i = 0; changed.size() < std::min(kIncrementalChanges, total) && i < total; ++i) {
    bool inside = in_district(i);
    if (inside && changed_in_district.size() >= kIncrementalChanges / 100) continue;
    changed.push_back(i);
    if (inside) changed_in_district.push_back(i);
  }
  options.notify("scope: incremental changes", 0, changed.size());
  update(*big, changed);
  update(*small, changed_in_district);
  const double small_incremental = timed_sync(*small, *from_small, changed_in_district.size());
  const double big_incremental = timed_sync(*big, *from_big, changed_in_district.size());

  BenchFigure incremental;
  incremental.name = "incremental";
  incremental.label = "incremental sync: " + std::to_string(changed.size()) + " changes, " +
                      std::to_string(changed_in_district.size()) + " in the district";
  incremental.records = changed_in_district.size();
  incremental.per_transaction = kBatch;
  incremental.engine_seconds = big_incremental;
  incremental.baseline_seconds = small_incremental;
  report.figures.push_back(incremental);

  // The same databases as hubs, through `outpost serve` with tokens.
  big.reset();
  small.reset();
  from_big.reset();
  from_small.reset();
  hub_dbs.records = total;
  hub_dbs.pulled = kDistrict;
  hub_dbs.dir = dir.path();
  run_scope_hub_benches(options, hub_dbs, report);
  return report;
}

}  // namespace outpost
