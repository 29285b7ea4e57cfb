// Engine conformance suite, part 1: backends, opening a database, tables
// (DESIGN.md sections 2 and 10). Every test runs unchanged on every backend
// (see backends.h); the other parts are conformance_*_test.cpp.
#include <doctest/doctest.h>

#include <algorithm>

#include "engine/backends.h"

namespace outpost::test {
namespace {

std::vector<std::string> table_names(Engine& engine) {
  std::vector<std::string> names;
  for (const auto& t : engine.list_tables()) names.push_back(t.name);
  return sorted(names);
}

TEST_CASE("conformance: PostgreSQL backend is configured") {
  bool has_pg = postgres_configured();
  std::vector<std::string> names;
  for (const auto& b : test_backends()) names.push_back(b.name);
  CHECK(names.front() == "sqlite");
  if (has_pg) {
    CHECK(std::find(names.begin(), names.end(), "postgres") != names.end());
  } else if (running_in_ci()) {
    FAIL(
        "PostgreSQL tests are required in CI (CI=true): set OUTPOST_TEST_PG to the URL of "
        "the throwaway server .ci/run starts");
  } else {
    MESSAGE("PostgreSQL suites SKIPPED: set OUTPOST_TEST_PG");
  }
}

// ------------------------------------------------------------------ open --

TEST_CASE("conformance: a fresh database has a UUID v4 db_id, stable across reopen") {
  run_on_backends([](Engine& engine, TestDatabase& db) {
    std::string id = engine.db_id();
    CAPTURE(id);
    CHECK(is_uuid_v4(id));
    CHECK(engine.backend() == db.backend());
    CHECK(engine.db_id() == id);  // asking twice gives the same answer

    create_table(engine, items_table());
    create(engine, "items", "a", item("x"));
    db.reopen();
    CHECK(db.engine().db_id() == id);
    CHECK(db.engine().backend() == db.backend());
    auto second = db.open_another();
    CHECK(second->db_id() == id);
    // The data survived the reopen too.
    CHECK(must_get(db.engine(), "items", "a").attributes == item("x"));
  });
}

TEST_CASE("conformance: two fresh databases get different db_ids") {
  run_on_backends([](Engine& engine, TestDatabase& db) {
    for (const auto& b : test_backends()) {
      if (b.name != db.backend()) continue;
      auto other = b.create();
      CHECK(other->engine().db_id() != engine.db_id());
      CHECK(is_uuid_v4(other->engine().db_id()));
    }
  });
}

TEST_CASE("conformance: a fresh database is empty") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    CHECK(engine.list_tables().empty());
    CHECK(all_changes(engine).empty());
    CHECK(engine.list_conflicts("", "", 100).entries.empty());
    CHECK_FALSE(engine.get_table("items").has_value());
    CHECK_FALSE(engine.get_local("anything").has_value());
  });
}

// ---------------------------------------------------------------- tables --

TEST_CASE("conformance: tables are created, read back and listed") {
  run_on_backends([](Engine& engine, TestDatabase& db) {
    Table households{"households",
                     {col("head_name", ValueType::string, true), col("size", ValueType::int_)}};
    Table stored = engine.put_table(households);
    CHECK(stored == households);
    auto got = engine.get_table("households");
    REQUIRE(got.has_value());
    CHECK(*got == households);
    CHECK(got->columns[0].required);
    CHECK_FALSE(got->columns[1].required);

    create_table(engine, typed_table());
    CHECK(table_names(engine) == std::vector<std::string>{"households", "typed"});
    for (const auto& t : engine.list_tables()) {
      if (t.name == "typed") CHECK(t == typed_table());
      if (t.name == "households") CHECK(t == households);
    }
    CHECK_FALSE(engine.get_table("nope").has_value());

    // Definitions are stored, not cached: they survive a reopen.
    db.reopen();
    CHECK(db.engine().get_table("households") == std::optional<Table>(households));
    CHECK(db.engine().get_table("typed") == std::optional<Table>(typed_table()));
  });
}

TEST_CASE("conformance: re-putting the same definition is idempotent") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    create_table(engine, items_table());
    create(engine, "items", "a", item("x", 1));
    std::string before = dump(engine);
    CHECK(engine.put_table(items_table()) == items_table());
    CHECK(engine.put_table(items_table()) == items_table());
    CHECK(engine.list_tables().size() == 1);
    CHECK(dump(engine) == before);
  });
}

