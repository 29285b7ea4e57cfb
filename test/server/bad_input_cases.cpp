#include "bad_input_cases.h"

#include <doctest/doctest.h>

#include "api/json.h"
#include "engine/backends.h"

namespace outpost::test {

namespace {

std::string attrs(const std::string& name) {
  return R"({"attributes":{"name":{"string":")" + name + R"("}}})";
}

}  // namespace

std::vector<BadInputCase> bad_input_cases(const Revision& a1) {
  const std::string rec = "/v1/tables/items/records/";
  const std::string deep = std::string(20000, '[') + std::string(20000, ']');
  const std::string forged_doc = [&] {
    RemoteRevision r = remote_of("items", "a", offline_chain("items", "a", a1, 1, "f"), 0, {a1});
    r.attributes.insert_or_assign("name", str("forged"));
    return bulk_docs_request_to_json(std::vector<RemoteRevision>{r});
  }();
  return {
      {"malformed JSON", "PUT", rec + "a", R"({"attributes":{"name":)", "application/json", 400,
       "invalid_json"},
      {"JSON depth bomb", "PUT", rec + "b", R"({"attributes":)" + deep + "}", "application/json",
       400, "invalid_json"},
      {"depth bomb in bulk_docs", "POST", "/v1/bulk_docs", deep, "application/json", 400,
       "invalid_json"},
      {"not an object", "POST", "/v1/bulk_docs", "42", "application/json", 400, "invalid_json"},
      {"oversized body", "PUT", rec + "c",
       R"({"attributes":{"note":{"string":")" + std::string(70000, 'x') + R"("}}})",
       "application/json", 413, "too_large"},
      {"wrong content type", "PUT", rec + "d", attrs("x"), "text/plain", 415,
       "unsupported_media_type"},
      {"form content type", "POST", "/v1/bulk_docs", R"({"docs":[]})",
       "application/x-www-form-urlencoded", 415, "unsupported_media_type"},
      {"unknown route", "GET", "/v2/tables", "", "", 404, "not_found"},
      {"unknown route under v1", "GET", "/v1/tables/items/rows", "", "", 404, "not_found"},
      {"trailing slash", "GET", "/v1/tables/", "", "", 404, "not_found"},
      {"bad percent-encoding", "GET", rec + "%zz", "", "", 400, "invalid_value"},
      {"hostile table name", "PUT", "/v1/tables/a%22%3B%20DROP%20TABLE%20x%3B%20--",
       R"({"columns":[]})", "application/json", 400, "invalid_name"},
      {"hostile table name in a record route", "PUT",
       "/v1/tables/items%22%3B%20DROP%20TABLE%20items%3B%20--/records/z", attrs("x"),
       "application/json", 400, "invalid_name"},
      {"hostile column name", "PUT", "/v1/tables/evil",
       R"({"columns":[{"name":"a\"; DROP TABLE items; --","type":"string"}]})", "application/json",
       400, "invalid_name"},
      {"control character in an id", "PUT", rec + "x%01y", attrs("x"), "application/json", 400,
       "invalid_name"},
      {"engine-owned id", "PUT", rec + "_secret", attrs("x"), "application/json", 400,
       "invalid_name"},
      {"id too long", "PUT", rec + std::string(300, 'i'), attrs("x"), "application/json", 400,
       "invalid_name"},
      {"unknown column", "PUT", rec + "e", R"({"attributes":{"colour":{"string":"red"}}})",
       "application/json", 400, "unknown_column"},
      {"U+0000 in a value", "PUT", rec + "f", R"({"attributes":{"name":{"string":"a\u0000b"}}})",
       "application/json", 400, "invalid_value"},
      {"wrong value type", "PUT", rec + "g", R"({"attributes":{"size":{"int":"six"}}})",
       "application/json", 400, "invalid_value"},
      {"untyped value", "PUT", rec + "g", R"({"attributes":{"size":6}})", "application/json", 400,
       "invalid_value"},
      {"server-owned field _conflicted", "PUT", rec + "h",
       R"({"attributes":{"name":{"string":"x"}},"_conflicted":true})", "application/json", 400,
       "invalid_json"},
      {"server-owned field seq", "PUT", rec + "h",
       R"({"attributes":{"name":{"string":"x"}},"seq":"99"})", "application/json", 400,
       "invalid_json"},
      {"server-owned attribute", "PUT", rec + "h", R"({"attributes":{"_rev":{"string":"x"}}})",
       "application/json", 400, ""},
      {"stale parent", "PUT", rec + "a",
       R"({"revision":"1-00000000000000000000000000000000","attributes":{"name":{"string":"x"}}})",
       "application/json", 409, "conflict"},
      {"malformed parent", "PUT", rec + "a",
       R"({"revision":"banana","attributes":{"name":{"string":"x"}}})", "application/json", 400,
       "invalid_revision"},
      {"unknown table", "PUT", "/v1/tables/nothere/records/a", attrs("x"), "application/json", 404,
       "unknown_table"},
      {"bulk_docs forged revision (per document)", "POST", "/v1/bulk_docs", forged_doc,
       "application/json", 200, ""},
      {"bad since cursor", "GET", "/v1/changes?since=%00%01", "", "", 400, ""},
      {"local document that is not JSON", "PUT", "/v1/local/cp", "{nope", "application/json", 400,
       "invalid_json"},
      {"local document depth bomb", "PUT", "/v1/local/cp", deep, "application/json", 400,
       "invalid_json"},
      {"local document id not UTF-8", "PUT", "/v1/local/%FFcp", R"({"last_seq":"1"})",
       "application/json", 400, "invalid_name"},
      {"local document id with a control character", "PUT", "/v1/local/c%00p",
       R"({"last_seq":"1"})", "application/json", 400, "invalid_name"},
      {"local document id too long", "PUT", "/v1/local/" + std::string(256, 'l'),
       R"({"last_seq":"1"})", "application/json", 400, "invalid_name"},
  };
}

void check_bad_input_answer(const BadInputCase& c, int status, const std::string& body) {
  INFO("body: " << body.substr(0, 300));
  if (c.name == "server-owned attribute" || c.name == "bad since cursor") {
    CHECK(status >= 400);
    CHECK(status < 500);
  } else {
    CHECK(status == c.status);
    if (!c.code.empty()) CHECK(error_from_json(body).code_name() == c.code);
  }
  if (c.name.starts_with("bulk_docs forged")) {
    std::vector<WriteResult> results = write_results_from_json(body);
    REQUIRE(results.size() == 1);
    REQUIRE(results[0].error.has_value());
    CHECK(results[0].error->code() == ErrorCode::invalid_revision);
  }
}

}  // namespace outpost::test
