// The JSON codec (api/json.h): round trips of every wire shape, and the
// refusals of malformed, hostile or mistyped input.
#include "api/json.h"

#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

#include "utils/utf8.h"

namespace outpost {
namespace {

const Revision kRev1 = Revision::parse("1-0123456789abcdef0123456789abcdef");
const Revision kRev2a = Revision::parse("2-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
const Revision kRev2b = Revision::parse("2-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
const Revision kRev3 = Revision::parse("3-cccccccccccccccccccccccccccccccc");

Attributes sample_attributes() {
  Attributes a;
  a.emplace("head_name", Value::parse(ValueType::string, "Amina Okello \xE2\x98\x83"));
  a.emplace("size", Value::parse(ValueType::int_, "6"));
  a.emplace("lat", Value::parse(ValueType::float_, "0.3476"));
  a.emplace("consent", Value::parse(ValueType::bool_, "true"));
  a.emplace("photo", Value::parse(ValueType::bytes, "AAEC/w=="));
  a.emplace("visited", Value::parse(ValueType::timestamp, "2026-11-22T10:00:00.000000Z"));
  a.emplace("note", Value::parse(ValueType::string, "tab\there \"quoted\" \\ /"));
  return a;
}

// The code of the Error `f` throws; fails the test if it throws none.
template <typename F>
ErrorCode code_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.code();
  }
  FAIL("expected an outpost::Error");
  return ErrorCode::internal;
}

template <typename F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.message();
  }
  FAIL("expected an outpost::Error");
  return {};
}

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

std::string nested_arrays(size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

}  // namespace

TEST_CASE("json: attributes round trip, every type") {
  const Attributes a = sample_attributes();
  const std::string text = attributes_to_json(a);
  CHECK(attributes_from_json(text) == a);
  CHECK(contains(text, R"("size":{"int":"6"})"));
  CHECK(contains(text, R"("photo":{"bytes":"AAEC/w=="})"));
  CHECK(attributes_to_json({}) == "{}");
}

TEST_CASE("json: {\"null\":\"true\"} is an absent attribute") {
  const Attributes a = attributes_from_json(R"({"a":{"null":"true"},"b":{"int":"1"}})");
  CHECK(a.size() == 1);
  CHECK(a.count("a") == 0);
  CHECK(a.at("b").as_int() == 1);
}

TEST_CASE("json: malformed typed values are invalid_value naming the attribute") {
  const char* bad[] = {
      R"({"size":{}})",                        // zero keys
      R"({"size":{"int":"1","string":"1"}})",  // two keys
      R"({"size":{"int":1}})",                 // inner value not a string
      R"({"size":{"int":null}})",              // inner value not a string
      R"({"size":"6"})",                       // not an object
      R"({"size":null})",                      // not an object
      R"({"size":{"integer":"6"}})",           // unknown type
      R"({"size":{"null":"false"}})",          // null is written "true"
      R"({"size":{"int":"six"}})",             // Value::parse refuses
      R"({"size":{"int":"007"}})",             // not canonical
      R"({"size":{"float":"NaN"}})",           // not finite JSON number
      R"({"size":{"bytes":"AAE"}})",           // not padded base64
  };
  for (const char* text : bad) {
    CAPTURE(text);
    CHECK(code_of([&] { attributes_from_json(text); }) == ErrorCode::invalid_value);
    CHECK(contains(message_of([&] { attributes_from_json(text); }), "size"));
  }
}

TEST_CASE("json: U+0000 in a string value is invalid_value, not truncated") {
  CHECK(code_of([] { attributes_from_json(R"({"s":{"string":"a\u0000b"}})"); }) ==
        ErrorCode::invalid_value);
  // Outside values NUL bytes survive decoding intact (the engine judges ids).
  const Record r = record_from_json(
      R"({"table":"t","id":"a\u0000b","revision":"1-0123456789abcdef0123456789abcdef",)"
      R"("deleted":false,"attributes":{}})");
  CHECK(r.id == std::string("a\0b", 3));
  // ... and are written back escaped, length-aware.
  Record out = r;
  CHECK(contains(record_to_json(out), R"("id":"a\u0000b")"));
}