TEST_CASE("conformance: a table is extended by adding columns, never required") {
  run_on_backends([](Engine& engine, TestDatabase& db) {
    create_table(engine, items_table());
    Revision r1 = create(engine, "items", "old", item("before", 1));

    Table extended = items_table();
    extended.columns.push_back(col("email", ValueType::string, true));  // asks for required
    extended.columns.push_back(col("score", ValueType::float_));
    Table stored = engine.put_table(extended);
    Table expected = items_table();
    expected.columns.push_back(col("email", ValueType::string, false));
    expected.columns.push_back(col("score", ValueType::float_, false));
    CHECK(stored == expected);
    CHECK(engine.get_table("items") == std::optional<Table>(expected));

    // Old records still read; the new columns are absent (null).
    CHECK(must_get(engine, "items", "old").attributes == item("before", 1));
    // Writes with old columns only (new ones are not required) ...
    Revision r2 = update(engine, "items", "old", r1, item("old-only", 2));
    CHECK(must_get(engine, "items", "old").revision == r2);
    // ... and with old and new columns together.
    Attributes both = item("both", 3);
    both.emplace("email", str("a@b.c"));
    both.emplace("score", val(ValueType::float_, "2.5"));
    Revision r3 = update(engine, "items", "old", r2, both);
    CHECK(r3 == compute_revision("items", "old", r2, false, both));
    Revision n1 = create(engine, "items", "new", both);
    CHECK(must_get(engine, "items", "new").attributes == both);
    CHECK(must_get(engine, "items", "old").attributes == both);
    CHECK(n1.generation() == 1);

    db.reopen();
    CHECK(must_get(db.engine(), "items", "old").attributes == both);
    CHECK(db.engine().get_table("items") == std::optional<Table>(expected));
  });
}

TEST_CASE("conformance: a put with fewer columns merges as a union, not an error") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    create_table(engine, items_table());
    Table fewer{"items", {col("size", ValueType::int_)}};
    CHECK(engine.put_table(fewer) == items_table());
    CHECK(engine.get_table("items") == std::optional<Table>(items_table()));

    // Disjoint definition: union, existing columns first in their order.
    Table other{"items", {col("zeta", ValueType::bool_), col("name", ValueType::string)}};
    Table expected = items_table();
    expected.columns.push_back(col("zeta", ValueType::bool_));
    CHECK(engine.put_table(other) == expected);
    CHECK(engine.get_table("items") == std::optional<Table>(expected));
    // The removed-looking column still works.
    Attributes a = item("n", 5);
    a.emplace("note", str("kept"));
    create(engine, "items", "a", a);
    CHECK(must_get(engine, "items", "a").attributes == a);
  });
}

TEST_CASE("conformance: changing a column's type is schema_conflict and changes nothing") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    create_table(engine, items_table());
    create(engine, "items", "a", item("x", 1));
    std::string before = dump(engine);

    Table changed{"items", {col("size", ValueType::string)}};
    CHECK(error_of([&] { engine.put_table(changed); }) == ErrorCode::schema_conflict);
    // A clash together with a new column: neither is applied.
    Table mixed{"items", {col("extra", ValueType::int_), col("name", ValueType::int_)}};
    CHECK(error_of([&] { engine.put_table(mixed); }) == ErrorCode::schema_conflict);

    CHECK(engine.get_table("items") == std::optional<Table>(items_table()));
    CHECK(dump(engine) == before);
    // The int column still takes ints.
    Revision r = must_get(engine, "items", "a").revision;
    update(engine, "items", "a", r, item("y", 2));
    CHECK(must_get(engine, "items", "a").attributes == item("y", 2));
  });
}

TEST_CASE("conformance: an unknown table is unknown_table on writes and reads") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    create_table(engine, items_table());
    std::string before = dump(engine);

    Edit e;
    e.table = "ghosts";
    e.id = "g1";
    e.attributes = item("boo");
    CHECK(code_of(write_one(engine, e)) == ErrorCode::unknown_table);
    CHECK(error_of([&] { create(engine, "ghosts", "g1", item("boo")); }) ==
          ErrorCode::unknown_table);

    auto chain1 = offline_chain("ghosts", "g1", Revision(), 1, "r");
    CHECK(code_of(write_one_replicated(engine, remote_of("ghosts", "g1", chain1, 0))) ==
          ErrorCode::unknown_table);

    CHECK(error_of([&] { engine.get("ghosts", "g1"); }) == ErrorCode::unknown_table);
    CHECK(error_of([&] { engine.list_records("ghosts", "", 10); }) == ErrorCode::unknown_table);
    CHECK_FALSE(engine.get_table("ghosts").has_value());
    CHECK(dump(engine) == before);
  });
}

}  // namespace
}  // namespace outpost::test
