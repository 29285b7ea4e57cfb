// Scopes (DESIGN.md section 14): parsing into canonical form, refusals,
// fingerprints, round trips, matching and intersection.
#include "api/scope.h"

#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "api/error.h"
#include "utils/sha256.h"
#include "utils/utf8.h"

namespace outpost {
namespace {

using namespace std::string_literals;

std::vector<Table> tables() {
  return {
      Table{"households",
            {Column{"head_name", ValueType::string, true}, Column{"district", ValueType::string},
             Column{"status", ValueType::string}, Column{"size", ValueType::int_},
             Column{"lat", ValueType::float_}, Column{"consent", ValueType::bool_},
             Column{"visited", ValueType::timestamp}, Column{"photo", ValueType::bytes}}},
      Table{"visits",
            {Column{"district", ValueType::string}, Column{"when", ValueType::timestamp}}},
      Table{"clinics", {Column{"name", ValueType::string}}},
      // Columns named like keywords: the grammar tells them apart by position.
      Table{"odd", {Column{"in", ValueType::string}, Column{"and", ValueType::int_}}},
  };
}

Scope parse(std::string_view text, const ScopeLimits& limits = {}) {
  return parse_scope(text, tables(), limits);
}

std::string canonical(std::string_view text) { return scope_text(parse(text)); }
std::string fingerprint(std::string_view text) { return scope_fingerprint(parse(text)); }

// The invalid_scope message of parsing `text`; fails the test when anything
// else happens.
std::string refusal(std::string_view text, const ScopeLimits& limits = {}) {
  try {
    parse(text, limits);
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::invalid_scope);
    return e.message();
  }
  FAIL("no outpost::Error thrown");
  return {};
}

Attributes attrs(std::vector<std::pair<std::string, Value>> list) {
  return Attributes(list.begin(), list.end());
}

Value str(std::string s) { return Value::parse(ValueType::string, s); }

const ScopeClause& clause_of(const Scope& scope, std::string_view table) {
  const ScopeClause* c = scope.find(table);
  REQUIRE(c != nullptr);
  return *c;
}

}  // namespace

