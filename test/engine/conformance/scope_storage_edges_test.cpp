// Engine conformance suite: storage edges of scopes (DESIGN.md section 14)
// that a review found: a purge leaves none of the record's feed rows
// behind, superseded ones included, and scope indexes of different
// (table, column) pairs never share a name.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "api/scope.h"
#include "engine/backends.h"

namespace outpost::test {
namespace {

Attributes hh(std::string_view district, std::string_view name) {
  return Attributes{{"district", str(district)}, {"name", str(name)}};
}

TEST_CASE("conformance: scope: a purge leaves none of the record's feed rows") {
  run_on_backends([](Engine& engine, TestDatabase& db) {
    create_table(
        engine,
        Table{"households", {col("district", ValueType::string), col("name", ValueType::string)}});
    // Many changes of one record: all but the newest feed row superseded.
    Revision at = create(engine, "households", "r", hh("d1", "0"));
    for (int i = 1; i < 20; ++i) {
      at = update(engine, "households", "r", at, hh("d1", std::to_string(i)));
    }
    create(engine, "households", "s", hh("d1", "stays"));
    PurgeRequest req;
    req.table = "households";
    req.ids = {"r"};
    req.reason = "edge";
    REQUIRE(engine.purge(req).purged == std::vector<std::string>{"r"});
    CHECK(db.raw_query("SELECT count(*) FROM \"_changes\" WHERE \"id\" = 'r'").at(0).at(0) ==
          std::optional<std::string>("0"));
    CHECK(db.raw_query("SELECT count(*) FROM \"_changes\" WHERE \"id\" = 's'").at(0).at(0) ==
          std::optional<std::string>("1"));
    std::vector<Change> feed = all_changes(engine);
    REQUIRE(feed.size() == 1);
    CHECK(feed[0].id == "s");
    CHECK(engine.check().empty());
  });
}

TEST_CASE("conformance: scope: indexes of different tables and columns never share a name") {
  run_on_backends([](Engine& engine, TestDatabase& db) {
    // Joined with '_', "a_b"/"c" and "a"/"b_c" would both read "a_b_c".
    create_table(engine, Table{"a_b", {col("c", ValueType::string)}});
    create_table(engine, Table{"a", {col("b_c", ValueType::string)}});
    Scope scope = parse_scope("a_b: c = 'x'; a: b_c = 'y'", engine.list_tables());
    engine.prepare_scope(scope);
    CHECK(engine.scope_indexes("a_b") == std::vector<std::string>{"c"});
    CHECK(engine.scope_indexes("a") == std::vector<std::string>{"b_c"});
    // Four indexes exist: on each table and on each table's tombstones.
    const std::string count =
        db.backend() == "sqlite"
            ? "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name LIKE "
              "'\\_scope\\_%' "
              "ESCAPE '\\'"
            : "SELECT count(*) FROM pg_indexes WHERE indexname LIKE '\\_scope\\_%' ESCAPE '\\'";
    CHECK(db.raw_query(count).at(0).at(0) == std::optional<std::string>("4"));
    // Both are usable: a scoped read of each table finds its record.
    create(engine, "a_b", "one", Attributes{{"c", str("x")}});
    create(engine, "a", "two", Attributes{{"b_c", str("y")}});
    auto shared = std::make_shared<const Scope>(scope);
    CHECK(engine.list_records("a_b", "", 10, shared.get()).records.size() == 1);
    CHECK(engine.list_records("a", "", 10, shared.get()).records.size() == 1);
  });
}

}  // namespace
}  // namespace outpost::test