TEST_CASE("json: record round trip, with and without conflicts and ancestry") {
  Record r;
  r.table = "households";
  r.id = "h-001";
  r.revision = kRev3;
  r.attributes = sample_attributes();
  SUBCASE("plain") {
    const std::string text = record_to_json(r);
    CHECK(!contains(text, "conflicts"));
    CHECK(!contains(text, "ancestry"));
    const Record back = record_from_json(text);
    CHECK(back.table == r.table);
    CHECK(back.id == r.id);
    CHECK(back.revision == r.revision);
    CHECK(back.deleted == false);
    CHECK(back.attributes == r.attributes);
    CHECK(!back.conflicts);
    CHECK(!back.ancestry);
  }
  SUBCASE("conflicts and ancestry") {
    r.conflicts = std::vector<Revision>{kRev2a};
    r.ancestry = std::vector<Revision>{kRev2b, kRev1};
    const Record back = record_from_json(record_to_json(r));
    REQUIRE(back.conflicts);
    REQUIRE(back.ancestry);
    CHECK(*back.conflicts == *r.conflicts);
    CHECK(*back.ancestry == *r.ancestry);
  }
  SUBCASE("deleted") {
    r.deleted = true;
    r.attributes.clear();
    r.conflicts = std::vector<Revision>{};
    const std::string text = record_to_json(r);
    CHECK(contains(text, R"("deleted":true)"));
    const Record back = record_from_json(text);
    CHECK(back.deleted);
    CHECK(back.attributes.empty());
    REQUIRE(back.conflicts);
    CHECK(back.conflicts->empty());
  }
}

TEST_CASE("json: tables round trip; PUT body takes its name from the path") {
  Table t{"households",
          {{"head_name", ValueType::string, true},
           {"size", ValueType::int_, false},
           {"photo", ValueType::bytes, false},
           {"visited", ValueType::timestamp, false}}};
  const std::string text = table_to_json(t);
  CHECK(contains(text, R"({"name":"head_name","type":"string","required":true})"));
  CHECK(table_from_json(text) == t);
  CHECK(table_from_json(text, "households") == t);

  const Table body = table_from_json(
      R"({"columns":[{"name":"head_name","type":"string","required":true},{"name":"size","type":"int"}]})",
      "households");
  CHECK(body.name == "households");
  REQUIRE(body.columns.size() == 2);
  CHECK(body.columns[1].required == false);

  CHECK(code_of([&] { table_from_json(text, "other"); }) == ErrorCode::invalid_json);
  CHECK(code_of([] { table_from_json(R"({"columns":[]})"); }) == ErrorCode::invalid_json);
  CHECK(code_of([] { table_from_json(R"({"columns":[{"name":"a","type":"integer"}]})", "t"); }) ==
        ErrorCode::invalid_value);
  CHECK(code_of([] { table_from_json(R"({"columns":[{"name":"a"}]})", "t"); }) ==
        ErrorCode::invalid_json);
  CHECK(code_of([] {
          table_from_json(R"({"columns":[{"name":"a","type":"int","required":"yes"}]})", "t");
        }) == ErrorCode::invalid_json);

  const std::vector<Table> list{t, Table{"empty", {}}};
  const std::string list_text = tables_to_json(list);
  CHECK(list_text.rfind(R"({"tables":[)", 0) == 0);
  CHECK(tables_from_json(list_text) == list);
}

TEST_CASE("json: changes page round trip") {
  ChangesPage page;
  page.results.push_back({"41", "households", "h-001", kRev3, false, {kRev3, kRev2a}});
  page.results.push_back({"42", "visits", "v-9", kRev1, true, {kRev1}});
  page.last_seq = "42";
  const std::string text = changes_to_json(page);
  CHECK(contains(text, R"("seq":"41")"));
  const ChangesPage back = changes_from_json(text);
  CHECK(back.last_seq == "42");
  REQUIRE(back.results.size() == 2);
  for (size_t i = 0; i < 2; ++i) {
    CHECK(back.results[i].seq == page.results[i].seq);
    CHECK(back.results[i].table == page.results[i].table);
    CHECK(back.results[i].id == page.results[i].id);
    CHECK(back.results[i].revision == page.results[i].revision);
    CHECK(back.results[i].deleted == page.results[i].deleted);
    CHECK(back.results[i].leaves == page.results[i].leaves);
  }
  CHECK(changes_from_json(changes_to_json({})).results.empty());
  CHECK(code_of([] { changes_from_json(R"({"results":[]})"); }) == ErrorCode::invalid_json);
}

TEST_CASE("json: errors round trip") {
  const Error e(ErrorCode::unknown_column, "table \"t\" has no column \"x\"");
  const std::string text = error_to_json(e);
  CHECK(text == R"({"error":"unknown_column","message":"table \"t\" has no column \"x\""})");
  const Error back = error_from_json(text);
  CHECK(back.code() == ErrorCode::unknown_column);
  CHECK(back.message() == e.message());
  CHECK(error_from_json(R"({"error":"no_such_code","message":"m"})").code() == ErrorCode::internal);
}

