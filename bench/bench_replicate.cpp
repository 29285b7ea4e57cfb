#include "bench/bench_replicate.h"

#include <stdlib.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "api/engine.h"
#include "api/error.h"
#include "bench/bench_common.h"
#include "client/http_engine.h"
#include "reconciler/replicator.h"

namespace outpost {

namespace {

constexpr const char* kTable = kBenchTable;
constexpr size_t kCatchUpRecords = 100;
constexpr size_t kCatchUpEdits = 10000;
constexpr size_t kDeepEdits = 10000;

std::unique_ptr<Engine> fresh(const BenchOptions& options, const std::filesystem::path& file) {
  OpenOptions open_options;
  open_options.durability = options.durability;
  std::unique_ptr<Engine> engine = open_engine("sqlite:" + file.string(), open_options);
  engine->put_table(bench_table());
  return engine;
}

// Writes records [0, count) (version 0), `batch` per write call; returns seconds.
double fill(const BenchOptions& options, Engine& engine, size_t count, size_t batch,
            std::string_view stage) {
  std::vector<Edit> edits;
  const auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < count; ++i) {
    Edit e;
    e.table = kTable;
    e.id = bench_record_id(i);
    e.attributes = bench_record(i, 0);
    edits.push_back(std::move(e));
    if (edits.size() == batch || i + 1 == count) {
      for (const WriteResult& r : engine.write(edits)) {
        if (r.error) throw *r.error;
      }
      edits.clear();
      options.notify(stage, i + 1, count);
    }
  }
  return seconds_since(start);
}

// Replicates source → target; returns seconds. Throws the run's fatal error.
double timed_replicate(const BenchOptions& options, Engine& source, Engine& target,
                       std::string_view stage, size_t expected) {
  ReplicationOptions ro;
  ro.batch_size = options.batch == 0 ? 1000 : options.batch;
  ro.progress = [&](const ReplicationProgress& p) {
    options.notify(stage, static_cast<size_t>(p.changes_read), expected);
  };
  const auto start = std::chrono::steady_clock::now();
  ReplicationReport report = replicate(source, target, ro);
  const double seconds = seconds_since(start);
  if (report.fatal) throw *report.fatal;
  if (!report.errors.empty()) {
    throw Error(report.errors[0].code, "bench: replication reported " +
                                           std::to_string(report.errors.size()) +
                                           " errors, the first: " + report.errors[0].message);
  }
  return seconds;
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

// One record edited kDeepEdits times on a device offline, then pushed to a
// hub that knows only its first revision: over HTTP to `outpost serve`
// (time and bytes), against the same push in process. The whole path down
// to the revision the hub knows is sent (DESIGN §4): no false conflict.
BenchFigure deep_catch_up(const BenchOptions& options, const std::filesystem::path& dir) {
  auto device = fresh(options, dir / "deep_device.db");
  auto local_hub = fresh(options, dir / "deep_local_hub.db");
  ServerProcess server(dir, "sqlite:" + (dir / "deep_hub.db").string(), options.durability);
  std::unique_ptr<HttpEngine> hub = open_http_engine(server.url(), {});
  const std::string id = bench_record_id(0);
  Revision tip = put_record(*device, kTable, id, {}, bench_record(0, 0)).revision;
  timed_replicate(options, *device, *local_hub, "deep catch-up setup", 1);
  timed_replicate(options, *device, *hub, "deep catch-up setup", 1);
  for (size_t edit = 1; edit <= kDeepEdits; ++edit) {
    tip = put_record(*device, kTable, id, tip, bench_record(0, edit)).revision;
    if (edit % 1000 == 0) options.notify("deep catch-up edits", edit, kDeepEdits);
  }
  BenchFigure figure;
  figure.name = "deep_catch_up";
  figure.records = 1;
  figure.per_transaction = 1;
  figure.baseline_seconds = timed_replicate(options, *device, *local_hub, "deep catch-up", 1);
  const uint64_t bytes_before = hub->bytes_moved();
  figure.engine_seconds = timed_replicate(options, *device, *hub, "deep catch-up over HTTP", 1);
  const uint64_t bytes = hub->bytes_moved() - bytes_before;
  for (Engine* target : {static_cast<Engine*>(local_hub.get()), static_cast<Engine*>(hub.get())}) {
    GetOptions with_conflicts;
    with_conflicts.conflicts = true;
    std::optional<Record> got = target->get(kTable, id, with_conflicts);
    if (!got || got->revision != tip || !got->conflicts || !got->conflicts->empty()) {
      throw Error(ErrorCode::internal, "bench: the deep catch-up did not converge cleanly");
    }
  }
  char label[200];
  std::snprintf(label, sizeof label,
                "catch up one record edited %zu times offline: over HTTP %.3f s, %.0f KB sent "
                "and received, vs in process %.3f s",
                kDeepEdits, figure.engine_seconds, static_cast<double>(bytes) / 1000,
                figure.baseline_seconds);
  figure.label = label;
  return figure;
}

}  // namespace

BenchReport run_replicate_bench(const BenchOptions& options) {
  const std::string url = options.db_url.empty() ? default_database_url() : options.db_url;
  if (!starts_with(url, "sqlite:") && url.find("://") != std::string::npos) {
    throw Error(ErrorCode::unavailable,
                "'outpost bench replicate' measures SQLite to SQLite in process; use --db sqlite:");
  }
  if (starts_with(url, "postgres:")) {
    throw Error(ErrorCode::unavailable,
                "the PostgreSQL variant of 'outpost bench replicate' is not available yet; "
                "run it with --db sqlite:");
  }
  if (options.records == 0) throw Error(ErrorCode::invalid_value, "bench: --records must be > 0");
  const size_t batch = options.batch == 0 ? 1000 : options.batch;

  ScratchDir dir(options.dir);
  BenchReport result;
  result.scenario = "replicate";
  result.backend = "sqlite";
  result.durability = options.durability == Durability::full ? "full" : "normal";
  result.baseline = "local";
  result.location = dir.path().parent_path().string();

  {
    auto source = fresh(options, dir.path() / "source.db");
    auto target = fresh(options, dir.path() / "target.db");
    BenchFigure full;
    full.name = "replicate";
    full.label =
        "replicate to an empty target (" + std::to_string(batch) + "/batch) vs local write";
    full.records = options.records;
    full.per_transaction = batch;
    full.baseline_seconds = fill(options, *source, options.records, batch, "local write");
    full.engine_seconds = timed_replicate(options, *source, *target, "replicate", options.records);
    if (!target->get(kTable, bench_record_id(options.records - 1))) {
      throw Error(ErrorCode::internal, "bench: the last record did not arrive");
    }
    result.figures.push_back(full);
  }

  {
    auto device = fresh(options, dir.path() / "device.db");
    auto hub = fresh(options, dir.path() / "hub.db");
    auto empty = fresh(options, dir.path() / "empty.db");
    fill(options, *hub, kCatchUpRecords, kCatchUpRecords, "catch-up setup");
    // Baseline: copying the 100 records once, to a target that has nothing.
    const double fresh_copy =
        timed_replicate(options, *hub, *empty, "catch-up baseline", kCatchUpRecords);
    timed_replicate(options, *hub, *device, "catch-up setup", kCatchUpRecords);
    // The device goes offline; the hub edits every record 100 times.
    std::vector<Revision> tips(kCatchUpRecords);
    for (size_t i = 0; i < kCatchUpRecords; ++i)
      tips[i] = hub->get(kTable, bench_record_id(i))->revision;
    const size_t rounds = kCatchUpEdits / kCatchUpRecords;
    for (size_t round = 1; round <= rounds; ++round) {
      std::vector<Edit> edits;
      for (size_t i = 0; i < kCatchUpRecords; ++i) {
        Edit e;
        e.table = kTable;
        e.id = bench_record_id(i);
        e.parent = tips[i];
        e.attributes = bench_record(i, round);
        edits.push_back(std::move(e));
      }
      std::vector<WriteResult> results = hub->write(edits);
      for (size_t i = 0; i < results.size(); ++i) {
        if (results[i].error) throw *results[i].error;
        tips[i] = results[i].revision;
      }
      options.notify("catch-up edits", round * kCatchUpRecords, kCatchUpEdits);
    }
    BenchFigure catch_up;
    catch_up.name = "catch_up";
    catch_up.records = kCatchUpRecords;
    catch_up.per_transaction = batch;
    catch_up.engine_seconds = timed_replicate(options, *hub, *device, "catch-up", kCatchUpRecords);
    catch_up.baseline_seconds = fresh_copy;
    char label[160];
    std::snprintf(label, sizeof label,
                  "catch up %zu edits to %zu records (%.3f s) vs copying them fresh (%.3f s)",
                  kCatchUpEdits, kCatchUpRecords, catch_up.engine_seconds, fresh_copy);
    catch_up.label = label;
    if (device->get(kTable, bench_record_id(0))->revision != tips[0]) {
      throw Error(ErrorCode::internal, "bench: the device did not catch up");
    }
    result.figures.push_back(catch_up);
  }

  result.figures.push_back(deep_catch_up(options, dir.path()));
  return result;
}

}  // namespace outpost
