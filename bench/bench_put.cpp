#include "bench/bench_put.h"

#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <system_error>
#include <thread>

#include "api/engine.h"
#include "api/error.h"
#include "bench/bench_common.h"
#include "bench/pg_raw_baseline.h"

namespace outpost {

namespace {

constexpr const char* kTable = kBenchTable;
constexpr const char* kCities[] = {"Oslo",  "Lagos", "Lima",  "Hanoi",
                                   "Quito", "Perth", "Porto", "Dhaka"};

std::string base36(size_t v) {
  std::string out;
  do {
    const auto digit = static_cast<int>(v % 36);
    out.insert(out.begin(), static_cast<char>(digit < 10 ? '0' + digit : 'a' + digit - 10));
    v /= 36;
  } while (v > 0);
  return out;
}

// Where the writes of one figure go: a fresh SQLite file, or a fresh schema
// of the PostgreSQL database named by --db (dropped afterwards).
class Scratch {
 public:
  Scratch(const BenchOptions& options, const ScratchDir& dir, std::string url)
      : options_(options), dir_(dir), url_(std::move(url)) {}
  bool postgres() const { return is_postgres_url(url_); }

  // The URL of a fresh, empty database for the engine.
  std::string engine_url(const std::string& name) {
    if (!postgres()) return "sqlite:" + (dir_.path() / (name + ".db")).string();
    return new_schema(name).engine_url();
  }

  double time_baseline(size_t count, size_t per_transaction, std::string_view stage) {
    const size_t report_every = per_transaction > 1 ? per_transaction : 100;
    auto make_row = [this, count, report_every, stage](size_t i) {
      if (i > 0 && i % report_every == 0) options_.notify(stage, i, count);
      return bench_row(i);
    };
    if (postgres()) {
      PgBaselineOptions baseline;
      baseline.conninfo = new_schema("raw").conninfo();
      baseline.table = kTable;
      baseline.records = count;
      baseline.per_transaction = per_transaction;
      baseline.make_row = make_row;
      return run_pg_raw_baseline(baseline).seconds;
    }
    BaselineOptions baseline;
    baseline.path = (dir_.path() / ("raw-" + std::to_string(++files_) + ".db")).string();
    baseline.table = kTable;
    baseline.records = count;
    baseline.per_transaction = per_transaction;
    baseline.synchronous_full = options_.durability == Durability::full;
    baseline.make_row = make_row;
    return run_sqlite_raw_baseline(baseline).seconds;
  }

 private:
  const ScratchSchema& new_schema(const std::string& name) {
    schemas_.push_back(
        std::make_unique<ScratchSchema>(url_, name + "_" + std::to_string(++files_)));
    return *schemas_.back();
  }

