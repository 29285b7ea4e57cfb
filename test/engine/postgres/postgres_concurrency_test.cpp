// PostgreSQL under concurrent writers (DESIGN.md section 10): many
// connections writing the same records lose no revision and leave T in
// agreement with T_history; fresh databases opened by several processes at
// once are migrated once; a transaction that fails leaves no broken
// connection in the pool.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "engine/backends.h"
#include "engine/open.h"
#include "engine/postgres/pg_connection.h"
#include "engine/postgres/pg_storage.h"
#include "engine/postgres/pg_test_hooks.h"
#include "engine/record_engine.h"

namespace outpost::test {
namespace {

std::unique_ptr<Engine> pg_engine(const TestDatabase& db, size_t pool_size) {
  return std::make_unique<RecordEngine>(
      std::make_unique<PgStorage>(pg_conninfo_from_url(db.url()), OpenOptions{}, pool_size),
      OpenOptions{});
}

TEST_CASE("postgres: a transaction failing in its first statement does not poison the pool") {
  auto db = pg_database();
  if (!db) return;
  create_table(db->engine(), items_table());
  auto engine = pg_engine(*db, 1);  // one connection: the next call gets the same one
  const Revision first = create(*engine, "items", "a", item("one"));
  PgConnection admin(pg_conninfo_from_url(db->url()));
  // Every transaction begins by reading _meta: without it, BEGIN's
  // statement fails and leaves the transaction aborted on that connection.
  CHECK(engine->stats().database_errors == 0);
  admin.exec("ALTER TABLE \"_meta\" RENAME TO \"_meta_away\"");
  CHECK(error_of([&] { engine->get("items", "a"); }).has_value());
  Edit edit;
  edit.table = "items";
  edit.id = "b";
  edit.attributes = item("two");
  CHECK(error_of([&] { engine->write({edit}); }).has_value());
  admin.exec("ALTER TABLE \"_meta_away\" RENAME TO \"_meta\"");
  CHECK(engine->stats().database_errors == 2);  // counted for /metrics
  CHECK(engine->stats().transaction_retries == 0);
  // The same engine works again, reads and writes.
  CHECK(must_get(*engine, "items", "a").revision == first);
  const Revision second = update(*engine, "items", "a", first, item("again"));
  CHECK(must_get(db->engine(), "items", "a").revision == second);
}

TEST_CASE("postgres: a writer that loses the race to create a record runs again, counted") {
  auto db = pg_database();
  if (!db) return;
  create_table(db->engine(), items_table());
  // A creates "x" and holds its transaction open just before COMMIT.
  auto a_storage = std::make_unique<PgStorage>(pg_conninfo_from_url(db->url()), OpenOptions{}, 2);
  PgStorage& a_hooks = *a_storage;
  RecordEngine a(std::move(a_storage), OpenOptions{});
  std::promise<void> a_inside, a_release;
  std::shared_future<void> release = a_release.get_future().share();
  std::atomic<bool> armed{true};
  set_before_commit_hook_for_testing(a_hooks, [&] {
    if (!armed.exchange(false)) return;
    a_inside.set_value();
    release.wait();
  });
  auto a_done = std::async(std::launch::async, [&] { return create(a, "items", "x", item("a")); });
  REQUIRE(a_inside.get_future().wait_for(std::chrono::seconds(30)) == std::future_status::ready);

  // B creates "x" too, and waits on A's change row.
  auto b = pg_engine(*db, 2);
  Edit edit;
  edit.table = "items";
  edit.id = "x";
  edit.attributes = item("b");
  auto b_done = std::async(std::launch::async, [&] { return b->write({edit}); });
  PgConnection admin(pg_conninfo_from_url(db->url()));
  bool waiting = false;
  for (int i = 0; i < 3000 && !waiting; ++i) {
    waiting = admin.query("SELECT count(*) FROM pg_locks WHERE NOT granted").int64(0, 0) > 0;
    if (!waiting) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(waiting);

  // A commits: B's insert fails, B runs again, finds "x" and reports it.
  a_release.set_value();
  const Revision ra = a_done.get();
  std::vector<WriteResult> results = b_done.get();
  REQUIRE(results.size() == 1);
  REQUIRE(results[0].error.has_value());
  CHECK(results[0].error->code() == ErrorCode::conflict);
  CHECK(b->stats().transaction_retries == 1);
  CHECK(b->stats().database_errors == 0);
  CHECK(a.stats().transaction_retries == 0);
  CHECK(must_get(db->engine(), "items", "x").revision == ra);
}

TEST_CASE("postgres concurrency: many writers on the same records lose nothing") {
  auto db = pg_database();
  if (!db) return;
  const uint64_t seed = test_seed();
  INFO("seed (set OUTPOST_TEST_SEED to replay): ", seed);
  create_table(db->engine(), items_table());
  Revision root = create(db->engine(), "items", "hot", item("root"));

  constexpr int kEngines = 4;
  constexpr int kThreads = 16;
  constexpr int kRounds = 25;
  std::vector<std::unique_ptr<Engine>> engines;
  for (int i = 0; i < kEngines; ++i) engines.push_back(pg_engine(*db, 4));

  std::mutex mu;
  std::set<std::string> written;  // "id rev" of every revision a write returned
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(seed + static_cast<uint64_t>(t));
      Engine& engine = *engines[static_cast<size_t>(t % kEngines)];
      auto note = [&](const std::string& id, const Revision& r) {
        std::lock_guard lock(mu);
        written.insert(id + " " + r.str());
      };
      try {
        for (int k = 0; k < kRounds; ++k) {
          std::string tag = "t" + std::to_string(t) + "-" + std::to_string(k);
          switch (rng() % 4) {
            case 0: {  // update the winner; a lost race is a conflict, retried
              for (int attempt = 0; attempt < 200; ++attempt) {
                Record cur = must_get(engine, "items", "hot");
                Edit e;
                e.table = "items";
                e.id = "hot";
                e.parent = cur.revision;
                e.attributes = item(tag);
                WriteResult r = write_one(engine, e);
                if (r.ok()) {
                  note("hot", r.revision);
                  break;
                }
                REQUIRE(code_of(r) == ErrorCode::conflict);
              }
              break;
            }
            case 1: {  // a replicated branch from the root: a conflict
              auto branch = offline_chain("items", "hot", root, 2, tag);
              WriteResult r =
                  write_one_replicated(engine, remote_of("items", "hot", branch, 1, {root}));
              REQUIRE(r.ok());
              note("hot", branch[0].revision);
              note("hot", branch[1].revision);
              break;
            }
            case 2: {  // everybody creates the same new record: one wins
              std::string id = "new-" + std::to_string(k);
              Edit e;
              e.table = "items";
              e.id = id;
              e.attributes = item(tag);
              WriteResult r = write_one(engine, e);
              if (r.ok()) {
                note(id, r.revision);
              } else {
                REQUIRE(code_of(r) == ErrorCode::conflict);
              }
              break;
            }
            default: {  // a batch touching several shared records
              std::vector<Edit> edits;
              for (int i = 0; i < 5; ++i) {
                Edit e;
                e.table = "items";
                e.id = "shared-" + std::to_string((k + i) % 7);
                e.attributes = item(tag);
                edits.push_back(e);
              }
              for (const auto& r : engine.write(edits)) {
                // Created by this batch, or already there (conflict).
                if (r.ok()) {
                  note(r.id, r.revision);
                } else {
                  REQUIRE(code_of(r) == ErrorCode::conflict);
                }
              }
              break;
            }
          }
        }
      } catch (const std::exception& e) {
        ++failures;
        MESSAGE("writer ", t, " failed: ", e.what());
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(failures == 0);

  Engine& engine = db->engine();
  CHECK(engine.check().empty());
  std::map<std::string, std::vector<Revision>> by_id;
  for (const std::string& line : written) {
    auto space = line.find(' ');
    by_id[line.substr(0, space)].push_back(Revision::parse(line.substr(space + 1)));
  }
  std::vector<RevsDiffQuery> queries;
  for (const auto& [id, revs] : by_id) queries.push_back(RevsDiffQuery{"items", id, revs});
  for (const auto& r : engine.revs_diff(queries)) {
    CAPTURE(r.id);
    CHECK(r.missing.empty());
  }
  // Each "new-k" record was created exactly once: a single root.
  for (int k = 0; k < kRounds; ++k) {
    std::string id = "new-" + std::to_string(k);
    if (!by_id.contains(id)) continue;
    CHECK(by_id[id].size() == 1);
    CHECK(leaves_of(engine, "items", id).size() == 1);
  }
}

TEST_CASE("postgres concurrency: writers and a table being extended at the same time") {
  auto db = pg_database();
  if (!db) return;
  create_table(db->engine(), items_table());
  auto other = pg_engine(*db, 4);
  std::atomic<bool> stop{false};
  std::atomic<int> written{0};
  std::thread writer([&] {
    for (int i = 0; !stop; ++i) {
      create(*other, "items", "r" + std::to_string(i), item("r"));
      ++written;
    }
  });
  for (int c = 0; c < 5; ++c) {
    Table t = items_table();
    t.columns.push_back(col("extra" + std::to_string(c), ValueType::int_));
    db->engine().put_table(t);
  }
  // The other engine sees the new columns and writes them.
  Attributes a = item("late");
  a.emplace("extra4", num(4));
  create(*other, "items", "late", a);
  stop = true;
  writer.join();
  CHECK(written > 0);
  CHECK(must_get(db->engine(), "items", "late").attributes == a);
  CHECK(db->engine().get_table("items")->columns.size() == items_table().columns.size() + 5);
  CHECK(db->engine().check().empty());
}

TEST_CASE("postgres concurrency: engines opening a fresh database at once all succeed") {
  auto db = pg_database();
  if (!db) return;
  for (int round = 0; round < 3; ++round) {
    {
      // Make the database fresh again: no engine tables at all.
      PgConnection conn(pg_conninfo_from_url(db->url()));
      conn.exec("DROP SCHEMA public CASCADE; CREATE SCHEMA public");
    }
    constexpr int kOpeners = 6;
    std::vector<std::thread> threads;
    std::vector<std::string> ids(kOpeners);
    std::vector<std::string> errors(kOpeners);
    std::atomic<int> ready{0};
    for (int i = 0; i < kOpeners; ++i) {
      threads.emplace_back([&, i] {
        ++ready;
        while (ready < kOpeners) std::this_thread::yield();
        try {
          auto engine = open_engine(db->url());
          ids[static_cast<size_t>(i)] = engine->db_id();
        } catch (const std::exception& e) {
          errors[static_cast<size_t>(i)] = e.what();
        }
      });
    }
    for (auto& t : threads) t.join();
    for (int i = 0; i < kOpeners; ++i) {
      CAPTURE(i);
      CHECK(errors[static_cast<size_t>(i)].empty());
      CHECK(is_uuid_v4(ids[static_cast<size_t>(i)]));
      CHECK(ids[static_cast<size_t>(i)] == ids[0]);
    }
  }
  auto engine = open_engine(db->url());
  create_table(*engine, items_table());
  create(*engine, "items", "a", item("a"));
  CHECK(engine->check().empty());
}

TEST_CASE(
    "postgres: a create without an id, run again after a COMMIT whose answer was lost, "
    "is written once") {
  auto db = pg_database();
  if (!db) return;
  create_table(db->engine(), items_table());
  auto storage = std::make_unique<PgStorage>(pg_conninfo_from_url(db->url()), OpenOptions{}, 2);
  PgStorage& hooks = *storage;
  RecordEngine engine(std::move(storage), OpenOptions{});
  // The first COMMIT succeeds, but the caller hears that the connection went.
  std::atomic<int> lost{1};
  set_after_commit_hook_for_testing(hooks, [&] {
    if (lost.fetch_sub(1) == 1) throw RetryableError("injected: connection lost during COMMIT");
  });
  Edit a;
  a.table = "items";
  a.attributes = item("generated a");
  Edit b = a;
  b.attributes = item("generated b");
  Edit named = a;
  named.id = "named";
  std::vector<WriteResult> results = engine.write({a, b, named});
  REQUIRE(results.size() == 3);
  for (const WriteResult& r : results) REQUIRE(r.ok());
  CHECK(engine.stats().transaction_retries == 1);
  CHECK(is_uuid_v4(results[0].id));
  CHECK(results[0].id != results[1].id);
  // Each create is stored once, under the id the caller was given.
  std::vector<Record> records = all_records(engine, "items");
  CHECK(records.size() == 3);
  CHECK(must_get(engine, "items", results[0].id).revision == results[0].revision);
  CHECK(must_get(engine, "items", results[1].id).revision == results[1].revision);
  set_after_commit_hook_for_testing(hooks, nullptr);
}

}  // namespace
}  // namespace outpost::test
