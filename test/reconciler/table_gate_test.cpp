// The table gate of a run: ensure, ready, skipped tables and their catch-up.
#include "reconciler/table_gate.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "reconciler/peers.h"

namespace outpost::test {

namespace {

struct Gate {
  std::vector<std::string> calls;
  std::vector<ReplicationError> errors;
  TableGate gate;

  Gate(Engine& source, Engine& target, std::vector<std::string> filter = {})
      : gate(
            source, target, std::move(filter),
            [this](std::string_view what, const std::function<void()>& fn) {
              calls.emplace_back(what);
              fn();
            },
            [this](ReplicationError e) { errors.push_back(std::move(e)); }) {}
};

}  // namespace

TEST_CASE("reconciler: table gate makes the target's definitions a superset of the source's") {
  auto peers = make_peers(2, /*mixed=*/false);
  Engine& a = *peers[0];
  Engine& b = *peers[1];
  create_table(a, Table{"items", {col("name", ValueType::string), col("extra", ValueType::int_)}});
  create_table(b, Table{"items", {col("name", ValueType::string), col("old", ValueType::bool_)}});
  create_table(a, Table{"same", {col("x", ValueType::int_)}});
  create_table(b, Table{"same", {col("x", ValueType::int_)}});
  create_table(a, Table{"fresh", {col("x", ValueType::int_)}});

  Gate g(a, b);
  g.gate.ensure(a.list_tables(), b.list_tables());
  CHECK(g.errors.empty());
  CHECK(g.gate.is_ready("items"));
  CHECK(g.gate.is_ready("same"));
  CHECK(g.gate.is_ready("fresh"));
  // A definition the target holds already is not written again.
  CHECK(g.calls == std::vector<std::string>{"put_table", "put_table"});
  auto merged = b.get_table("items");
  REQUIRE(merged);
  CHECK(merged->find_column("old") != nullptr);
  CHECK(merged->find_column("extra") != nullptr);
  CHECK(b.get_table("fresh").has_value());
  CHECK(g.gate.skipped().empty());
  CHECK(g.gate.to_catch_up().empty());
}

TEST_CASE("reconciler: table gate opens only the filtered tables") {
  auto peers = make_peers(2, /*mixed=*/false);
  Engine& a = *peers[0];
  Engine& b = *peers[1];
  create_table(a, Table{"one", {col("x", ValueType::int_)}});
  create_table(a, Table{"two", {col("x", ValueType::int_)}});
  Gate g(a, b, {"two"});
  g.gate.ensure(a.list_tables(), b.list_tables());
  CHECK(!g.gate.is_ready("one"));
  CHECK(g.gate.is_ready("two"));
  CHECK(!b.get_table("one").has_value());
}

TEST_CASE("reconciler: table gate skips a refused table from the current cursor, once") {
  auto peers = make_peers(2, /*mixed=*/false);
  Engine& a = *peers[0];
  Engine& b = *peers[1];
  create_table(a, Table{"clash", {col("x", ValueType::int_)}});
  create_table(b, Table{"clash", {col("x", ValueType::string)}});
  Gate g(a, b);
  g.gate.set_cursor("7");
  g.gate.ensure(a.list_tables(), b.list_tables());
  CHECK(!g.gate.is_ready("clash"));
  REQUIRE(g.errors.size() == 1);
  CHECK(g.errors[0].table == "clash");
  CHECK(g.errors[0].id.empty());
  CHECK(g.errors[0].code == ErrorCode::schema_conflict);
  CHECK(g.gate.skipped() == std::map<std::string, std::string>{{"clash", "7"}});
  // Asked again (a change of the table in the feed): refused without a call.
  const size_t calls = g.calls.size();
  g.gate.set_cursor("9");
  CHECK(!g.gate.ready("clash"));
  CHECK(g.calls.size() == calls);
  CHECK(g.errors.size() == 1);
  CHECK(g.gate.skipped().at("clash") == "7");
  CHECK(g.gate.to_catch_up().empty());
}

TEST_CASE("reconciler: table gate opens a table first seen in the feed") {
  auto peers = make_peers(2, /*mixed=*/false);
  Engine& a = *peers[0];
  Engine& b = *peers[1];
  Gate g(a, b);
  g.gate.ensure(a.list_tables(), b.list_tables());
  create_table(a, Table{"later", {col("x", ValueType::int_)}});
  CHECK(g.gate.ready("later"));
  CHECK(g.calls == std::vector<std::string>{"get_table", "get_table", "put_table"});
  CHECK(b.get_table("later").has_value());
  // Known now: no more calls.
  CHECK(g.gate.ready("later"));
  CHECK(g.calls.size() == 3);

  // A table the source lists changes of but has no definition for.
  g.gate.set_cursor("3");
  CHECK(!g.gate.ready("ghost"));
  REQUIRE(g.errors.size() == 1);
  CHECK(g.errors[0].code == ErrorCode::unknown_table);
  CHECK(g.gate.skipped().at("ghost") == "3");
}

TEST_CASE("reconciler: table gate lists the skipped tables the target accepts now") {
  auto peers = make_peers(2, /*mixed=*/false);
  Engine& a = *peers[0];
  Engine& b = *peers[1];
  create_table(a, Table{"fixed", {col("x", ValueType::int_)}});
  create_table(a, Table{"clash", {col("x", ValueType::int_)}});
  create_table(b, Table{"clash", {col("x", ValueType::string)}});
  Gate g(a, b);
  g.gate.resume({{"fixed", "4"}, {"clash", "2"}, {"gone", "1"}});
  g.gate.set_cursor("10");
  g.gate.ensure(a.list_tables(), b.list_tables());
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  CHECK(g.gate.to_catch_up() == Pairs{{"fixed", "4"}});
  // The cursor skipping began at is kept for a table still refused.
  CHECK(g.gate.skipped().at("clash") == "2");
  g.gate.caught_up_to("fixed", "6");
  CHECK(g.gate.to_catch_up() == Pairs{{"fixed", "6"}});
  g.gate.caught_up("fixed");
  CHECK(g.gate.to_catch_up().empty());
  CHECK(g.gate.skipped() == std::map<std::string, std::string>{{"clash", "2"}, {"gone", "1"}});
}

TEST_CASE("reconciler: table gate throws what is not the table's fault") {
  auto peers = make_peers(2, /*mixed=*/false);
  Engine& a = *peers[0];
  Engine& b = *peers[1];
  create_table(a, Table{"items", {col("x", ValueType::int_)}});
  TableGate gate(
      a, b, {},
      [](std::string_view what, const std::function<void()>&) {
        if (what == "put_table") throw Error(ErrorCode::unavailable, "down");
      },
      [](ReplicationError) { FAIL("no table error expected"); });
  CHECK_THROWS_AS(gate.ensure(a.list_tables(), b.list_tables()), Error);
  CHECK(!gate.is_ready("items"));
  CHECK(gate.skipped().empty());
}

}  // namespace outpost::test