  const BenchOptions& options_;
  const ScratchDir& dir_;
  std::string url_;
  std::vector<std::unique_ptr<ScratchSchema>> schemas_;
  int files_ = 0;
};

BenchFigure figure(std::string name, std::string label, size_t records, size_t per_transaction) {
  BenchFigure f;
  f.name = std::move(name);
  f.label = std::move(label);
  f.records = records;
  f.per_transaction = per_transaction;
  return f;
}

}  // namespace

Edit bench_edit(size_t i) {
  BaselineRow row = bench_row(i);
  Edit edit;
  edit.kind = Edit::Kind::put;
  edit.table = kTable;
  edit.id = std::move(row.id);
  edit.attributes.emplace("name", Value::from_string(std::move(row.name)));
  edit.attributes.emplace("city", Value::from_string(std::move(row.city)));
  edit.attributes.emplace("qty", Value::from_int(row.qty));
  edit.attributes.emplace("seq", Value::from_int(row.seq));
  edit.attributes.emplace("price", Value::from_float(row.price));
  edit.attributes.emplace("active", Value::from_bool(row.active));
  return edit;
}

double time_engine_writes(const BenchOptions& options, const std::string& url, size_t count,
                          size_t per_write, std::string_view stage, size_t writers) {
  OpenOptions open_options;
  open_options.durability = options.durability;
  std::unique_ptr<Engine> engine = open_engine(url, open_options);
  engine->put_table(bench_table());

  const size_t report_every = per_write > 1 ? per_write : 100;
  std::atomic<size_t> done{0};
  auto write_range = [&](size_t begin, size_t end) {
    std::vector<Edit> edits;
    edits.reserve(per_write);
    for (size_t i = begin; i < end; ++i) {
      edits.push_back(bench_edit(i));
      if (edits.size() == per_write || i + 1 == end) {
        for (const WriteResult& result : engine->write(edits)) {
          if (result.error) throw *result.error;
        }
        edits.clear();
      }
      size_t n = ++done;
      if (writers == 1 && n % report_every == 0) options.notify(stage, n, count);
    }
  };
  const auto start = std::chrono::steady_clock::now();
  if (writers <= 1) {
    write_range(0, count);
  } else {
    std::vector<std::thread> threads;
    std::vector<std::exception_ptr> failures(writers);
    for (size_t w = 0; w < writers; ++w) {
      threads.emplace_back([&, w] {
        try {
          write_range(count * w / writers, count * (w + 1) / writers);
        } catch (...) {
          failures[w] = std::current_exception();
        }
      });
    }
    for (std::thread& t : threads) t.join();
    for (const auto& failure : failures) {
      if (failure) std::rethrow_exception(failure);
    }
  }
  const double seconds = seconds_since(start);

  // The writes must really be there, or the figure means nothing.
  if (count > 0) {
    const std::string last = bench_row(count - 1).id;
    if (!engine->get(kTable, last)) {
      throw Error(ErrorCode::internal,
                  "bench: record " + last + " written by the engine is missing");
    }
  }
  return seconds;
}

BaselineRow bench_row(size_t i) {
  char id[32];
  std::snprintf(id, sizeof id, "rec%08zu", i);
  BaselineRow row;
  row.id = id;
  row.name = "item-" + base36(i);
  row.city = kCities[i % 8];
  row.qty = static_cast<int64_t>((i * 7919) % 1000);
  row.seq = static_cast<int64_t>(i);
  row.price = static_cast<double>((((i * 31) % 10000) * 137 + 50) / 100) / 100.0;
  row.active = i % 3 != 0;
  return row;
}

BenchReport run_put_bench(const BenchOptions& options) {
  const std::string url = options.db_url.empty() ? default_database_url() : options.db_url;
  if (url.starts_with("http:") || url.starts_with("https:")) {
    throw Error(ErrorCode::unavailable,
                "'outpost bench put' measures a local database, not a server; use --db sqlite: "
                "or --db postgres:...");
  }
  if (options.records == 0) throw Error(ErrorCode::invalid_value, "bench: --records must be > 0");

  ScratchDir dir(options.dir);
  Scratch scratch(options, dir, url);
  BenchReport result;
  result.scenario = "put";
  result.backend = scratch.postgres() ? "postgres" : "sqlite";
  result.durability = options.durability == Durability::full ? "full" : "normal";
  result.baseline = "raw";
  result.location =
      scratch.postgres() ? "fresh schemas of the --db database" : dir.path().parent_path().string();

  const size_t batch = options.batch == 0 ? 1 : options.batch;
  BenchFigure batched = figure("put_batched", "put batched (" + std::to_string(batch) + "/txn)",
                               options.records, batch);
  batched.engine_seconds = time_engine_writes(options, scratch.engine_url("batched"),
                                              options.records, batch, "engine, batched");
  batched.baseline_seconds = scratch.time_baseline(options.records, batch, "raw, batched");
  result.figures.push_back(batched);

  if (scratch.postgres()) {
    // The hub's case: many devices writing at once. The baseline stays one
    // raw writer, so the ratio shows what concurrency adds.
    constexpr size_t kWriters = 8;
    BenchFigure concurrent =
        figure("put_concurrent", "put " + std::to_string(kWriters) + " writers vs 1 raw",
               options.records, batch);
    concurrent.engine_seconds =
        time_engine_writes(options, scratch.engine_url("concurrent"), options.records, batch,
                           "engine, 8 writers", kWriters);
    concurrent.baseline_seconds = batched.baseline_seconds;
    result.figures.push_back(concurrent);
  }

  if (options.single_records > 0) {
    BenchFigure single = figure("put_single", "put single (1/txn)", options.single_records, 1);
    single.engine_seconds = time_engine_writes(options, scratch.engine_url("single"),
                                               options.single_records, 1, "engine, single");
    single.baseline_seconds = scratch.time_baseline(options.single_records, 1, "raw, single");
    result.figures.push_back(single);
  }
  return result;
}

}  // namespace outpost
