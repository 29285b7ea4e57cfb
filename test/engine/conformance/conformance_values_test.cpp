// Engine conformance suite: typed values (DESIGN.md section 3). Values written
// to native columns read back as the identical canonical text on every backend.
#include <doctest/doctest.h>

#include <string>

#include "engine/backends.h"

namespace outpost::test {
namespace {

struct Case {
  const char* column;
  ValueType type;
  std::string input;
  std::string canonical;
};

std::string all_bytes_base64() {
  std::string raw;
  for (int i = 0; i < 256; ++i) raw += static_cast<char>(i);
  return Value::from_bytes(raw).text();
}

std::vector<Case> value_cases() {
  std::vector<Case> cases = {
      {"s", ValueType::string, "", ""},
      {"s", ValueType::string, "hello", "hello"},
      {"s", ValueType::string, "Ωmega ☃ 😀", "Ωmega ☃ 😀"},
      {"s", ValueType::string, "say \"hi\" it's \\ back`", "say \"hi\" it's \\ back`"},
      {"s", ValueType::string, "line1\nline2\r\nline3\ttab", "line1\nline2\r\nline3\ttab"},
      {"s", ValueType::string, "ctl \x01\x1f\x7f in a value", "ctl \x01\x1f\x7f in a value"},
      {"s", ValueType::string, "'); DROP TABLE typed; --", "'); DROP TABLE typed; --"},
      {"s", ValueType::string, "  padded  ", "  padded  "},
      {"s", ValueType::string, std::string(20000, 'z'), std::string(20000, 'z')},
      {"i", ValueType::int_, "0", "0"},
      {"i", ValueType::int_, "42", "42"},
      {"i", ValueType::int_, "-17", "-17"},
      {"i", ValueType::int_, "9223372036854775807", "9223372036854775807"},
      {"i", ValueType::int_, "-9223372036854775808", "-9223372036854775808"},
      {"i", ValueType::int_, "9007199254740993", "9007199254740993"},  // not a double
      {"f", ValueType::float_, "0", "0"},
      {"f", ValueType::float_, "-0", "0"},
      {"f", ValueType::float_, "0.0", "0"},
      {"f", ValueType::float_, "1.50", "1.5"},
      {"f", ValueType::float_, "0.1", "0.1"},
      {"f", ValueType::float_, "0.3476", "0.3476"},
      {"f", ValueType::float_, "-2.5e-3", "-0.0025"},
      {"f", ValueType::float_, "1e21", "1e+21"},
      {"f", ValueType::float_, "123456789012345678901", "123456789012345680000"},
      {"f", ValueType::float_, "1e-7", "1e-7"},
      {"f", ValueType::float_, "0.000001", "0.000001"},
      {"f", ValueType::float_, "5e-324", "5e-324"},
      {"f", ValueType::float_, "1.7976931348623157e308", "1.7976931348623157e+308"},
      {"f", ValueType::float_, "-1.5e300", "-1.5e+300"},
      {"f", ValueType::float_, "3.141592653589793238", "3.141592653589793"},
      {"f", ValueType::float_, "4.35", "4.35"},
      {"b", ValueType::bool_, "true", "true"},
      {"b", ValueType::bool_, "false", "false"},
      {"y", ValueType::bytes, "", ""},
      {"y", ValueType::bytes, "QQ==", "QQ=="},
      {"y", ValueType::bytes, "AAEC/w==", "AAEC/w=="},
      {"y", ValueType::bytes, "AAAA", "AAAA"},  // three NUL bytes
      {"y", ValueType::bytes, all_bytes_base64(), all_bytes_base64()},
      {"t", ValueType::timestamp, "2026-11-22T10:00:00Z", "2026-11-22T10:00:00.000000Z"},
      {"t", ValueType::timestamp, "2026-11-22t10:00:00.5z", "2026-11-22T10:00:00.500000Z"},
      {"t", ValueType::timestamp, "2026-11-22T10:00:00.123456+02:00",
       "2026-11-22T08:00:00.123456Z"},
      {"t", ValueType::timestamp, "2024-02-29T23:59:59-05:30", "2024-03-01T05:29:59.000000Z"},
      {"t", ValueType::timestamp, "1970-01-01T00:00:00Z", "1970-01-01T00:00:00.000000Z"},
      {"t", ValueType::timestamp, "1969-12-31T23:59:59.999999Z", "1969-12-31T23:59:59.999999Z"},
      {"t", ValueType::timestamp, "0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000000Z"},
      {"t", ValueType::timestamp, "0001-01-01T00:30:00+00:30", "0001-01-01T00:00:00.000000Z"},
      {"t", ValueType::timestamp, "9999-12-31T23:59:59.999999Z", "9999-12-31T23:59:59.999999Z"},
      {"t", ValueType::timestamp, "9999-12-31T22:59:59-01:00", "9999-12-31T23:59:59.000000Z"},
  };
  return cases;
}

TEST_CASE("conformance: every type reads back as its identical canonical text") {
  run_on_backends([](Engine&, TestDatabase& db) {
    create_table(db.engine(), typed_table());
    auto cases = value_cases();
    std::vector<Revision> revs;
    for (size_t i = 0; i < cases.size(); ++i) {
      const Case& c = cases[i];
      CAPTURE(i);
      CAPTURE(c.input);
      Value v = Value::parse(c.type, c.input, c.column);
      REQUIRE(v.text() == c.canonical);
      Attributes a{{c.column, v}};
      std::string id = "v" + std::to_string(i);
      Revision r = create(db.engine(), "typed", id, a);
      CHECK(r == compute_revision("typed", id, Revision(), false, a));
      revs.push_back(r);
      Record got = must_get(db.engine(), "typed", id);
      CHECK(got.attributes == a);
      CHECK(got.revision == r);
    }

    // Read back from storage, not from a cache: reopen the database.
    db.reopen();
    Engine& engine = db.engine();
    for (size_t i = 0; i < cases.size(); ++i) {
      const Case& c = cases[i];
      CAPTURE(i);
      CAPTURE(c.input);
      Record got = must_get(engine, "typed", "v" + std::to_string(i));
      REQUIRE(got.attributes.count(c.column) == 1);
      const Value& v = got.attributes.at(c.column);
      CHECK(v.type() == c.type);
      CHECK(v.text() == c.canonical);
      CHECK(got.attributes.size() == 1);
      CHECK(got.revision == revs[i]);
    }
    // list_records reads the same texts.
    size_t seen = 0;
    for (const auto& r : all_records(engine, "typed")) {
      size_t i = std::stoul(r.id.substr(1));
      CAPTURE(r.id);
      REQUIRE(i < cases.size());
      CHECK(r.attributes.at(cases[i].column).text() == cases[i].canonical);
      ++seen;
    }
    CHECK(seen == cases.size());
  });
}

TEST_CASE("conformance: a record with every type at once round-trips") {
  run_on_backends([](Engine&, TestDatabase& db) {
    create_table(db.engine(), typed_table());
    Attributes a{{"s", str("Amina \"Okello\" 😀")},
                 {"i", val(ValueType::int_, "-9223372036854775808")},
                 {"f", val(ValueType::float_, "1e21")},
                 {"b", val(ValueType::bool_, "false")},
                 {"y", val(ValueType::bytes, "AAEC/w==")},
                 {"t", val(ValueType::timestamp, "2026-11-22T12:30:00.000001+02:00")}};
    Revision r = create(db.engine(), "typed", "all", a);
    CHECK(r == compute_revision("typed", "all", Revision(), false, a));
    db.reopen();
    Record got = must_get(db.engine(), "typed", "all");
    CHECK(got.attributes == a);
    CHECK(got.attributes.at("t").text() == "2026-11-22T10:30:00.000001Z");
    CHECK(got.attributes.at("f").text() == "1e+21");
    // bulk_get returns the same body (history rows are native too).
    auto bg = db.engine().bulk_get({BulkGetQuery{"typed", "all", r, {}}});
    REQUIRE(bg.size() == 1);
    REQUIRE(bg[0].revision.has_value());
    CHECK(bg[0].revision->attributes == a);
  });
}

TEST_CASE("conformance: non-winning history revisions keep their typed bodies") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    create_table(engine, typed_table());
    Attributes a1{{"f", val(ValueType::float_, "5e-324")},
                  {"t", val(ValueType::timestamp, "0001-01-01T00:00:00Z")}};
    Attributes a2{{"y", val(ValueType::bytes, "")}, {"b", val(ValueType::bool_, "true")}};
    Revision r1 = create(engine, "typed", "h", a1);
    Revision r2 = update(engine, "typed", "h", r1, a2);
    GetOptions o;
    o.revision = r1;
    CHECK(must_get(engine, "typed", "h", o).attributes == a1);
    o.revision = r2;
    CHECK(must_get(engine, "typed", "h", o).attributes == a2);
    CHECK(must_get(engine, "typed", "h").attributes == a2);
  });
}

