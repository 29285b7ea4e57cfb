#include "bench/bench_put.h"

#include <stdlib.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <system_error>

#include "api/engine.h"
#include "api/error.h"

namespace outpost {

namespace {

constexpr const char* kTable = "items";
constexpr const char* kCities[] = {"Oslo",  "Lagos", "Lima",  "Hanoi",
                                   "Quito", "Perth", "Porto", "Dhaka"};

// A fresh directory, removed with everything in it at the end of its scope.
class TempDir {
 public:
  explicit TempDir(const std::filesystem::path& parent) {
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
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

std::string base36(size_t v) {
  std::string out;
  do {
    const auto digit = static_cast<int>(v % 36);
    out.insert(out.begin(), static_cast<char>(digit < 10 ? '0' + digit : 'a' + digit - 10));
    v /= 36;
  } while (v > 0);
  return out;
}

Table bench_table() {
  return Table{kTable,
               {{"name", ValueType::string, true},
                {"city", ValueType::string, false},
                {"qty", ValueType::int_, false},
                {"seq", ValueType::int_, false},
                {"price", ValueType::float_, false},
                {"active", ValueType::bool_, false}}};
}

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

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void notify(const BenchOptions& options, std::string_view stage, size_t done, size_t total) {
  if (options.progress) options.progress(stage, done, total);
}

// Writes records [0, count) through Engine::write, `per_write` per call, into
// a fresh database at `file`. Returns the seconds the writes took.
double time_engine(const BenchOptions& options, const std::filesystem::path& file, size_t count,
                   size_t per_write, std::string_view stage) {
  OpenOptions open_options;
  open_options.durability = options.durability;
  std::unique_ptr<Engine> engine = open_engine("sqlite:" + file.string(), open_options);
  engine->put_table(bench_table());

  const size_t report_every = per_write > 1 ? per_write : 100;
  std::vector<Edit> edits;
  edits.reserve(per_write);
  const auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < count; ++i) {
    edits.push_back(bench_edit(i));
    if (edits.size() == per_write || i + 1 == count) {
      for (const WriteResult& result : engine->write(edits)) {
        if (result.error) throw *result.error;
      }
      edits.clear();
    }
    if ((i + 1) % report_every == 0) notify(options, stage, i + 1, count);
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

double time_baseline(const BenchOptions& options, const std::filesystem::path& file, size_t count,
                     size_t per_transaction, std::string_view stage) {
  BaselineOptions baseline;
  baseline.path = file.string();
  baseline.table = kTable;
  baseline.records = count;
  baseline.per_transaction = per_transaction;
  baseline.synchronous_full = options.durability == Durability::full;
  const size_t report_every = per_transaction > 1 ? per_transaction : 100;
  baseline.make_row = [&](size_t i) {
    if (i > 0 && i % report_every == 0) notify(options, stage, i, count);
    return bench_row(i);
  };
  return run_sqlite_raw_baseline(baseline).seconds;
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

}  // namespace

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
  if (starts_with(url, "postgres:") || starts_with(url, "postgresql:")) {
    throw Error(ErrorCode::unavailable,
                "the PostgreSQL variant of 'outpost bench put' is not available yet; "
                "run it with --db sqlite: (the bench uses fresh files in a temporary directory)");
  }
  if (starts_with(url, "http:") || starts_with(url, "https:")) {
    throw Error(ErrorCode::unavailable,
                "'outpost bench put' measures a local database, not a server; use --db sqlite:");
  }
  if (options.records == 0) throw Error(ErrorCode::invalid_value, "bench: --records must be > 0");

  TempDir dir(options.dir);
  BenchReport result;
  result.scenario = "put";
  result.backend = "sqlite";
  result.durability = options.durability == Durability::full ? "full" : "normal";
  result.baseline = "raw";
  result.location = dir.path().parent_path().string();

  const size_t batch = options.batch == 0 ? 1 : options.batch;
  BenchFigure batched;
  batched.name = "put_batched";
  batched.label = "put batched (" + std::to_string(batch) + "/txn)";
  batched.records = options.records;
  batched.per_transaction = batch;
  batched.engine_seconds = time_engine(options, dir.path() / "engine-batched.db", options.records,
                                       batch, "engine, batched");
  batched.baseline_seconds =
      time_baseline(options, dir.path() / "raw-batched.db", options.records, batch, "raw, batched");
  result.figures.push_back(batched);

  if (options.single_records > 0) {
    BenchFigure single;
    single.name = "put_single";
    single.label = "put single (1/txn)";
    single.records = options.single_records;
    single.per_transaction = 1;
    single.engine_seconds = time_engine(options, dir.path() / "engine-single.db",
                                        options.single_records, 1, "engine, single");
    single.baseline_seconds = time_baseline(options, dir.path() / "raw-single.db",
                                            options.single_records, 1, "raw, single");
    result.figures.push_back(single);
  }
  return result;
}

}  // namespace outpost