TEST_CASE("json: encoders always write valid UTF-8") {
  const Error e(ErrorCode::invalid_name, "bad id \xff\xfe end \xC3");
  const std::string text = error_to_json(e);
  CHECK(is_valid_utf8(text));
  CHECK_NOTHROW(check_json(text));
  CHECK(error_from_json(text).message() == "bad id \xEF\xBF\xBD\xEF\xBF\xBD end \xEF\xBF\xBD");
}

TEST_CASE("json: write results round trip") {
  std::vector<WriteResult> results(2);
  results[0] = {"households", "h-1", kRev1, std::nullopt};
  results[1] = {"households", "h-2", Revision(), Error(ErrorCode::conflict, "not a leaf")};
  const std::string text = write_results_to_json(results);
  CHECK(text.front() == '[');
  CHECK(contains(text,
                 R"({"table":"households","id":"h-2","error":"conflict","message":"not a leaf"})"));
  const std::vector<WriteResult> back = write_results_from_json(text);
  REQUIRE(back.size() == 2);
  CHECK(back[0].ok());
  CHECK(back[0].table == "households");
  CHECK(back[0].id == "h-1");
  CHECK(back[0].revision == kRev1);
  REQUIRE(!back[1].ok());
  CHECK(back[1].id == "h-2");
  CHECK(back[1].error->code() == ErrorCode::conflict);
  CHECK(back[1].error->message() == "not a leaf");

  const WriteResult one = write_result_from_json(write_result_to_json(results[0]));
  CHECK(one.ok());
  CHECK(one.revision == kRev1);
  // The single-record PUT response may be just {"id","revision"}.
  CHECK(write_result_from_json(R"({"id":"x","revision":"1-0123456789abcdef0123456789abcdef"})")
            .revision == kRev1);
}

