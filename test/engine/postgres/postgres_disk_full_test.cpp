// A full disk under PostgreSQL (docs/operations.md "When the disk is full"):
// SQLSTATE 53100 is disk_full with a message naming the database, and is
// never retried (it is not transient); the other "insufficient resources"
// states (out of memory, too many connections) still are.
#include <doctest/doctest.h>

#include <string>

#include "engine/backends.h"
#include "engine/postgres/pg_connection.h"

namespace outpost::test {
namespace {

TEST_CASE("postgres: SQLSTATE 53100 is disk_full and never retried; other 53xxx are retried") {
  CHECK(classify_sqlstate("53100") == PgFailure::disk_full);
  CHECK(classify_sqlstate("53000") == PgFailure::retry);  // insufficient_resources
  CHECK(classify_sqlstate("53200") == PgFailure::retry);  // out_of_memory
  CHECK(classify_sqlstate("53300") == PgFailure::retry);  // too_many_connections
  CHECK(classify_sqlstate("40001") == PgFailure::retry);
  CHECK(classify_sqlstate("40P01") == PgFailure::retry);
  CHECK(classify_sqlstate("08006") == PgFailure::retry);
  CHECK(classify_sqlstate("23505") == PgFailure::other);
  CHECK(classify_sqlstate("") == PgFailure::other);

  CHECK(pg_disk_full_message("hub", "db.example", "could not extend file \"base/1/2\"") ==
        "the disk holding the PostgreSQL database hub on db.example is full: PostgreSQL: could "
        "not extend file \"base/1/2\" (SQLSTATE 53100); free some space on the database server "
        "and run again; no acknowledged write was lost");
}

TEST_CASE("postgres: a write that hits a full disk is disk_full at once and stores nothing") {
  std::unique_ptr<TestDatabase> db = pg_database();
  if (!db) return;
  create_table(db->engine(), items_table());
  create(db->engine(), "items", "a", item("kept"));
  const std::string before = dump(db->engine());
  // What PostgreSQL answers when it cannot extend a file.
  run_raw(*db, R"(
    CREATE FUNCTION "outpost_t_disk_full"() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'could not extend file "base/16384/16400": No space left on device'
        USING ERRCODE = '53100';
    END $$;
    CREATE TRIGGER "outpost_t_disk_full" BEFORE INSERT OR UPDATE ON "_changes"
      FOR EACH ROW EXECUTE FUNCTION "outpost_t_disk_full"();)");
  const EngineStats stats_before = db->engine().stats();

  std::optional<Error> failure;
  try {
    create(db->engine(), "items", "b", item("lost"));
  } catch (const Error& e) {
    failure = e;
  }
  REQUIRE(failure);
  CHECK(failure->code() == ErrorCode::disk_full);
  const std::string message = failure->message();
  CHECK(message.find("the disk holding the PostgreSQL database ") == 0);
  CHECK(message.find("No space left on device (SQLSTATE 53100)") != std::string::npos);
  CHECK(message.find("no acknowledged write was lost") != std::string::npos);
  // Not retried: the same write would fail the same way.
  CHECK(db->engine().stats().transaction_retries == stats_before.transaction_retries);
  CHECK(db->engine().stats().database_errors == stats_before.database_errors + 1);
  CHECK(dump(db->engine()) == before);

  run_raw(*db, R"(DROP TRIGGER "outpost_t_disk_full" ON "_changes";)");
  create(db->engine(), "items", "b", item("stored"));
  CHECK(must_get(db->engine(), "items", "b").attributes.at("name") == str("stored"));
}

}  // namespace
}  // namespace outpost::test
