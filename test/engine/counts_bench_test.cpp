// What the maintained counts cost and save (Engine::table_counts).
// Skipped by default (it reports figures); run it with
//   outpost_tests -tc="counts bench*" --no-skip
// OUTPOST_BENCH_RECORDS sets the large table's size on SQLite (default
// 1000000) and OUTPOST_BENCH_WRITES the records written with and without
// the count triggers (default 100000).
#include <doctest/doctest.h>
#include <sqlite3.h>

#include <chrono>
#include <cstdlib>

#include "engine/backends.h"

namespace outpost::test {
namespace {

size_t env_size(const char* name, size_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? static_cast<size_t>(std::stoull(v)) : fallback;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Creates n records in batches of 1000; returns the seconds it took.
double fill(Engine& engine, const std::string& table, size_t n) {
  auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < n;) {
    std::vector<Edit> batch;
    for (size_t k = 0; k < 1000 && i < n; ++k, ++i) {
      Edit e;
      e.table = table;
      char id[32];
      std::snprintf(id, sizeof id, "rec%08zu", i);
      e.id = id;
      e.attributes = item("name-" + std::to_string(i), static_cast<int64_t>(i % 1000));
      batch.push_back(std::move(e));
    }
    for (const WriteResult& r : engine.write(batch)) REQUIRE(r.ok());
  }
  return seconds_since(start);
}

std::string drop_triggers(const std::string& backend, const std::string& t) {
  if (backend == "postgres") {
    return "DROP TRIGGER \"_counts_inserted\" ON \"" + t +
           "\"; DROP TRIGGER \"_counts_deleted\" ON \"" + t +
           "\"; DROP TRIGGER \"_counts_flagged\" ON \"" + t + "\"";
  }
  return "DROP TRIGGER \"_" + t + "_counts_ins\"; DROP TRIGGER \"_" + t +
         "_counts_del\"; DROP TRIGGER \"_" + t + "_counts_upd\"";
}

TEST_CASE("counts bench: write throughput with and without the count triggers" * doctest::skip()) {
  const size_t n = env_size("OUTPOST_BENCH_WRITES", 100000);
  run_on_backends([&](Engine& engine, TestDatabase& db) {
    Table with = items_table();
    Table without = items_table();
    without.name = "plain";
    create_table(engine, with);
    create_table(engine, without);
    run_raw(db, drop_triggers(db.backend(), "plain"));
    db.reopen();
    Engine& e = db.engine();
    // Alternating halves, so that neither table is favoured by warm-up.
    double t_with = 0, t_without = 0;
    const size_t half = n / 2;
    t_without += fill(e, "plain", half);
    t_with += fill(e, "items", half);
    // Second halves, with ids after the first ones.
    auto fill_from = [&](const std::string& table, size_t from) {
      auto start = std::chrono::steady_clock::now();
      for (size_t i = from; i < from + half;) {
        std::vector<Edit> batch;
        for (size_t k = 0; k < 1000 && i < from + half; ++k, ++i) {
          Edit ed;
          ed.table = table;
          char id[32];
          std::snprintf(id, sizeof id, "rec%08zu", i);
          ed.id = id;
          ed.attributes = item("name-" + std::to_string(i), static_cast<int64_t>(i % 1000));
          batch.push_back(std::move(ed));
        }
        for (const WriteResult& r : e.write(batch)) REQUIRE(r.ok());
      }
      return seconds_since(start);
    };
    t_with += fill_from("items", half);
    t_without += fill_from("plain", half);
    MESSAGE(db.backend() << ": " << 2 * half << " creates in batches of 1000: with counts "
                         << t_with << " s (" << (2 * half) / t_with << "/s), without " << t_without
                         << " s (" << (2 * half) / t_without << "/s), cost "
                         << 100.0 * (t_with - t_without) / t_without << "%");
    CHECK(e.table_counts().at(0) == TableCounts{"items", static_cast<int64_t>(2 * half), 0});
  });
}

TEST_CASE("counts bench: table_counts on a table of a million records" * doctest::skip()) {
  const size_t n = env_size("OUTPOST_BENCH_RECORDS", 1000000);
  run_on_backends([&](Engine& engine, TestDatabase& db) {
    if (db.backend() != "sqlite" && !std::getenv("OUTPOST_BENCH_PG_MILLION")) return;
    create_table(engine, items_table());
    double filled = fill(engine, "items", n);
    MESSAGE(db.backend() << ": " << n << " records written in " << filled << " s");
    engine.table_counts();  // warm
    constexpr int kReads = 1000;
    auto start = std::chrono::steady_clock::now();
    TableCounts c;
    for (int i = 0; i < kReads; ++i) c = engine.table_counts().at(0);
    double per = seconds_since(start) / kReads;
    CHECK(c.records == static_cast<int64_t>(n));
    auto scan_start = std::chrono::steady_clock::now();
    TableCounts real = engine.count_in_scope("items", ScopeClause{"items", {}});
    double scan = seconds_since(scan_start);
    CHECK(real == c);
    MESSAGE(db.backend() << ": table_counts() " << per * 1e6 << " µs per call; a count(*) scan "
                         << scan * 1e3 << " ms");
    CHECK(per < 0.001);
  });
}

}  // namespace
}  // namespace outpost::test