TEST_CASE("json: revs_diff request and response round trip, grouped by table") {
  const std::vector<RevsDiffQuery> queries{
      {"a", "1", {kRev1, kRev2a}}, {"b", "1", {kRev3}}, {"a", "2", {kRev2b}}};
  const std::string text = revs_diff_request_to_json(queries);
  CHECK(
      text ==
      R"({"a":{"1":["1-0123456789abcdef0123456789abcdef","2-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"],)"
      R"("2":["2-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"]},"b":{"1":["3-cccccccccccccccccccccccccccccccc"]}})");
  const std::vector<RevsDiffQuery> back = revs_diff_request_from_json(text);
  REQUIRE(back.size() == 3);
  CHECK(back[0].table == "a");
  CHECK(back[0].id == "1");
  CHECK(back[0].revisions == queries[0].revisions);
  CHECK(back[1].table == "a");
  CHECK(back[1].id == "2");
  CHECK(back[1].revisions == queries[2].revisions);
  CHECK(back[2].table == "b");
  CHECK(back[2].revisions == queries[1].revisions);

  // A repeated (table, id) is merged, not written as a duplicate key.
  const std::string merged =
      revs_diff_request_to_json({{"a", "1", {kRev1}}, {"a", "1", {kRev1, kRev3}}});
  const std::vector<RevsDiffQuery> merged_back = revs_diff_request_from_json(merged);
  REQUIRE(merged_back.size() == 1);
  CHECK(merged_back[0].revisions == std::vector<Revision>{kRev1, kRev3});

  const std::vector<RevsDiffResult> results{{"a", "1", {kRev2a}, {kRev1}},
                                            {"b", "9", {}, {kRev3, kRev2b}}};
  const std::string rtext = revs_diff_response_to_json(results);
  CHECK(contains(rtext, R"("9":{"missing":[],"leaves":["3-)"));
  const std::vector<RevsDiffResult> rback = revs_diff_response_from_json(rtext);
  REQUIRE(rback.size() == 2);
  for (size_t i = 0; i < 2; ++i) {
    CHECK(rback[i].table == results[i].table);
    CHECK(rback[i].id == results[i].id);
    CHECK(rback[i].missing == results[i].missing);
    CHECK(rback[i].leaves == results[i].leaves);
  }

  CHECK(code_of([] { revs_diff_request_from_json(R"({"a":{"1":["1-xyz"]}})"); }) ==
        ErrorCode::invalid_revision);
  CHECK(code_of([] { revs_diff_request_from_json(R"({"a":{"1":"1-0123"}})"); }) ==
        ErrorCode::invalid_json);
  CHECK(code_of([] { revs_diff_request_from_json(R"({"a":["x"]})"); }) == ErrorCode::invalid_json);
  CHECK(code_of([] { revs_diff_request_from_json(R"({"a":{"1":[]},"a":{"2":[]}})"); }) ==
        ErrorCode::invalid_json);
}

TEST_CASE("json: bulk_get request and response round trip") {
  const std::vector<BulkGetQuery> queries{{"households", "h-1", kRev3, {kRev1}},
                                          {"households", "h-2", kRev2a, {}}};
  const std::string text = bulk_get_request_to_json(queries);
  CHECK(contains(text, R"("rev":"3-)"));
  const std::vector<BulkGetQuery> back = bulk_get_request_from_json(text);
  REQUIRE(back.size() == 2);
  CHECK(back[0].table == "households");
  CHECK(back[0].id == "h-1");
  CHECK(back[0].revision == kRev3);
  CHECK(back[0].known == std::vector<Revision>{kRev1});
  CHECK(back[1].known.empty());

  RemoteRevision rr{"households", "h-1", kRev3, false, sample_attributes(), {kRev2a, kRev1}};
  std::vector<BulkGetResult> results(2);
  results[0].revision = rr;
  results[1].error = Error(ErrorCode::not_found, "no such revision");
  const std::string rtext = bulk_get_response_to_json(queries, results);
  CHECK(contains(
      rtext,
      R"({"table":"households","id":"h-2","rev":"2-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","error":"not_found")"));
  const std::vector<BulkGetResult> rback = bulk_get_response_from_json(rtext);
  REQUIRE(rback.size() == 2);
  REQUIRE(rback[0].revision);
  CHECK(!rback[0].error);
  CHECK(rback[0].revision->table == rr.table);
  CHECK(rback[0].revision->id == rr.id);
  CHECK(rback[0].revision->revision == rr.revision);
  CHECK(rback[0].revision->attributes == rr.attributes);
  CHECK(rback[0].revision->ancestry == rr.ancestry);
  CHECK(!rback[1].revision);
  REQUIRE(rback[1].error);
  CHECK(rback[1].error->code() == ErrorCode::not_found);

  CHECK(code_of([] {
          bulk_get_request_from_json(R"({"docs":[{"table":"t","id":"1","rev":"01-abc"}]})");
        }) == ErrorCode::invalid_revision);
  CHECK(code_of([] { bulk_get_request_from_json(R"({"docs":[{"table":"t","id":"1"}]})"); }) ==
        ErrorCode::invalid_json);
}

TEST_CASE("json: bulk_docs with new_edits=false round trips RemoteRevisions") {
  const std::vector<RemoteRevision> revs{
      {"households", "h-1", kRev3, false, sample_attributes(), {kRev2a, kRev1}},
      {"households", "h-2", kRev1, true, {}, {}}};
  const std::string text = bulk_docs_request_to_json(revs);
  CHECK(contains(text, R"("new_edits":false)"));
  const BulkDocsRequest back = bulk_docs_request_from_json(text);
  CHECK(!back.new_edits);
  CHECK(back.edits.empty());
  CHECK(back.rejected.empty());
  REQUIRE(back.revisions.size() == 2);
  for (size_t i = 0; i < 2; ++i) {
    CHECK(back.revisions[i].table == revs[i].table);
    CHECK(back.revisions[i].id == revs[i].id);
    CHECK(back.revisions[i].revision == revs[i].revision);
    CHECK(back.revisions[i].deleted == revs[i].deleted);
    CHECK(back.revisions[i].attributes == revs[i].attributes);
    CHECK(back.revisions[i].ancestry == revs[i].ancestry);
  }
}

TEST_CASE("json: bulk_docs requests packed from documents encoded once equal the whole encoding") {
  const std::vector<RemoteRevision> revs{
      {"households", "h-1", kRev3, false, sample_attributes(), {kRev2a, kRev1}},
      {"households", "h-2", kRev1, true, {}, {}},
      {"households", "h-3", kRev1, false, sample_attributes(), {}}};
  const EncodedDocs encoded = encode_bulk_docs(revs);
  REQUIRE(encoded.ends.size() == 3);
  CHECK(bulk_docs_request_from_parts(false, encoded, 0, 3) == bulk_docs_request_to_json(revs));
  CHECK(bulk_docs_request_from_parts(false, encoded, 1, 2) ==
        bulk_docs_request_to_json(std::vector<RemoteRevision>{revs[1]}));
  CHECK(bulk_docs_request_from_parts(false, encoded, 1, 3) ==
        bulk_docs_request_to_json(std::vector<RemoteRevision>{revs[1], revs[2]}));
  CHECK(bulk_docs_request_from_parts(false, encoded, 0, 0) == R"({"new_edits":false,"docs":[]})");
  size_t total = 0;
  for (size_t i = 0; i < 3; ++i) total += encoded.size_of(i);
  CHECK(total + 2 == encoded.text.size());  // and two commas
  const std::vector<Edit> edits{
      {Edit::Kind::put, "households", "h-9", Revision(), sample_attributes()}};
  CHECK(bulk_docs_request_from_parts(true, encode_bulk_docs(edits), 0, 1) ==
        bulk_docs_request_to_json(edits));
}

TEST_CASE("json: bulk_docs with new_edits=true round trips Edits of every kind") {
  std::vector<Edit> edits(4);
  edits[0] = {Edit::Kind::put, "households", "", Revision(), sample_attributes()};
  edits[1] = {Edit::Kind::put, "households", "h-1", kRev1, sample_attributes()};
  edits[2] = {Edit::Kind::remove, "households", "h-2", kRev2a, {}};
  edits[3] = {Edit::Kind::resolve, "households", "h-3", kRev2b, sample_attributes()};
  const std::string text = bulk_docs_request_to_json(edits);
  const BulkDocsRequest back = bulk_docs_request_from_json(text);
  CHECK(back.new_edits);
  CHECK(back.rejected.empty());
  REQUIRE(back.edits.size() == 4);
  for (size_t i = 0; i < 4; ++i) {
    CAPTURE(i);
    CHECK(back.edits[i].kind == edits[i].kind);
    CHECK(back.edits[i].table == edits[i].table);
    CHECK(back.edits[i].id == edits[i].id);
    CHECK(back.edits[i].parent == edits[i].parent);
    CHECK(back.edits[i].attributes == edits[i].attributes);
  }
}

TEST_CASE("json: bulk_docs reports bad documents one by one and keeps the rest") {
  const std::string text = R"({"new_edits":true,"docs":[
      {"table":"t","id":"ok1","attributes":{"a":{"int":"1"}}},
      {"table":"t","id":"bad_value","attributes":{"a":{"int":"x"}}},
      {"table":"t","id":"bad_rev","revision":"2-nothex","attributes":{}},
      {"table":"t","id":"owned","_conflicted":true,"attributes":{}},
      {"table":"t","id":"seq","seq":"7","attributes":{}},
      17,
      {"table":"t","id":"ok2","deleted":true,"revision":"1-0123456789abcdef0123456789abcdef"}]})";
  const BulkDocsRequest req = bulk_docs_request_from_json(text);
  REQUIRE(req.edits.size() == 2);
  CHECK(req.edits[0].id == "ok1");
  CHECK(req.edits[1].id == "ok2");
  CHECK(req.edits[1].kind == Edit::Kind::remove);
  REQUIRE(req.rejected.size() == 5);
  CHECK(req.rejected[0].index == 1);
  CHECK(req.rejected[0].result.id == "bad_value");
  CHECK(req.rejected[0].result.table == "t");
  CHECK(req.rejected[0].result.error->code() == ErrorCode::invalid_value);
  CHECK(req.rejected[1].result.error->code() == ErrorCode::invalid_revision);
  CHECK(req.rejected[2].result.error->code() == ErrorCode::invalid_json);
  CHECK(contains(req.rejected[2].result.error->message(), "_conflicted"));
  CHECK(req.rejected[3].result.error->code() == ErrorCode::invalid_json);
  CHECK(contains(req.rejected[3].result.error->message(), "seq"));
  CHECK(req.rejected[4].index == 5);
  CHECK(req.rejected[4].result.error->code() == ErrorCode::invalid_json);

  // The engine's results for the two decoded documents, merged back in order.
  std::vector<WriteResult> written(2);
  written[0] = {"t", "ok1", kRev1, std::nullopt};
  written[1] = {"t", "ok2", kRev2a, std::nullopt};
  const std::vector<WriteResult> all = bulk_docs_results(req, written);
  REQUIRE(all.size() == 7);
  CHECK(all[0].id == "ok1");
  CHECK(all[0].ok());
  for (size_t i = 1; i <= 5; ++i) CHECK(!all[i].ok());
  CHECK(all[1].id == "bad_value");
  CHECK(all[6].id == "ok2");
  CHECK(all[6].revision == kRev2a);

  // new_edits=false: a server-owned field or a bad revision is per document too.
  const BulkDocsRequest repl = bulk_docs_request_from_json(
      R"({"new_edits":false,"docs":[{"table":"t","id":"a","revision":"1-0123456789abcdef0123456789abcdef","_stub":true},)"
      R"({"table":"t","id":"b","revision":"x"}]})");
  CHECK(repl.revisions.empty());
  REQUIRE(repl.rejected.size() == 2);
  CHECK(repl.rejected[0].result.error->code() == ErrorCode::invalid_json);
  CHECK(repl.rejected[1].result.error->code() == ErrorCode::invalid_revision);

  // Whole-request failures throw.
  CHECK(code_of([] { bulk_docs_request_from_json(R"({"new_edits":"no","docs":[]})"); }) ==
        ErrorCode::invalid_json);
  CHECK(code_of([] { bulk_docs_request_from_json(R"({"docs":{}})"); }) == ErrorCode::invalid_json);
  CHECK(code_of([] { bulk_docs_request_from_json(R"({"new_edits":true})"); }) ==
        ErrorCode::invalid_json);
  CHECK(code_of([] { bulk_docs_request_from_json(R"({"_seq":1,"docs":[]})"); }) ==
        ErrorCode::invalid_json);
}

