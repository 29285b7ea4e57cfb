// Name rules of DESIGN.md section 2, table validation and schema merges.
#include "api/table.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "api/error.h"

namespace outpost {
namespace {

ErrorCode code_of(auto&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.code();
  }
  return ErrorCode::internal;  // "nothing thrown" never equals the expected code below
}

std::string message_of(auto&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.message();
  }
  return "(nothing thrown)";
}

Column col(std::string name, ValueType type, bool required = false) {
  return Column{std::move(name), type, required};
}

}  // namespace

TEST_CASE("table names") {
  for (const std::string& ok :
       std::vector<std::string>{"households", "a", "visits_2026", "t_", "history", "my_history_x",
                                std::string(48, 'a')}) {
    INFO("name " << ok);
    CHECK_NOTHROW(validate_table_name(ok));
  }
  using namespace std::string_literals;
  for (const std::string& bad : std::vector<std::string>{
           ""s, "a\"; DROP TABLE x; --"s, "households_history"s, "_meta"s, std::string(49, 'a'),
           "sqlite_master"s, "pg_catalog"s, "Households"s, "1abc"s, "a-b"s, "a b"s, "ünï"s, "a\0b"s,
           "_history"s, "x_history"s, "a;"s, "tab\tle"s}) {
    INFO("name " << bad);
    CHECK(code_of([&] { validate_table_name(bad); }) == ErrorCode::invalid_name);
  }
  const std::string m = message_of([] { validate_table_name("a\"; DROP TABLE x; --"); });
  CHECK(m.find("\"a\\\"; DROP TABLE x; --\"") != std::string::npos);  // quoted, escaped
  CHECK(m.find("1-48 characters") != std::string::npos);
  CHECK(message_of([] { validate_table_name("households_history"); }).find("_history") !=
        std::string::npos);
}

TEST_CASE("column names") {
  CHECK_NOTHROW(validate_column_name("head_name"));
  CHECK_NOTHROW(validate_column_name(std::string(63, 'z')));
  CHECK_NOTHROW(validate_column_name("x_history"));  // only tables reserve _history
  for (const std::string& bad :
       std::vector<std::string>{std::string(), std::string(64, 'z'), std::string("_id"),
                                std::string("_rev"), std::string("Name"), std::string("9lives"),
                                std::string("a\"b"), std::string("a; DROP")}) {
    INFO("name " << bad);
    CHECK(code_of([&] { validate_column_name(bad); }) == ErrorCode::invalid_name);
  }
  CHECK(message_of([] { validate_column_name("_id"); }).find("\"_id\"") != std::string::npos);
}

TEST_CASE("record ids") {
  using namespace std::string_literals;
  for (const std::string& ok :
       std::vector<std::string>{"h-001"s, "ünïcode id/with:colons,and,commas"s, "a_"s, "x"s,
                                std::string(255, 'x'), "a b"s, "emoji 😀"s, "\"quoted\""s}) {
    INFO("id " << ok);
    CHECK_NOTHROW(validate_record_id(ok));
  }
  for (const std::string& bad :
       std::vector<std::string>{""s, std::string(256, 'x'), "_design"s, "_"s, "a\0b"s, "tab\there"s,
                                "new\nline"s, "del\x7f"s, "\x1f"s, "\xff\xfe"s, "\xc0\xaf"s}) {
    INFO("id " << bad);
    CHECK(code_of([&] { validate_record_id(bad); }) == ErrorCode::invalid_name);
  }
  CHECK(message_of([] { validate_record_id("_design"); }).find("\"_design\"") != std::string::npos);
}

TEST_CASE("validate_table") {
  Table t{"households", {col("head_name", ValueType::string, true), col("size", ValueType::int_)}};
  CHECK_NOTHROW(validate_table(t));
  CHECK_NOTHROW(validate_table(Table{"empty", {}}));  // an empty column list is allowed
  Table dup = t;
  dup.columns.push_back(col("size", ValueType::float_));
  CHECK(code_of([&] { validate_table(dup); }) == ErrorCode::invalid_name);
  CHECK(message_of([&] { validate_table(dup); }).find("\"size\"") != std::string::npos);
  Table bad_col = t;
  bad_col.columns.push_back(col("Bad", ValueType::string));
  CHECK(code_of([&] { validate_table(bad_col); }) == ErrorCode::invalid_name);
  CHECK(code_of([&] { validate_table(Table{"x_history", {}}); }) == ErrorCode::invalid_name);
  CHECK(t.find_column("size") != nullptr);
  CHECK(t.find_column("size")->type == ValueType::int_);
  CHECK(t.find_column("nope") == nullptr);
  CHECK(history_table_name("households") == "households_history");
}

TEST_CASE("merge_tables") {
  const Table existing{"households",
                       {col("head_name", ValueType::string, true), col("size", ValueType::int_)}};

  SUBCASE("union, existing columns first, new ones never required") {
    const Table incoming{"households",
                         {col("village", ValueType::string, true), col("size", ValueType::int_),
                          col("lat", ValueType::float_)}};
    const Table merged = merge_tables(existing, incoming);
    CHECK(merged.name == "households");
    REQUIRE(merged.columns.size() == 4);
    CHECK(merged.columns[0] == col("head_name", ValueType::string, true));
    CHECK(merged.columns[1] == col("size", ValueType::int_));
    CHECK(merged.columns[2] == col("village", ValueType::string, false));
    CHECK(merged.columns[3] == col("lat", ValueType::float_));
  }
  SUBCASE("a required flag change on an existing column is ignored") {
    const Table incoming{
        "households",
        {col("head_name", ValueType::string, false), col("size", ValueType::int_, true)}};
    CHECK(merge_tables(existing, incoming) == existing);
  }
  SUBCASE("a subset or the same definition changes nothing") {
    CHECK(merge_tables(existing, existing) == existing);
    CHECK(merge_tables(existing, Table{"households", {}}) == existing);
  }
  SUBCASE("a type clash is schema_conflict naming table, column and both types") {
    const Table incoming{"households", {col("size", ValueType::string)}};
    CHECK(code_of([&] { merge_tables(existing, incoming); }) == ErrorCode::schema_conflict);
    const std::string m = message_of([&] { merge_tables(existing, incoming); });
    INFO(m);
    CHECK(m.find("\"households\"") != std::string::npos);
    CHECK(m.find("\"size\"") != std::string::npos);
    CHECK(m.find("int") != std::string::npos);
    CHECK(m.find("string") != std::string::npos);
  }
  SUBCASE("an invalid incoming definition is refused") {
    const Table incoming{"households", {col("x", ValueType::int_), col("x", ValueType::int_)}};
    CHECK(code_of([&] { merge_tables(existing, incoming); }) == ErrorCode::invalid_name);
  }
}

}  // namespace outpost