TEST_CASE("conformance: null and absent attributes are the same value") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    create_table(engine, typed_table());
    // No attributes at all.
    Revision r1 = create(engine, "typed", "empty", {});
    CHECK(r1 == compute_revision("typed", "empty", Revision(), false, {}));
    Record got = must_get(engine, "typed", "empty");
    CHECK(got.attributes.empty());
    CHECK_FALSE(got.deleted);

    // Dropping an attribute on update makes it null: it reads back absent and
    // is left out of the hash.
    Attributes full{{"s", str("x")}, {"i", num(3)}};
    Revision a1 = create(engine, "typed", "drop", full);
    Attributes partial{{"s", str("x")}};
    Revision a2 = update(engine, "typed", "drop", a1, partial);
    CHECK(a2 == compute_revision("typed", "drop", a1, false, partial));
    CHECK(must_get(engine, "typed", "drop").attributes == partial);
    for (const auto& r : all_records(engine, "typed"))
      if (r.id == "drop") CHECK(r.attributes == partial);

    // The empty string is a value, not null.
    Attributes empty_string{{"s", str("")}};
    Revision e1 = create(engine, "typed", "empty-string", empty_string);
    CHECK(e1 != compute_revision("typed", "empty-string", Revision(), false, {}));
    CHECK(must_get(engine, "typed", "empty-string").attributes == empty_string);
  });
}