TEST_CASE("parse_scope: good scopes and their canonical text") {
  struct Case {
    std::string text;
    std::string canonical;
  };
  const std::vector<Case> cases{
      {"households: district = 'kampala-north' AND status IN ('open', 'pending'); visits: "
       "district = 'kampala-north'; clinics: *",
       "clinics: *; households: district = 'kampala-north' AND status IN ('open', 'pending'); "
       "visits: district = 'kampala-north'"},
      {"households: district = 'kampala-north' AND status IN ('open', 'pending');\n"
       "visits: district = 'kampala-north';\n\tclinics: *\n",
       "clinics: *; households: district = 'kampala-north' AND status IN ('open', 'pending'); "
       "visits: district = 'kampala-north'"},
      {"  clinics :*  ;  ", "clinics: *"},
      {"clinics:*;", "clinics: *"},
      {"households: status in ('b','a','b') and consent = TRUE and head_name is null",
       "households: consent = true AND head_name IS NULL AND status IN ('a', 'b')"},
      {"households: consent IN (False, true)", "households: consent IN (false, true)"},
      {"clinics: name = 'O''Brien'", "clinics: name = 'O''Brien'"},
      {"clinics: name = 'it''s; fine'", "clinics: name = 'it''s; fine'"},
      {"clinics: name = ''", "clinics: name = ''"},
      {"clinics: name = ''''", "clinics: name = ''''"},
      {"clinics: name IN ('a;b', 'AND', '*')", "clinics: name IN ('*', 'AND', 'a;b')"},
      {"clinics: name = 'Gulu – north, ü 😀'", "clinics: name = 'Gulu – north, ü 😀'"},
      {"clinics: name = 'two\nlines'", "clinics: name = 'two\nlines'"},
      {"households: lat IN (1.0, 1, 0.5e1, -0, 5)", "households: lat IN (0, 1, 5)"},
      {"households: lat = 1e21", "households: lat = 1e+21"},
      {"households: lat = -2.5e-3", "households: lat = -0.0025"},
      {"households: size IN (10, 9, -1, 10)", "households: size IN (-1, 10, 9)"},
      {"households: size = 9223372036854775807", "households: size = 9223372036854775807"},
      {"households: visited = '2026-11-22T12:00:00+02:00'",
       "households: visited = '2026-11-22T10:00:00.000000Z'"},
      {"households: visited IN ('2026-11-22T12:00:00+02:00', '2026-11-22T10:00:00Z')",
       "households: visited = '2026-11-22T10:00:00.000000Z'"},
      {"households: photo = 'AAEC/w=='", "households: photo = 'AAEC/w=='"},
      {"households: status = 'x' AND _id IN ('h2', 'h1')",
       "households: _id IN ('h1', 'h2') AND status = 'x'"},
      {"households: _id = 'ünï id/with:colons'", "households: _id = 'ünï id/with:colons'"},
      {"odd: in IN ('x') AND and = 1", "odd: and = 1 AND in = 'x'"},
      {"odd: in IS NULL", "odd: in IS NULL"},
      {"visits: *; odd: *; households: *; clinics: *",
       "clinics: *; households: *; odd: *; visits: *"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    const Scope scope = parse(c.text);
    CHECK(scope_text(scope) == c.canonical);
    CHECK(parse(scope_text(scope)) == scope);  // round trip
    CHECK(canonical(c.canonical) == c.canonical);
  }
}

TEST_CASE("parse_scope: the parsed structure") {
  const Scope scope = parse("visits: *; households: status IN ('b', 'a') AND size IS NULL");
  REQUIRE(scope.clauses.size() == 2);
  CHECK(scope.clauses[0].table == "households");
  CHECK(scope.clauses[1].table == "visits");
  CHECK(scope.clauses[1].everything());
  const ScopeClause& h = scope.clauses[0];
  REQUIRE(h.predicates.size() == 2);
  CHECK(h.predicates[0].column == "size");
  CHECK(h.predicates[0].is_null());
  CHECK(h.predicates[1].column == "status");
  CHECK(h.predicates[1].values == std::vector<Value>{str("a"), str("b")});

  const Scope floats = parse("households: lat = 1.0");
  CHECK(clause_of(floats, "households").predicates[0].values ==
        std::vector<Value>{Value::from_float(1)});
}

TEST_CASE("parse_scope: bad scopes are invalid_scope naming the clause and the reason") {
  struct Case {
    std::string text;
    std::string fragment;
  };
  const std::vector<Case> cases{
      // Empty texts and clauses.
      {"", "empty scope"},
      {" \n\t\r ", "empty scope"},
      {";", "scope clause 1 (\"\"): empty clause"},
      {" ; ", "empty clause"},
      {"clinics: *;;visits: *", "scope clause 2 (\"\"): empty clause"},
      {"clinics: *; ;", "empty clause"},
      // Tables and columns.
      {"nowhere: *", "unknown table \"nowhere\"; the tables are clinics, households, odd, visits"},
      {"CLINICS: *", "unknown table \"CLINICS\""},
      {"visits: distrct = 'x'",
       "scope clause 1 (\"visits: distrct = 'x'\"): unknown column \"distrct\" in table "
       "\"visits\"; its columns are _id, district, when"},
      {"clinics: *; visits: distrct = 'a'",
       "scope clause 2 (\"visits: distrct = 'a'\"): unknown column \"distrct\""},
      {"clinics: náme = 'a'", "unknown column \"náme\""},
      {"clinics: _rev = 'a'", "unknown column \"_rev\""},
      {"clinics", "expected ':' after the table name \"clinics\", got the end of the clause"},
      {"clinics *", "expected ':'"},
      {": *", "expected a table name, got \":\""},
      {"'clinics': *", "expected a table name"},
      // Type mismatches and bad literals.
      {"households: size = '4'", "column \"size\" is int: write the number without quotes"},
      {"households: lat = '0.5'", "column \"lat\" is float"},
      {"households: district = 4", "column \"district\" is string: write the value in single"},
      {"households: district = kampala", "column \"district\" is string"},
      {"households: visited = 2026", "column \"visited\" is timestamp"},
      {"households: photo = AAEC", "column \"photo\" is bytes"},
      {"households: consent = 'true'", "column \"consent\" is bool: write true or false"},
      {"households: consent = 1", "column \"consent\" is bool"},
      {"households: consent = yes", "column \"consent\" is bool"},
      {"households: size = true", "column \"size\" is int"},
      {"households: lat = NaN", "column \"lat\" is float"},
      {"households: size = 4.5", "bad value for column \"size\""},
      {"households: size = 007", "bad value for column \"size\""},
      {"households: size = -0", "bad value for column \"size\""},
      {"households: size = 99999999999999999999", "64 bits"},
      {"households: size = 12abc", "bad value for column \"size\""},
      {"households: size = -", "bad value for column \"size\""},
      {"households: lat = 1.5.2", "bad value for column \"lat\""},
      {"households: lat = 1e999", "float out of range"},
      {"households: lat = +1", "unexpected character \"+\""},
      {"households: visited = '2026-13-01T00:00:00Z'", "bad value for column \"visited\""},
      {"households: visited = '2026-11-22 10:00'", "bad value for column \"visited\""},
      {"households: photo = 'AAEC/w='", "bad value for column \"photo\""},
      {"clinics: name = ‘curly’", "column \"name\" is string: write the value in single quotes"},
      {"clinics: _id = '_x'", "bad value for column \"_id\""},
      {"clinics: _id = ''", "bad value for column \"_id\""},
      {"clinics: _id = '" + std::string(256, 'x') + "'", "bad value for column \"_id\""},
      {"clinics: _id = 'a\tb'", "control character"},
      {"clinics: _id = 5", "column \"_id\" is string"},
      {"clinics: _id IS NULL", "_id IS NULL matches no record"},
      {"clinics: name = NULL", "NULL is not a value: write name IS NULL"},
      {"clinics: name IN ('a', null)", "NULL is not a value"},
      // Structure.
      {"households: status IN ()", "empty IN list for column \"status\""},
      {"households: status IN ( )", "empty IN list"},
      {"households: status IN 'a'", "expected '(' after IN"},
      {"households: status IN ('a' 'b')", "expected ',' or ')' in the IN list"},
      {"households: status IN ('a',)", "write the value in single quotes"},
      {"households: status IN ('a',", "got the end of the clause"},
      {"households: status IN (('a'))", "got \"(\""},
      {"households: status == 'a'", "got \"=\""},
      {"households: status", "expected =, IN or IS NULL after column \"status\""},
      {"households: status IS NOT NULL", "expected NULL after IS, got \"NOT\""},
      {"households: status != 'a'", "unexpected character \"!\""},
      {"households: status = 'a' OR status = 'b'", "expected AND, ';' or the end of the scope"},
      {"households: status = 'a' AND", "expected a column name, got the end of the clause"},
      {"households: status = 'a' extra", "expected AND"},
      {"households: status = 'a')", "got \")\""},
      {"households:", "expected a column name"},
      {"clinics: * AND name = 'a'", "'*' (every record) cannot be combined with predicates"},
      {"clinics: name = 'a' AND *", "cannot be combined with predicates"},
      {"clinics: * *", "expected ';' or the end of the scope after '*'"},
      {"clinics: * x", "after '*'"},
      {"clinics: *; clinics: name = 'a'",
       "scope clause 2 (\"clinics: name = 'a'\"): table \"clinics\" already has clause 1"},
      {"clinics: *; visits: *; clinics: *", "table \"clinics\" already has clause 1"},
      {"households: size = 1 AND size = 2", "column \"size\" is named twice"},
      {"households: size = 1 AND status IS NULL AND size IS NULL", "named twice"},
      {"households: _id = 'a' AND _id = 'b'", "column \"_id\" is named twice"},
      // Strings, bytes and encodings.
      {"clinics: name = 'abc", "unterminated string starting at byte 16"},
      {"clinics: name = 'abc; visits: *", "unterminated string"},
      {"clinics: name = 'it''s", "unterminated string"},
      {"clinics: name = '''", "unterminated string"},
      {"clinics: *\0"s, "control character U+0000 at byte 10"},
      {"\0clinics: *"s, "control character U+0000"},
      {"clinics: name = 'a\0b'"s, "U+0000"},
      {"\x01"
       "clinics: *",
       "control character U+0001"},
      {"clinics:\x7f*", "control character U+007F"},
      {"clinics: name = '\xff'", "not valid UTF-8"},
      {"clinics: name = '\xc3'", "not valid UTF-8"},
      {"clinics\xed\xa0\x80: *", "not valid UTF-8"},
      {"clinics: name = 'a' \xc2\xa0", "expected AND"},  // NBSP is no space
      {"ü: *", "unknown table \"ü\""},
      {"clinics: name = 'a' # comment", "unexpected character \"#\""},
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    const std::string message = refusal(c.text);
    CHECK_MESSAGE(message.find(c.fragment) != std::string::npos, message);
    // Messages never echo control characters or invalid UTF-8 raw, and
    // stay short.
    CHECK(control_char_offset(message) == std::string::npos);
    CHECK(is_valid_utf8(message));
    CHECK(message.size() < 400);
  }
}

TEST_CASE("parse_scope: echoed clause text is cut short and escaped") {
  const std::string long_value(1000, 'v');
  const std::string m = refusal("clinics: name = '" + long_value + "' AND nme = 'a'");
  CHECK(m.find("scope clause 1 (\"clinics: name = 'vvv") == 0);
  CHECK(m.find("\"...): unknown column \"nme\"") != std::string::npos);
  CHECK(m.size() < 300);

  const std::string multiline = refusal("clinics:\n  nme = 'a'");
  CHECK(multiline.find("(\"clinics:\\n  nme = 'a'\")") != std::string::npos);
  CHECK(multiline.find('\n') == std::string::npos);

  // A long unknown column name is cut too.
  const std::string column = refusal("clinics: " + std::string(5000, 'c') + " = 'a'");
  CHECK(column.size() < 400);
}

TEST_CASE("parse_scope: limits and hostile text") {
  using Clock = std::chrono::steady_clock;
  // Text over the limit, refused before any other work.
  const std::string megabyte(1 << 20, 'a');
  CHECK(refusal(megabyte).find("scope text is 1048576 bytes; at most 65536 are accepted") !=
        std::string::npos);
  CHECK(refusal("clinics: name = 'abcdef'", ScopeLimits{10, 10}).find("at most 10") !=
        std::string::npos);
  CHECK_NOTHROW(parse("clinics: *", ScopeLimits{10, 10}));

  // IN lists: 10000 members pass with the default limits, 10001 do not.
  auto in_list = [](int members) {
    std::string text = "households: size IN (";
    for (int i = 0; i < members; ++i) text += (i ? "," : "") + std::to_string(i);
    return text + ")";
  };
  const Scope ten_thousand = parse(in_list(10000));
  CHECK(clause_of(ten_thousand, "households").predicates[0].values.size() == 10000);
  CHECK(parse(scope_text(ten_thousand)) == ten_thousand);
  CHECK(
      refusal(in_list(10001)).find("the IN list for column \"size\" has more than 10000 values") !=
      std::string::npos);
  CHECK(refusal("households: size IN (1, 2, 3)", ScopeLimits{1000, 2}).find("more than 2") !=
        std::string::npos);
  CHECK(clause_of(parse("households: size IN (1, 1, 1)", ScopeLimits{1000, 3}), "households")
            .predicates[0]
            .values.size() == 1);

  // With the text limit raised, a million IN members, a megabyte string, a
  // megabyte of quote escapes and deep nesting are still handled quickly.
  const ScopeLimits big{64u << 20, 10000};
  const auto start = Clock::now();
  CHECK(refusal(in_list(1000000), big).find("more than 10000") != std::string::npos);
  const Scope huge = parse("clinics: name = '" + megabyte + "'", big);
  CHECK(clause_of(huge, "clinics").predicates[0].values[0].text().size() == megabyte.size());
  const Scope quotes = parse("clinics: name = '" + std::string(1 << 20, '\'') + "'", big);
  CHECK(clause_of(quotes, "clinics").predicates[0].values[0].text() == std::string(1 << 19, '\''));
  CHECK(refusal("clinics: name IN " + std::string(1 << 20, '('), big).find("got \"(\"") !=
        std::string::npos);
  CHECK(refusal(std::string(1 << 20, ';'), big).find("empty clause") != std::string::npos);
  CHECK(refusal("clinics: name = '" + megabyte, big).find("unterminated string") !=
        std::string::npos);
  std::string many_clauses;
  for (int i = 0; i < 100000; ++i) many_clauses += "clinics: *;";
  CHECK(refusal(many_clauses, big).find("already has clause 1") != std::string::npos);
  CHECK(Clock::now() - start < std::chrono::seconds(10));  // linear work: well under a second
}

TEST_CASE("scope_fingerprint: the same meaning gives the same fingerprint") {
  const std::vector<std::vector<std::string>> same{
      {"clinics: *; households: size = 1", "households: size = 1; clinics: *",
       " households :size=1 ; clinics:*; "},
      {"households: status IN ('open', 'pending')", "households: status IN ('pending', 'open')",
       "households: status IN ('open', 'pending', 'open', 'pending')",
       "households: status in ('open','pending')"},
      {"households: lat = 1.0", "households: lat = 1", "households: lat IN (1, 1.00, 10e-1)"},
      {"clinics: name = 'a'", "clinics: name IN ('a')", "clinics: name in ('a', 'a')"},
      {"households: visited = '2026-11-22T12:00:00+02:00'",
       "households: visited = '2026-11-22T10:00:00Z'",
       "households: visited = '2026-11-22T05:00:00.000000-05:00'"},
      {"households: consent = true AND size IS NULL",
       "households: size is null and consent = TRUE"},
  };
  for (const auto& group : same) {
    CAPTURE(group[0]);
    const std::string fp = fingerprint(group[0]);
    CHECK(fp.size() == 64);
    for (const std::string& text : group) {
      CAPTURE(text);
      CHECK(fingerprint(text) == fp);
      CHECK(parse(text) == parse(group[0]));
    }
  }

  const std::vector<std::string> different{
      "clinics: *",
      "clinics: name IS NULL",
      "clinics: name = 'a'",
      "clinics: name = 'A'",
      "clinics: name = 'a '",
      "clinics: name IN ('a', 'b')",
      "clinics: _id = 'a'",
      "clinics: *; visits: *",
      "visits: *",
      "households: size = 1",
      "households: lat = 1",
      "households: lat = 1.5",
      "households: district = '1'",
      "households: consent = false",
      "households: visited = '2026-11-22T12:00:00Z'",
      "households: size = 1 AND lat = 1",
      "odd: in = 'a'",
      "odd: in = 'a;'",
  };
  std::vector<std::string> seen;
  for (const std::string& text : different) {
    CAPTURE(text);
    const std::string fp = fingerprint(text);
    for (const std::string& other : seen) CHECK(fp != other);
    seen.push_back(fp);
  }
  CHECK(fingerprint("clinics:*") == sha256_hex("clinics: *"));
}

TEST_CASE("Scope::find") {
  const Scope scope = parse("visits: *; clinics: name = 'a'; households: *");
  REQUIRE(scope.find("clinics") != nullptr);
  CHECK(scope.find("clinics")->predicates.size() == 1);
  CHECK(scope.find("households") == &scope.clauses[1]);
  CHECK(scope.find("visits") == &scope.clauses[2]);
  CHECK(scope.find("odd") == nullptr);
  CHECK(scope.find("") == nullptr);
  CHECK(scope.find("zzz") == nullptr);
  CHECK(Scope{}.find("clinics") == nullptr);
}

TEST_CASE("scope_matches") {
  const Scope scope = parse(
      "households: district = 'k' AND status IN ('open', 'pending'); clinics: *; "
      "visits: _id IN ('v1', 'v2'); odd: in IS NULL");
  const ScopeClause& h = clause_of(scope, "households");
  CHECK(scope_matches(h, "h1", attrs({{"district", str("k")}, {"status", str("open")}})));
  CHECK(scope_matches(
      h, "h1",
      attrs({{"district", str("k")}, {"status", str("pending")}, {"size", Value::from_int(4)}})));
  CHECK_FALSE(scope_matches(h, "h1", attrs({{"district", str("k")}, {"status", str("closed")}})));
  CHECK_FALSE(scope_matches(h, "h1", attrs({{"district", str("k")}})));  // status absent
  CHECK_FALSE(scope_matches(h, "h1", attrs({{"district", str("K")}, {"status", str("open")}})));
  CHECK_FALSE(scope_matches(h, "h1", {}));
  // Value equality includes the type.
  CHECK_FALSE(scope_matches(parse("households: district = '4'").clauses[0], "h1",
                            attrs({{"district", Value::from_int(4)}})));

  const ScopeClause& everything = clause_of(scope, "clinics");
  CHECK(scope_matches(everything, "c1", {}));
  CHECK(scope_matches(everything, "c2", attrs({{"name", str("x")}})));

  const ScopeClause& v = clause_of(scope, "visits");
  CHECK(scope_matches(v, "v1", {}));
  CHECK(scope_matches(v, "v2", attrs({{"district", str("k")}})));
  CHECK_FALSE(scope_matches(v, "v3", {}));
  CHECK_FALSE(scope_matches(v, "V1", {}));
  CHECK_FALSE(scope_matches(v, "_id", attrs({{"_id", str("v1")}})));  // _id is the id

  const ScopeClause& null = clause_of(scope, "odd");
  CHECK(scope_matches(null, "o1", {}));
  CHECK(scope_matches(null, "o1", attrs({{"and", Value::from_int(1)}})));
  CHECK_FALSE(scope_matches(null, "o1", attrs({{"in", str("")}})));  // '' is not null

  const ScopeClause consent = parse("households: consent = true").clauses[0];
  CHECK(scope_matches(consent, "h", attrs({{"consent", Value::from_bool(true)}})));
  CHECK_FALSE(scope_matches(consent, "h", attrs({{"consent", Value::from_bool(false)}})));
  CHECK_FALSE(scope_matches(consent, "h", {}));
  CHECK_FALSE(scope_matches(consent, "h", attrs({{"consent", str("true")}})));

  // Timestamps compare as instants: every offset denotes the same canonical value.
  const ScopeClause visited =
      parse("households: visited IN ('2026-11-22T12:00:00+02:00', '2027-01-01T00:00:00Z')")
          .clauses[0];
  CHECK(scope_matches(
      visited, "h",
      attrs({{"visited", Value::parse(ValueType::timestamp, "2026-11-22T10:00:00Z")}})));
  CHECK(scope_matches(
      visited, "h",
      attrs({{"visited", Value::parse(ValueType::timestamp, "2026-11-21T23:00:00.000-11:00")}})));
  CHECK(scope_matches(visited, "h",
                      attrs({{"visited", Value::from_timestamp_micros(1798761600000000)}})));
  CHECK_FALSE(scope_matches(
      visited, "h",
      attrs({{"visited", Value::parse(ValueType::timestamp, "2026-11-22T12:00:00Z")}})));

  const ScopeClause lat = parse("households: lat IN (1.0, 2.5)").clauses[0];
  CHECK(scope_matches(lat, "h", attrs({{"lat", Value::from_float(1)}})));
  CHECK(scope_matches(lat, "h", attrs({{"lat", Value::parse(ValueType::float_, "25e-1")}})));
  CHECK_FALSE(scope_matches(lat, "h", attrs({{"lat", Value::from_float(1.5)}})));

  const ScopeClause id_and_value =
      parse("households: _id = 'h1' AND size IN (1, 2) AND photo IS NULL").clauses[0];
  CHECK(scope_matches(id_and_value, "h1", attrs({{"size", Value::from_int(2)}})));
  CHECK_FALSE(scope_matches(id_and_value, "h2", attrs({{"size", Value::from_int(2)}})));
  CHECK_FALSE(
      scope_matches(id_and_value, "h1",
                    attrs({{"size", Value::from_int(2)}, {"photo", Value::from_bytes("x")}})));
}

TEST_CASE("intersect_scopes") {
  struct Case {
    std::string a;
    std::string b;
    std::string expected;  // canonical text; "" for the empty scope
  };
  const std::vector<Case> cases{
      {"clinics: *", "clinics: *", "clinics: *"},
      {"clinics: *", "clinics: name = 'a'", "clinics: name = 'a'"},
      {"clinics: *; visits: *", "visits: *; households: *", "visits: *"},
      {"clinics: *", "visits: *", ""},
      {"households: district = 'k'", "households: status = 'open'",
       "households: district = 'k' AND status = 'open'"},
      {"households: size IN (1, 2, 3)", "households: size IN (2, 3, 4)",
       "households: size IN (2, 3)"},
      {"households: size IN (1, 2, 3) AND district = 'k'", "households: size IN (3, 4)",
       "households: district = 'k' AND size = 3"},
      {"clinics: *; households: size = 1", "clinics: *; households: size = 2", "clinics: *"},
      {"households: head_name IS NULL", "households: head_name IS NULL",
       "households: head_name IS NULL"},
      {"households: head_name IS NULL; clinics: *", "households: head_name = 'x'; clinics: *",
       "clinics: *"},
      {"households: _id IN ('a', 'b') AND lat = 1", "households: _id IN ('b', 'c') AND lat = 1.0",
       "households: _id = 'b' AND lat = 1"},
      {"households: _id IN ('a', 'b') AND size = 1",
       "households: _id IN ('a', 'b') AND size = 2 AND status = 'x'", ""},
      {"odd: in IN ('a', 'b'); visits: district = 'k'",
       "odd: and = 1 AND in IN ('b', 'c'); visits: *",
       "odd: and = 1 AND in = 'b'; visits: district = 'k'"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.a);
    CAPTURE(c.b);
    const Scope ab = intersect_scopes(parse(c.a), parse(c.b));
    CHECK(scope_text(ab) == c.expected);
    CHECK(intersect_scopes(parse(c.b), parse(c.a)) == ab);  // commutative
    if (!c.expected.empty()) {
      CHECK(parse(c.expected) == ab);  // canonical
      CHECK(intersect_scopes(ab, ab) == ab);
    } else {
      CHECK(ab.clauses.empty());
    }
  }
  CHECK(intersect_scopes(Scope{}, parse("clinics: *")).clauses.empty());
}

}  // namespace outpost