TEST_CASE("json: single-record edit bodies") {
  SUBCASE("put with parent") {
    const Edit e = edit_from_json(
        R"({"revision":"1-0123456789abcdef0123456789abcdef","attributes":{"a":{"string":"x"}}})",
        Edit::Kind::put, "t", "r1");
    CHECK(e.kind == Edit::Kind::put);
    CHECK(e.table == "t");
    CHECK(e.id == "r1");
    CHECK(e.parent == kRev1);
    CHECK(e.attributes.at("a").text() == "x");
  }
  SUBCASE("create: no parent, revision null") {
    const Edit e = edit_from_json(R"({"revision":null,"attributes":{}})", Edit::Kind::put, "t");
    CHECK(e.id.empty());
    CHECK(e.parent.empty());
  }
  SUBCASE("round trip through edit_to_json") {
    const Edit in{Edit::Kind::resolve, "t", "r1", kRev2a, sample_attributes()};
    const Edit e = edit_from_json(edit_to_json(in), Edit::Kind::resolve, "t", "r1");
    CHECK(e.kind == Edit::Kind::resolve);
    CHECK(e.parent == kRev2a);
    CHECK(e.attributes == in.attributes);
  }
  SUBCASE("refusals") {
    const std::string_view p = R"("revision":"1-0123456789abcdef0123456789abcdef")";
    const auto put = [](std::string_view body) {
      return code_of([&] { edit_from_json(body, Edit::Kind::put, "t", "r1"); });
    };
    CHECK(put(R"({"table":"other","attributes":{}})") == ErrorCode::invalid_json);
    CHECK(put(R"({"id":"r2","attributes":{}})") == ErrorCode::invalid_json);
    CHECK(put(R"({"revision":"1-ABC","attributes":{}})") == ErrorCode::invalid_revision);
    CHECK(put(R"({"revision":"","attributes":{}})") == ErrorCode::invalid_revision);
    CHECK(put(R"({"revision":7,"attributes":{}})") == ErrorCode::invalid_json);
    CHECK(put(R"({})") == ErrorCode::invalid_json);  // attributes missing
    CHECK(put(R"({"attributes":[]})") == ErrorCode::invalid_json);
    CHECK(put(R"({"attributes":{},"deleted":true})") == ErrorCode::invalid_json);
    CHECK(put(R"({"attributes":{"_conflicted":{"bool":"true"}}})") == ErrorCode::invalid_json);
    CHECK(put(R"({"attributes":{},"_rev":"x"})") == ErrorCode::invalid_json);
    CHECK(put(R"({"attributes":{},"seq":"12"})") == ErrorCode::invalid_json);
    CHECK(put(R"({"attributes":{"a":{"int":"1"},"a":{"int":"2"}}})") == ErrorCode::invalid_json);
    CHECK(put(R"({"attributes":{},"attributes":{}})") == ErrorCode::invalid_json);
    CHECK(put(R"([])") == ErrorCode::invalid_json);
    // resolve needs the leaf; a deletion carries no attributes.
    CHECK(code_of([] { edit_from_json(R"({"attributes":{}})", Edit::Kind::resolve, "t", "r1"); }) ==
          ErrorCode::invalid_json);
    CHECK(code_of([&] {
            edit_from_json("{" + std::string(p) + R"(,"attributes":{"a":{"int":"1"}}})",
                           Edit::Kind::remove, "t", "r1");
          }) == ErrorCode::invalid_json);
    CHECK(edit_from_json("{" + std::string(p) + "}", Edit::Kind::remove, "t", "r1").kind ==
          Edit::Kind::remove);
    // Unknown, non-server-owned fields are ignored.
    CHECK_NOTHROW(edit_from_json(R"({"attributes":{},"comment":"hi"})", Edit::Kind::put, "t"));
  }
  SUBCASE("messages name the field") {
    const std::string m = message_of(
        [] { edit_from_json(R"({"attributes":{},"deleted":"yes"})", Edit::Kind::put, "t"); });
    CHECK(contains(m, "deleted"));
    CHECK(contains(m, "boolean"));
    const BulkDocsRequest r =
        bulk_docs_request_from_json(R"({"docs":[{},{"id":"x","attributes":{}}]})");
    REQUIRE(r.rejected.size() == 2);
    CHECK(contains(r.rejected[1].result.error->message(), "docs[1].table"));
  }
}

