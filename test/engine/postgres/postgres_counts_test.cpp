// Maintained counts on PostgreSQL under concurrent writers: two engines
// (as two hub processes) write one table from several threads while a
// reader polls table_counts(), which makes the writers compact the delta
// rows as they go. The final counts must be exact.
#include <doctest/doctest.h>

#include <atomic>
#include <random>
#include <thread>

#include "engine/backends.h"

namespace outpost::test {
namespace {

TEST_CASE("postgres counts: concurrent writers from two engines keep the counts exact") {
  auto db = pg_database();
  if (!db) return;
  const uint64_t seed = test_seed();
  INFO("seed (set OUTPOST_TEST_SEED to replay): ", seed);
  create_table(db->engine(), items_table());
  std::unique_ptr<Engine> second = db->open_another();
  Engine* engines[2] = {&db->engine(), second.get()};

  constexpr int kThreads = 4;  // two per engine
  constexpr int kRounds = 300;
  std::atomic<int> failures{0};
  std::atomic<int> commits{0};
  std::atomic<bool> done{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(seed + static_cast<uint64_t>(t));
      Engine& engine = *engines[t % 2];
      try {
        for (int i = 0; i < kRounds; ++i) {
          // Shared ids, so that threads race on the same records.
          std::string id = "r" + std::to_string(rng() % 60);
          std::optional<Record> rec = engine.get("items", id);
          Edit e;
          e.table = "items";
          e.id = id;
          if (!rec || rec->deleted) {
            e.attributes = item("t" + std::to_string(t), i);
          } else if (rng() % 3 == 0) {
            e.kind = Edit::Kind::remove;
            e.parent = rec->revision;
          } else {
            e.parent = rec->revision;
            e.attributes = item("t" + std::to_string(t), i);
          }
          WriteResult r = engine.write({e}).at(0);
          if (r.ok()) ++commits;
          // A lost race (conflict) is an expected outcome; anything else is not.
          if (!r.ok() && r.error->code() != ErrorCode::conflict) ++failures;
          if (rng() % 10 == 0) {
            // A replicated root: conflicts appear and go.
            RemoteRevision rr;
            rr.table = "items";
            rr.id = id;
            rr.attributes = item("root" + std::to_string(t) + "-" + std::to_string(i));
            rr.revision = compute_revision("items", id, Revision(), false, rr.attributes);
            if (engine.write_replicated({rr}).at(0).ok()) ++commits;
          }
        }
      } catch (const std::exception& ex) {
        MESSAGE("writer failed: " << ex.what());
        ++failures;
      }
    });
  }
  std::atomic<int> reads{0}, bad_reads{0};
  std::thread reader([&] {
    while (!done) {
      TableCounts c = second->table_counts().at(0);
      if (c.records < 0 || c.records > 60 || c.conflicts < 0 || c.conflicts > c.records) {
        ++bad_reads;
      }
      ++reads;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  for (auto& th : threads) th.join();
  done = true;
  reader.join();
  CHECK(failures == 0);
  CHECK(bad_reads == 0);
  CHECK(reads > 0);

  std::vector<Record> records = all_records(db->engine(), "items");
  int64_t conflicts = 0;
  for (const Record& r : records) {
    if (!conflicts_of(db->engine(), "items", r.id).empty()) ++conflicts;
  }
  TableCounts counts = db->engine().table_counts().at(0);
  CHECK(counts.records == static_cast<int64_t>(records.size()));
  CHECK(counts.conflicts == conflicts);
  CHECK(second->table_counts().at(0) == counts);
  CHECK(db->engine().check() == std::vector<std::string>{});
  MESSAGE("commits: " << commits.load() << ", counts reads: " << reads.load());
  CHECK(commits > 1000);
  // A read that sums many delta rows makes the next commit compact them.
  second->table_counts();
  create(*second, "items", "last", item("last"));
  int64_t rows = std::stoll(*db->raw_query("SELECT count(*) FROM \"_count_deltas\"").at(0).at(0));
  CHECK(rows <= 257);
  CHECK(db->engine().table_counts().at(0).records == counts.records + 1);
  CHECK(db->engine().check() == std::vector<std::string>{});
}

TEST_CASE("postgres counts: delta rows are compacted, and the counts stay exact") {
  auto db = pg_database();
  if (!db) return;
  create_table(db->engine(), items_table());
  auto rows = [&] {
    return std::stoll(*db->raw_query("SELECT count(*) FROM \"_count_deltas\"").at(0).at(0));
  };
  // One delta row per committed create.
  for (int i = 0; i < 300; ++i) create(db->engine(), "items", "r" + std::to_string(i), item("x"));
  CHECK(rows() == 300);
  CHECK(db->engine().table_counts().at(0) == TableCounts{"items", 300, 0});
  // That read summed more than enough rows: the next commit compacts them
  // (into one row, its own delta included).
  Revision r = create(db->engine(), "items", "one-more", item("x"));
  CHECK(rows() == 1);
  CHECK(db->engine().table_counts().at(0) == TableCounts{"items", 301, 0});
  remove(db->engine(), "items", "one-more", r);
  CHECK(rows() == 2);
  CHECK(db->engine().table_counts().at(0) == TableCounts{"items", 300, 0});
  CHECK(db->engine().check().empty());
}

TEST_CASE("postgres counts: a write from a session with another search_path still counts") {
  auto db = pg_database();
  if (!db) return;
  create_table(db->engine(), items_table());
  create(db->engine(), "items", "a", item("a"));
  create(db->engine(), "items", "b", item("b"));
  // An operator's psql with a search_path that does not name the
  // database's schema removes a row of T by its qualified name: the
  // trigger must still find "_count_deltas".
  const std::string schema = *db->raw_query("SELECT current_schema()").at(0).at(0);
  db->raw_query("SET search_path TO pg_catalog; DELETE FROM \"" + schema +
                "\".\"items\" WHERE \"_id\" = 'a'; RESET search_path; SELECT 1");
  std::vector<TableCounts> counts = db->engine().table_counts();
  REQUIRE(counts.size() == 1);
  CHECK(counts[0].records == 1);
  CHECK(static_cast<int64_t>(all_records(db->engine(), "items").size()) == 1);
}

}  // namespace
}  // namespace outpost::test
