// The SQLite feed keeps a record's replaced _changes rows for a while and
// deletes them in batches (SqliteStorage::kSupersededKept): the feed never
// shows them, their count stays bounded, the bookkeeping survives a reopen,
// a database from before this scheme is upgraded when opened, and one from
// a newer build is refused.
#include <doctest/doctest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>

#include "engine/backends.h"
#include "engine/open.h"
#include "engine/sqlite/sqlite_storage.h"

namespace outpost::test {
namespace {

int64_t count_rows(const TestDatabase& db, const std::string& table) {
  auto rows = db.raw_query("SELECT count(*) FROM \"" + table + "\"");
  return std::stoll(rows.at(0).at(0).value());
}

TEST_CASE("sqlite: replaced feed rows are never shown and are deleted in batches") {
  constexpr int kRecords = 1000;
  std::unique_ptr<TestDatabase> db = test_backends().at(0).create();
  REQUIRE(db->backend() == "sqlite");
  create_table(db->engine(), items_table());
  std::map<std::string, Revision> current;

  // Writes one revision of every record; returns the _superseded row count.
  auto write_round = [&](int round, Engine* through = nullptr) {
    Engine& engine = through ? *through : db->engine();
    std::vector<Edit> edits;
    for (int i = 0; i < kRecords; ++i) {
      Edit e;
      e.table = "items";
      e.id = "r" + std::to_string(i);
      if (auto it = current.find(e.id); it != current.end()) e.parent = it->second;
      e.attributes = item("round " + std::to_string(round), i);
      edits.push_back(std::move(e));
    }
    std::vector<WriteResult> results = engine.write(edits);
    for (size_t i = 0; i < results.size(); ++i) {
      REQUIRE(results[i].ok());
      current[edits[i].id] = results[i].revision;
    }
    return count_rows(*db, "_superseded");
  };
  // The feed lists every record once, at its current revision, in order.
  auto check_feed = [&] {
    std::vector<Change> feed = all_changes(db->engine());
    REQUIRE(feed.size() == current.size());
    int64_t previous = 0;
    for (const Change& c : feed) {
      CHECK(c.revision == current.at(c.id));
      CHECK(std::stoll(c.seq) > previous);
      previous = std::stoll(c.seq);
    }
    // Every row of _changes is live or waiting in _superseded.
    CHECK(count_rows(*db, "_changes") ==
          static_cast<int64_t>(current.size()) + count_rows(*db, "_superseded"));
  };

  CHECK(write_round(0) == 0);
  check_feed();
  // Each round replaces kRecords rows; go past the bound twice, with a
  // reopen in between so that the count is read back from the file.
  int dropped = 0;
  int64_t waiting = 0;
  for (int round = 1; dropped < 2; ++round) {
    CAPTURE(round);
    const int64_t now = write_round(round);
    CHECK(now <= SqliteStorage::kSupersededKept);
    if (now < waiting + kRecords) {
      CHECK(now == waiting + kRecords - SqliteStorage::kSupersededDropped);
      ++dropped;
      check_feed();
      if (dropped == 1) db->reopen();
    } else {
      CHECK(now == waiting + kRecords);
    }
    waiting = now;
    REQUIRE(round < 100);
  }
  check_feed();
  // A cursor taken before the deletions still works: it sees every record
  // written after it, each once.
  CHECK(all_changes(db->engine(), "1").size() == current.size());

  // Two writers on the file (as two processes would be): each sees the
  // other's rows, so the bound holds for the file, not per writer.
  std::unique_ptr<Engine> other = db->open_another();
  int64_t most = 0;
  for (int round = 1000; round < 1080; ++round) {
    CAPTURE(round);
    const int64_t now = write_round(round, round % 2 == 0 ? &db->engine() : other.get());
    CHECK(now <= SqliteStorage::kSupersededKept + kRecords);
    most = std::max(most, now);
  }
  CHECK(most > SqliteStorage::kSupersededKept - SqliteStorage::kSupersededDropped);
  check_feed();
}

// Runs `sql` on the file directly; returns the first column of the last row.
std::string run_sql(const std::string& path, const std::string& sql) {
  sqlite3* conn = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &conn) == SQLITE_OK);
  std::string last;
  auto keep = [](void* out, int, char** values, char**) {
    *static_cast<std::string*>(out) = values[0] ? values[0] : "";
    return 0;
  };
  char* error = nullptr;
  const int rc = sqlite3_exec(conn, sql.c_str(), keep, &last, &error);
  const std::string message = error ? error : "";
  sqlite3_free(error);
  sqlite3_close(conn);
  REQUIRE_MESSAGE(rc == SQLITE_OK, message);
  return last;
}

