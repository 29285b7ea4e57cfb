#include "bench/bench_replicate.h"

#include <stdlib.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "api/engine.h"
#include "api/error.h"
#include "reconciler/replicator.h"

namespace outpost {

namespace {

constexpr const char* kTable = "items";
constexpr size_t kCatchUpRecords = 100;
constexpr size_t kCatchUpEdits = 10000;

// A fresh directory, removed with everything in it at the end of its scope.
class ScratchDir {
 public:
  explicit ScratchDir(const std::filesystem::path& parent) {
    std::error_code ec;
    std::filesystem::path base = parent.empty() ? std::filesystem::temp_directory_path(ec) : parent;
    if (ec) base = "/tmp";
    std::string pattern = (base / "outpost-bench-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      throw Error(ErrorCode::unavailable, "cannot create a temporary directory in " +
                                              base.string() + ": " + std::strerror(errno));
    }
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

Table bench_table() {
  return Table{kTable,
               {{"name", ValueType::string, true},
                {"city", ValueType::string, false},
                {"qty", ValueType::int_, false},
                {"seq", ValueType::int_, false},
                {"price", ValueType::float_, false},
                {"active", ValueType::bool_, false}}};
}

std::string record_id(size_t i) {
  char id[32];
  std::snprintf(id, sizeof id, "rec%08zu", i);
  return id;
}

Attributes record_body(size_t i, size_t version) {
  static const char* const kCities[] = {"Oslo",  "Lagos", "Lima",  "Hanoi",
                                        "Quito", "Perth", "Porto", "Dhaka"};
  Attributes a;
  a.emplace("name",
            Value::from_string("item-" + std::to_string(i) + "-v" + std::to_string(version)));
  a.emplace("city", Value::from_string(kCities[(i + version) % 8]));
  a.emplace("qty", Value::from_int(static_cast<int64_t>((i * 7919 + version) % 1000)));
  a.emplace("seq", Value::from_int(static_cast<int64_t>(i)));
  a.emplace("price", Value::from_float(static_cast<double>((i * 31 + version) % 10000) / 100.0));
  a.emplace("active", Value::from_bool((i + version) % 3 != 0));
  return a;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void notify(const BenchOptions& options, std::string_view stage, size_t done, size_t total) {
  if (options.progress) options.progress(stage, done, total);
}

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
    e.id = record_id(i);
    e.attributes = record_body(i, 0);
    edits.push_back(std::move(e));
    if (edits.size() == batch || i + 1 == count) {
      for (const WriteResult& r : engine.write(edits)) {
        if (r.error) throw *r.error;
      }
      edits.clear();
      notify(options, stage, i + 1, count);
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
    notify(options, stage, static_cast<size_t>(p.changes_read), expected);
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
    if (!target->get(kTable, record_id(options.records - 1))) {
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
    for (size_t i = 0; i < kCatchUpRecords; ++i) tips[i] = hub->get(kTable, record_id(i))->revision;
    const size_t rounds = kCatchUpEdits / kCatchUpRecords;
    for (size_t round = 1; round <= rounds; ++round) {
      std::vector<Edit> edits;
      for (size_t i = 0; i < kCatchUpRecords; ++i) {
        Edit e;
        e.table = kTable;
        e.id = record_id(i);
        e.parent = tips[i];
        e.attributes = record_body(i, round);
        edits.push_back(std::move(e));
      }
      std::vector<WriteResult> results = hub->write(edits);
      for (size_t i = 0; i < results.size(); ++i) {
        if (results[i].error) throw *results[i].error;
        tips[i] = results[i].revision;
      }
      notify(options, "catch-up edits", round * kCatchUpRecords, kCatchUpEdits);
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
    if (device->get(kTable, record_id(0))->revision != tips[0]) {
      throw Error(ErrorCode::internal, "bench: the device did not catch up");
    }
    result.figures.push_back(catch_up);
  }
  return result;
}

}  // namespace outpost