TEST_CASE("conformance: unknown_column, missing_required and wrong types are refused") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    create_table(engine, typed_table());
    Table people{"people", {col("name", ValueType::string, true), col("age", ValueType::int_)}};
    create_table(engine, people);
    Revision p1 = create(engine, "people", "p1", {{"name", str("Ann")}, {"age", num(30)}});
    std::string before = dump(engine);

    auto put = [&](const std::string& table, const std::string& id, const Revision& parent,
                   Attributes a) {
      Edit e;
      e.table = table;
      e.id = id;
      e.parent = parent;
      e.attributes = std::move(a);
      return code_of(write_one(engine, e));
    };
    CHECK(put("typed", "x", {}, {{"nope", str("v")}}) == ErrorCode::unknown_column);
    CHECK(put("typed", "x", {}, {{"s", str("ok")}, {"S", str("v")}}) == ErrorCode::unknown_column);
    CHECK(put("typed", "x", {}, {{"_id", str("v")}}) == ErrorCode::unknown_column);
    CHECK(put("people", "p2", {}, {{"age", num(3)}}) == ErrorCode::missing_required);
    CHECK(put("people", "p1", p1, {{"age", num(31)}}) == ErrorCode::missing_required);
    // A value of the wrong type for its column.
    CHECK(put("typed", "x", {}, {{"s", num(5)}}) == ErrorCode::invalid_value);
    CHECK(put("typed", "x", {}, {{"i", str("5")}}) == ErrorCode::invalid_value);
    CHECK(put("typed", "x", {}, {{"f", num(5)}}) == ErrorCode::invalid_value);
    CHECK(put("typed", "x", {}, {{"b", str("true")}}) == ErrorCode::invalid_value);
    CHECK(put("typed", "x", {}, {{"y", str("AAEC/w==")}}) == ErrorCode::invalid_value);
    CHECK(put("typed", "x", {}, {{"t", str("2026-11-22T10:00:00.000000Z")}}) ==
          ErrorCode::invalid_value);
    CHECK(put("people", "p1", p1, {{"name", num(1)}}) == ErrorCode::invalid_value);

    // The throwing wrapper reports the same codes.
    CHECK(error_of([&] {
            create(engine, "typed", "x", {{"nope", str("v")}});
          }) == ErrorCode::unknown_column);
    CHECK(error_of([&] { create(engine, "people", "p3", {}); }) == ErrorCode::missing_required);

    // Nothing was stored.
    CHECK_FALSE(engine.get("typed", "x").has_value());
    CHECK_FALSE(engine.get("people", "p2").has_value());
    CHECK(dump(engine) == before);

    // Deleting does not need the required column.
    Revision d = remove(engine, "people", "p1", p1);
    CHECK(d == compute_revision("people", "p1", p1, true, {}));
  });
}

TEST_CASE("conformance: replicated revisions are type-checked too") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    create_table(engine, typed_table());
    std::string before = dump(engine);
    auto make = [](Attributes a) {
      RemoteRevision rr;
      rr.table = "typed";
      rr.id = "r";
      rr.attributes = std::move(a);
      rr.revision = compute_revision("typed", "r", Revision(), false, rr.attributes);
      return rr;
    };
    CHECK(code_of(write_one_replicated(engine, make({{"nope", str("v")}}))) ==
          ErrorCode::unknown_column);
    CHECK(code_of(write_one_replicated(engine, make({{"i", str("v")}}))) ==
          ErrorCode::invalid_value);
    CHECK_FALSE(engine.get("typed", "r").has_value());
    CHECK(dump(engine) == before);
  });
}

}  // namespace
}  // namespace outpost::test
