// Engine conformance suite: the storage shape of DESIGN.md section 5, read
// with plain SQL as an embedding application or an analyst would: per user
// table T one row per live record (the winner) with native columns, and
// T_history with one row per revision node.
#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>

#include "engine/backends.h"

namespace outpost::test {
namespace {

using SqlRow = TestDatabase::SqlRow;

// SQL booleans as text: SQLite "1"/"0", PostgreSQL "t"/"f" or "true"/"false".
std::optional<bool> flag(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  if (*text == "1" || *text == "t" || *text == "true") return true;
  if (*text == "0" || *text == "f" || *text == "false") return false;
  FAIL_CHECK((std::string("not a boolean: ") + *text));
  return std::nullopt;
}

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string text_or_null(const std::optional<std::string>& v) { return v ? *v : "(NULL)"; }

TEST_CASE("conformance: storage: values sit in native columns of the live table") {
  run_on_backends([](Engine& engine, TestDatabase& db) {
    create_table(engine, typed_table());
    Value ts = val(ValueType::timestamp, "2026-11-22T10:00:00.123456+02:00");
    Attributes a{{"s", str("Amina 'O' \"k\"")},
                 {"i", val(ValueType::int_, "-9223372036854775808")},
                 {"f", val(ValueType::float_, "0.1")},
                 {"b", val(ValueType::bool_, "true")},
                 {"y", val(ValueType::bytes, "AAEC/w==")},
                 {"t", ts}};
    Revision rv = create(engine, "typed", "v", a);
    create(engine, "typed", "n", {{"s", str("only")}});
    create(engine, "typed", "z",
           {{"b", val(ValueType::bool_, "false")}, {"f", val(ValueType::float_, "-0")}});

    const bool pg = db.backend() == "postgres";
    std::string type_of = pg ? "pg_typeof(%)::text" : "typeof(%)";
    auto typeof_col = [&](const std::string& c) {
      std::string e = type_of;
      return e.replace(e.find('%'), 1, "\"" + c + "\"");
    };
    std::string sql =
        "SELECT " + typeof_col("s") + "," + typeof_col("i") + "," + typeof_col("f") + "," +
        typeof_col("b") + "," + typeof_col("y") + "," + typeof_col("t") + ",\"s\",\"i\"," +
        (pg ? "\"b\"::text" : "\"b\"") + "," + (pg ? "encode(\"y\",'hex')" : "hex(\"y\")") + "," +
        (pg ? "((extract(epoch from \"t\")*1000000)::bigint)::text" : "\"t\"") +
        ",\"_rev\",\"_conflicted\"," + (pg ? "(\"f\" = 0.1::float8)::text" : "\"f\" = 0.1") +
        " FROM \"typed\" WHERE \"_id\" = 'v'";
    auto rows = db.raw_query(sql);
    REQUIRE(rows.size() == 1);
    const SqlRow& r = rows[0];
    REQUIRE(r.size() == 14);
    std::vector<std::string> types;
    for (int i = 0; i < 6; ++i) types.push_back(text_or_null(r[i]));
    if (pg) {
      CHECK(types == std::vector<std::string>{"text", "bigint", "double precision", "boolean",
                                              "bytea", "timestamp with time zone"});
    } else {
      CHECK(types ==
            std::vector<std::string>{"text", "integer", "real", "integer", "blob", "integer"});
    }
    CHECK(r[6] == std::optional<std::string>("Amina 'O' \"k\""));
    CHECK(r[7] == std::optional<std::string>("-9223372036854775808"));
    CHECK(flag(r[8]) == std::optional<bool>(true));
    CHECK(upper(text_or_null(r[9])) == "000102FF");
    CHECK(r[10] == std::optional<std::string>(std::to_string(ts.as_timestamp_micros())));
    CHECK(r[11] == std::optional<std::string>(rv.str()));
    CHECK(flag(r[12]) == std::optional<bool>(false));
    CHECK(flag(r[13]) == std::optional<bool>(true));

    // Absent attributes are SQL NULL; false and 0.0 are values.
    auto nulls = db.raw_query(
        "SELECT \"_id\",\"s\",\"i\",\"f\",\"b\",\"y\",\"t\" FROM \"typed\" WHERE \"_id\" IN "
        "('n','z') ORDER BY \"_id\"");
    REQUIRE(nulls.size() == 2);
    CHECK(nulls[0][1] == std::optional<std::string>("only"));
    for (int i = 2; i < 7; ++i) CHECK_FALSE(nulls[0][i].has_value());
    CHECK_FALSE(nulls[1][1].has_value());
    CHECK(nulls[1][3].has_value());
    CHECK(flag(nulls[1][4]) == std::optional<bool>(false));
  });
}

TEST_CASE("conformance: storage: the live table holds winners, the history table every node") {
  run_on_backends([](Engine& engine, TestDatabase& db) {
    create_table(engine, items_table());
    auto local = chain(engine, "items", "a", 2);
    auto remote = offline_chain("items", "a", local[1], 3, "remote");
    REQUIRE(write_one_replicated(engine, remote_of("items", "a", remote, 2, {local[1]})).ok());
    Revision c1 = create(engine, "items", "c", item("c"));
    auto other = offline_chain("items", "c", Revision(), 1, "other");
    REQUIRE(write_one_replicated(engine, remote_of("items", "c", other, 0)).ok());
    Revision d1 = create(engine, "items", "d", item("d"));
    Revision d2 = remove(engine, "items", "d", d1);
    Revision c_winner = std::max(c1, other[0].revision);

    auto live = db.raw_query(
        "SELECT \"_id\",\"_rev\",\"_conflicted\",\"name\",\"size\",\"_seq\" FROM \"items\" "
        "ORDER BY \"_id\"");
    REQUIRE(live.size() == 2);  // the deleted record has no row
    CHECK(live[0][0] == std::optional<std::string>("a"));
    CHECK(live[0][1] == std::optional<std::string>(remote[2].revision.str()));
    CHECK(flag(live[0][2]) == std::optional<bool>(false));
    CHECK(live[0][3] == std::optional<std::string>(remote[2].attributes.at("name").text()));
    CHECK(live[0][4] == std::optional<std::string>("5"));
    CHECK(live[0][5].has_value());
    CHECK(live[1][0] == std::optional<std::string>("c"));
    CHECK(live[1][1] == std::optional<std::string>(c_winner.str()));
    CHECK(flag(live[1][2]) == std::optional<bool>(true));

    auto hist = db.raw_query(
        "SELECT \"_rev\",\"_parent\",\"_gen\",\"_deleted\",\"_leaf\",\"_stub\",\"name\","
        "\"_seq\" FROM \"items_history\" WHERE \"_id\" = 'a' ORDER BY \"_gen\"");
    REQUIRE(hist.size() == 5);
    std::vector<Revision> revs = {local[0], local[1], remote[0].revision, remote[1].revision,
                                  remote[2].revision};
    for (size_t i = 0; i < 5; ++i) {
      CAPTURE(i);
      CHECK(hist[i][0] == std::optional<std::string>(revs[i].str()));
      if (i == 0) {
        CHECK((!hist[i][1] || hist[i][1]->empty()));  // a root: no parent
      } else {
        CHECK(hist[i][1] == std::optional<std::string>(revs[i - 1].str()));
      }
      CHECK(hist[i][2] == std::optional<std::string>(std::to_string(i + 1)));
      CHECK(flag(hist[i][3]) == std::optional<bool>(false));
      CHECK(flag(hist[i][4]) == std::optional<bool>(i == 4));
      bool stub = i == 2 || i == 3;
      CHECK(flag(hist[i][5]) == std::optional<bool>(stub));
      CHECK(hist[i][6].has_value() == !stub);
    }
    CHECK(hist[0][6] == std::optional<std::string>("a-1"));

    auto dead = db.raw_query(
        "SELECT \"_rev\",\"_deleted\",\"_leaf\",\"name\" FROM \"items_history\" WHERE "
        "\"_id\" = 'd' ORDER BY \"_gen\"");
    REQUIRE(dead.size() == 2);
    CHECK(dead[1][0] == std::optional<std::string>(d2.str()));
    CHECK(flag(dead[1][1]) == std::optional<bool>(true));
    CHECK(flag(dead[1][2]) == std::optional<bool>(true));
    CHECK_FALSE(dead[1][3].has_value());
    CHECK(flag(dead[0][2]) == std::optional<bool>(false));

    auto both = db.raw_query(
        "SELECT \"_rev\",\"_leaf\" FROM \"items_history\" WHERE \"_id\" = 'c' ORDER BY \"_rev\"");
    REQUIRE(both.size() == 2);
    CHECK(flag(both[0][1]) == std::optional<bool>(true));
    CHECK(flag(both[1][1]) == std::optional<bool>(true));

    // Resolving the conflict clears the flag in the live table.
    resolve_record(engine, "items", "c", c_winner, item("resolved"));
    auto after = db.raw_query("SELECT \"_conflicted\",\"name\" FROM \"items\" WHERE \"_id\" = 'c'");
    REQUIRE(after.size() == 1);
    CHECK(flag(after[0][0]) == std::optional<bool>(false));
    CHECK(after[0][1] == std::optional<std::string>("resolved"));
  });
}

TEST_CASE("conformance: storage: engine-owned tables exist and a column added later is native") {
  run_on_backends([](Engine& engine, TestDatabase& db) {
    create_table(engine, items_table());
    Table more = items_table();
    more.columns.push_back(col("seen", ValueType::timestamp));
    engine.put_table(more);
    Value ts = val(ValueType::timestamp, "1969-12-31T23:59:59.999999Z");
    create(engine, "items", "a", {{"name", str("a")}, {"seen", ts}});
    const bool pg = db.backend() == "postgres";
    auto rows = db.raw_query(pg ? "SELECT ((extract(epoch from \"seen\")*1000000)::bigint)::text, "
                                  "pg_typeof(\"seen\")::text FROM \"items\""
                                : "SELECT \"seen\", typeof(\"seen\") FROM \"items\"");
    REQUIRE(rows.size() == 1);
    CHECK(rows[0][0] == std::optional<std::string>(std::to_string(ts.as_timestamp_micros())));
    CHECK(rows[0][0] == std::optional<std::string>("-1"));
    CHECK(rows[0][1] == std::optional<std::string>(pg ? "timestamp with time zone" : "integer"));
    auto hist = db.raw_query("SELECT \"seen\" FROM \"items_history\" WHERE \"_id\" = 'a'");
    REQUIRE(hist.size() == 1);
    CHECK(hist[0][0].has_value());
    for (const char* t : {"_meta", "_tables", "_changes", "_local", "_tokens"}) {
      CAPTURE(t);
      CHECK_NOTHROW(db.raw_query(std::string("SELECT count(*) FROM \"") + t + "\""));
    }
    auto local = db.raw_query("SELECT count(*) FROM \"_local\"");
    CHECK(local.at(0).at(0) == std::optional<std::string>("0"));
    engine.put_local("cp", "{}");
    local = db.raw_query("SELECT count(*) FROM \"_local\"");
    CHECK(local.at(0).at(0) == std::optional<std::string>("1"));
  });
}

}  // namespace
}  // namespace outpost::test
