// A quick measurement of batched writes on PostgreSQL against the raw libpq
// baseline (bench/pg_raw_baseline.h). Skipped by default (it
// reports figures, it asserts little); run it with
//   outpost_tests -tc="postgres bench*" --no-skip
// OUTPOST_BENCH_RECORDS sets the record count (default 50000).
#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <thread>

#include "bench/pg_raw_baseline.h"
#include "engine/backends.h"
#include "engine/open.h"
#include "engine/postgres/pg_connection.h"

namespace outpost::test {
namespace {

BaselineRow row_of(size_t i) {
  BaselineRow row;
  char id[32];
  std::snprintf(id, sizeof id, "rec%08zu", i);
  row.id = id;
  row.name = "item-" + std::to_string(i);
  row.city = i % 2 ? "Oslo" : "Lagos";
  row.qty = static_cast<int64_t>((i * 7919) % 1000);
  row.seq = static_cast<int64_t>(i);
  row.price = static_cast<double>((i * 31) % 10000) / 100.0;
  row.active = i % 3 != 0;
  return row;
}

Edit edit_of(size_t i) {
  BaselineRow row = row_of(i);
  Edit e;
  e.table = "items";
  e.id = row.id;
  e.attributes.emplace("name", Value::from_string(row.name));
  e.attributes.emplace("city", Value::from_string(row.city));
  e.attributes.emplace("qty", Value::from_int(row.qty));
  e.attributes.emplace("seq", Value::from_int(row.seq));
  e.attributes.emplace("price", Value::from_float(row.price));
  e.attributes.emplace("active", Value::from_bool(row.active));
  return e;
}

Table bench_table() {
  return Table{"items",
               {{"name", ValueType::string, true},
                {"city", ValueType::string, false},
                {"qty", ValueType::int_, false},
                {"seq", ValueType::int_, false},
                {"price", ValueType::float_, false},
                {"active", ValueType::bool_, false}}};
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

TEST_CASE("postgres bench: batched writes against raw libpq inserts" * doctest::skip()) {
  if (!postgres_configured()) {
    MESSAGE("PostgreSQL bench SKIPPED: set OUTPOST_TEST_PG");
    return;
  }
  const char* env_records = std::getenv("OUTPOST_BENCH_RECORDS");
  const size_t records = env_records ? std::strtoull(env_records, nullptr, 10) : 50000;
  const size_t batch = 1000;
  std::unique_ptr<TestDatabase> db;
  for (const auto& b : test_backends()) {
    if (b.name == "postgres") db = b.create();
  }
  REQUIRE(db);
  std::string conninfo = pg_conninfo_from_url(db->url());

  std::string raw_info = pg_scratch_conninfo(conninfo, "bench_raw");
  PgBaselineOptions raw;
  raw.conninfo = raw_info;
  raw.records = records;
  raw.per_transaction = batch;
  raw.make_row = row_of;
  double raw_rate = records / run_pg_raw_baseline(raw).seconds;

  std::string engine_info = pg_scratch_conninfo(conninfo, "bench_engine");
  auto engine = open_engine("postgres:" + engine_info);
  engine->put_table(bench_table());
  auto start = std::chrono::steady_clock::now();
  std::clock_t cpu_start = std::clock();
  std::vector<Edit> edits;
  for (size_t i = 0; i < records; ++i) {
    edits.push_back(edit_of(i));
    if (edits.size() == batch || i + 1 == records) {
      for (const auto& r : engine->write(edits)) REQUIRE(r.ok());
      edits.clear();
    }
  }
  double engine_seconds = seconds_since(start);
  double engine_cpu = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
  double engine_rate = records / engine_seconds;
  CHECK(engine->get("items", row_of(records - 1).id));

  // 8 concurrent writers, disjoint ids, one shared engine.
  std::string multi_info = pg_scratch_conninfo(conninfo, "bench_multi");
  auto multi = open_engine("postgres:" + multi_info);
  multi->put_table(bench_table());
  const char* env_writers = std::getenv("OUTPOST_BENCH_WRITERS");
  const size_t kWriters = env_writers ? std::strtoull(env_writers, nullptr, 10) : 8;
  start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (size_t w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      std::vector<Edit> mine;
      for (size_t i = w; i < records; i += kWriters) {
        mine.push_back(edit_of(i));
        if (mine.size() == batch) {
          multi->write(mine);
          mine.clear();
        }
      }
      if (!mine.empty()) multi->write(mine);
    });
  }
  for (auto& t : threads) t.join();
  double multi_rate = records / seconds_since(start);

  MESSAGE("records=", records, " batch=", batch);
  MESSAGE("raw libpq multi-row inserts: ", static_cast<int64_t>(raw_rate), " records/s");
  MESSAGE("engine batched:             ", static_cast<int64_t>(engine_rate), " records/s (ratio ",
          engine_rate / raw_rate, "; client CPU ", engine_cpu, " s of ", engine_seconds, " s)");
  MESSAGE("engine, ", kWriters, " writers:          ", static_cast<int64_t>(multi_rate),
          " records/s");
}

}  // namespace
}  // namespace outpost::test