TEST_CASE("json: record and conflict pages round trip") {
  RecordPage page;
  Record r;
  r.table = "t";
  r.id = "a";
  r.revision = kRev1;
  r.attributes = sample_attributes();
  page.records = {r, r};
  page.records[1].id = "b";
  page.next = "b";
  const RecordPage back = record_page_from_json(record_page_to_json(page));
  REQUIRE(back.records.size() == 2);
  CHECK(back.records[1].id == "b");
  CHECK(back.records[0].attributes == r.attributes);
  CHECK(back.next == "b");
  CHECK(record_page_from_json(R"({"records":[],"next":null})").next.empty());

  ConflictPage cp;
  cp.entries.push_back({"t", "a", kRev3, {kRev2a, kRev2b}});
  cp.next = "t/a";
  const std::string ctext = conflict_page_to_json(cp);
  CHECK(contains(ctext, R"("winner":"3-)"));
  const ConflictPage cback = conflict_page_from_json(ctext);
  REQUIRE(cback.entries.size() == 1);
  CHECK(cback.entries[0].table == "t");
  CHECK(cback.entries[0].id == "a");
  CHECK(cback.entries[0].winner == kRev3);
  CHECK(cback.entries[0].conflicts == cp.entries[0].conflicts);
  CHECK(cback.next == "t/a");
}

TEST_CASE("json: server info round trip") {
  const ServerInfo info{"outpost", "0.1.0", "0f8fad5b-d9cb-469f-a165-70867728950e", "sqlite", "17"};
  const std::string text = info_to_json(info);
  CHECK(text ==
        R"({"engine":"outpost","version":"0.1.0","db_id":"0f8fad5b-d9cb-469f-a165-70867728950e",)"
        R"("backend":"sqlite","update_seq":"17"})");
  CHECK(info_from_json(text) == info);
}

TEST_CASE("json: malformed JSON is invalid_json with offset and reason") {
  const std::string bad[] = {
      "",
      "{",
      "{\"a\":}",
      "[1,]",
      "{} x",
      "{\"a\":1,}",
      "'single'",
      "{\"s\":\"\xff\"}",       // invalid UTF-8
      "{\"s\":\"\xC0\xAF\"}",   // overlong encoding
      "{\"s\":\"\\uDC00\"}",    // lone low surrogate
      "{\"s\":\"\\uD800x\"}",   // lone high surrogate
      std::string("{}\0x", 4),  // garbage after a NUL byte
      std::string("{\"a\0\":1}", 8),
      "NaN",
      "{\"s\":\"raw\ncontrol\"}",
  };
  for (const std::string& text : bad) {
    CAPTURE(text);
    CHECK(code_of([&] { check_json(text); }) == ErrorCode::invalid_json);
    CHECK(code_of([&] { attributes_from_json(text); }) == ErrorCode::invalid_json);
  }
  const std::string m = message_of([] { check_json("[1,]"); });
  CHECK(contains(m, "offset 3"));
  CHECK(contains(m, "Invalid value"));
}

TEST_CASE("json: nesting depth is limited without recursion") {
  CHECK_NOTHROW(check_json(nested_arrays(64)));
  CHECK(code_of([] { check_json(nested_arrays(65)); }) == ErrorCode::invalid_json);
  CHECK(contains(message_of([] { check_json(nested_arrays(65)); }), "deeper than 64"));
  // A depth bomb fails cleanly (no stack overflow), even unterminated.
  CHECK(code_of([] { check_json(nested_arrays(100000)); }) == ErrorCode::invalid_json);
  CHECK(code_of([] { check_json(std::string(100000, '[')); }) == ErrorCode::invalid_json);
  std::string objects;
  for (int i = 0; i < 100000; ++i) objects += "{\"a\":";
  CHECK(code_of([&] { check_json(objects); }) == ErrorCode::invalid_json);
  // The limit is configurable and applies to every decoder.
  CHECK(code_of([] { check_json(nested_arrays(3), JsonLimits{2}); }) == ErrorCode::invalid_json);
  CHECK_NOTHROW(check_json(nested_arrays(200), JsonLimits{200}));
  CHECK(code_of([] { attributes_from_json(R"({"a":{"string":"x"}})", JsonLimits{1}); }) ==
        ErrorCode::invalid_json);
  CHECK(attributes_from_json(R"({"a":{"string":"x"}})", JsonLimits{2}).size() == 1);
  CHECK(code_of([] {
          record_from_json(
              R"({"table":"t","id":"a","revision":"1-0123456789abcdef0123456789abcdef",)"
              R"("attributes":{"a":{"string":[[[[]]]]}}})",
              JsonLimits{4});
        }) == ErrorCode::invalid_json);
}

TEST_CASE("json: wrong JSON types are invalid_json naming the field") {
  struct Case {
    const char* text;
    const char* field;
  };
  const Case cases[] = {
      {R"({"table":1,"id":"a","revision":"1-0123456789abcdef0123456789abcdef"})", "table"},
      {R"({"table":"t","id":["a"],"revision":"1-0123456789abcdef0123456789abcdef"})", "id"},
      {R"({"table":"t","id":"a","revision":"1-0123456789abcdef0123456789abcdef","deleted":1})",
       "deleted"},
      {R"({"table":"t","id":"a","revision":"1-0123456789abcdef0123456789abcdef","attributes":[]})",
       "attributes"},
      {R"({"table":"t","id":"a","revision":"1-0123456789abcdef0123456789abcdef","conflicts":{}})",
       "conflicts"},
      {R"({"table":"t","id":"a","revision":"1-0123456789abcdef0123456789abcdef","ancestry":[1]})",
       "ancestry[0]"},
      {R"({"table":"t","id":"a"})", "revision"},
      {R"("just a string")", "body"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    CHECK(code_of([&] { record_from_json(c.text); }) == ErrorCode::invalid_json);
    CHECK(contains(message_of([&] { record_from_json(c.text); }), c.field));
  }
  CHECK(code_of([] { error_from_json(R"({"error":404})"); }) == ErrorCode::invalid_json);
  CHECK(code_of([] { write_results_from_json(R"({})"); }) == ErrorCode::invalid_json);
  CHECK(code_of([] { tables_from_json(R"({"tables":{}})"); }) == ErrorCode::invalid_json);
  CHECK(code_of([] { info_from_json(R"({"engine":"outpost"})"); }) == ErrorCode::invalid_json);
}

TEST_CASE("json: server-owned fields are refused in request bodies") {
  CHECK(code_of([] { table_from_json(R"({"columns":[],"_seq":"1"})", "t"); }) ==
        ErrorCode::invalid_json);
  CHECK(code_of([] {
          table_from_json(R"({"columns":[{"name":"a","type":"int","_stub":true}]})", "t");
        }) == ErrorCode::invalid_json);
  CHECK(
      code_of([] {
        bulk_get_request_from_json(
            R"({"docs":[{"table":"t","id":"1","rev":"1-0123456789abcdef0123456789abcdef","seq":"3"}]})");
      }) == ErrorCode::invalid_json);
  CHECK(code_of([] { attributes_from_json(R"({"_conflicted":{"bool":"true"}})"); }) ==
        ErrorCode::invalid_json);
  const std::string m =
      message_of([] { attributes_from_json(R"({"_conflicted":{"bool":"true"}})"); });
  CHECK(contains(m, "_conflicted"));
  CHECK(contains(m, "server"));
  // A column may still be called "seq", and a table too.
  CHECK(attributes_from_json(R"({"seq":{"int":"1"}})").at("seq").as_int() == 1);
  CHECK(revs_diff_request_from_json(R"({"seq":{"seq":[]}})").size() == 1);
}

}  // namespace outpost