// A fresh temporary directory, removed with what it holds.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "outpost-v1-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

TEST_CASE(
    "sqlite: a schema version 1 database gains _superseded, _purges, tombstones and token scopes") {
  TempDir dir;
  const std::string file = (dir.path / "device.db").string();
  Revision first;
  {
    auto engine = open_engine("sqlite:" + file);
    create_table(*engine, items_table());
    first = create(*engine, "items", "a", item("one"));
    Revision gone = create(*engine, "items", "b", item("last body"));
    remove(*engine, "items", "b", gone);
  }
  // What a build before the migrations left: no _superseded, no _purges, no
  // tombstone tables, no token scope columns, version 1.
  run_sql(file,
          "DELETE FROM \"_changes\" WHERE \"seq\" IN (SELECT \"seq\" FROM \"_superseded\"); "
          "DROP TABLE \"_superseded\"; DROP TABLE \"_purges\"; DROP TABLE \"_tombstones_items\"; "
          "ALTER TABLE \"_tokens\" DROP COLUMN \"scope\"; "
          "ALTER TABLE \"_tokens\" DROP COLUMN \"write_scope\"; "
          "ALTER TABLE \"_tokens\" DROP COLUMN \"earlier_write_scopes\"; "
          "ALTER TABLE \"_tokens\" DROP COLUMN \"rescoped_at\"; "
          "UPDATE \"_meta\" SET \"value\"='1' WHERE \"key\"='schema_version'");
  {
    auto engine = open_engine("sqlite:" + file);
    CHECK(must_get(*engine, "items", "a").revision == first);
    const Revision second = update(*engine, "items", "a", first, item("two"));
    std::vector<Change> feed = all_changes(*engine);
    REQUIRE(feed.size() == 2);
    CHECK(feed[1].revision == second);
    CHECK(engine->check().empty());
  }
  CHECK(run_sql(file, "SELECT \"value\" FROM \"_meta\" WHERE \"key\"='schema_version'") ==
        std::to_string(5));
  CHECK(run_sql(file, "SELECT \"records\" FROM \"_counts\" WHERE \"table\"='items'") == "1");
  CHECK(run_sql(file, "SELECT count(*) FROM \"_superseded\"") == "1");
  CHECK(run_sql(file, "SELECT count(*) FROM \"_purges\"") == "0");
  // The deleted record's tombstone row was filled from its history, with
  // the body it had last.
  CHECK(run_sql(file,
                "SELECT \"_id\" || '/' || \"_known\" || '/' || \"name\" FROM "
                "\"_tombstones_items\"") == "b/1/last body");
}

TEST_CASE("sqlite: a database written by a newer schema is refused and left unchanged") {
  TempDir dir;
  const std::string file = (dir.path / "device.db").string();
  {
    auto engine = open_engine("sqlite:" + file);
    create_table(*engine, items_table());
    create(*engine, "items", "a", item("one"));
  }
  run_sql(file, "UPDATE \"_meta\" SET \"value\"='99' WHERE \"key\"='schema_version'");
  std::optional<ErrorCode> refused = error_of([&] { open_engine("sqlite:" + file); });
  CHECK(refused == ErrorCode::unavailable);
  try {
    open_engine("sqlite:" + file);
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("newer outpost (schema version 99") != std::string::npos);
  }
  CHECK(run_sql(file, "SELECT \"value\" FROM \"_meta\" WHERE \"key\"='schema_version'") == "99");
  CHECK(run_sql(file, "SELECT count(*) FROM \"items\"") == "1");
}

}  // namespace
}  // namespace outpost::test
