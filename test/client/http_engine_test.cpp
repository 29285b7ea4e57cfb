// client/http_engine: every Engine call maps to its DESIGN.md §8 route,
// error responses keep the server's code, 4xx is never retried and
// transient failures are — all through a scripted transport, no socket.
#include "client/http_engine.h"

#include <doctest/doctest.h>

#include "api/checkpoint.h"
#include "api/json.h"
#include "api/json_builder.h"
#include "api/revision.h"
#include "client/fake_transport.h"
#include "utils/uuid.h"

namespace {

using outpost::Error;
using outpost::ErrorCode;
using outpost::HttpEngine;
using outpost::HttpRequest;
using outpost::HttpResponse;
using outpost::TransportFailure;
using outpost::test::FakeTransport;

HttpResponse json(int status, std::string body) {
  return HttpResponse{status, std::move(body), "application/json"};
}

HttpResponse error_response(ErrorCode code, const std::string& message) {
  return json(outpost::http_status(code), outpost::error_to_json(Error(code, message)));
}

struct Fixture {
  explicit Fixture(outpost::HttpClientOptions options = {}) {
    options.retry_base = std::chrono::milliseconds(1);
    options.retry_cap = std::chrono::milliseconds(2);
    auto transport = std::make_unique<FakeTransport>();
    requests = transport->requests;
    steps = transport->steps;
    engine = std::make_unique<HttpEngine>(outpost::parse_http_url("http://hub:8080/base"),
                                          std::move(transport), options);
  }
  void answer(HttpResponse response) { steps->push_back({std::move(response), std::nullopt}); }
  void fail(bool transient) {
    steps->push_back({{}, TransportFailure("connection refused", transient)});
  }
  const HttpRequest& last() const { return requests->back(); }
  // Answers the next request (GET /v1) with a server advertising `limits`.
  void advertise(uint64_t body_bytes, uint64_t batch_docs) {
    outpost::ServerInfo info;
    info.db_id = "0b3c6a4e-59a2-4f1e-9d3c-1a2b3c4d5e6f";
    info.max_body_bytes = body_bytes;
    info.max_batch_docs = batch_docs;
    answer(json(200, outpost::info_to_json(info)));
  }

  std::shared_ptr<std::vector<HttpRequest>> requests;
  std::shared_ptr<std::deque<FakeTransport::Step>> steps;
  std::unique_ptr<HttpEngine> engine;
};

std::optional<ErrorCode> code_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.code();
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("http engine: identity comes from GET /v1") {
  Fixture f;
  outpost::ServerInfo info;
  info.version = "0.1.0";
  info.db_id = "0b3c6a4e-59a2-4f1e-9d3c-1a2b3c4d5e6f";
  info.backend = "postgres";
  info.update_seq = "77";
  f.answer(json(200, outpost::info_to_json(info)));
  f.answer(json(200, outpost::info_to_json(info)));
  CHECK(f.engine->db_id() == info.db_id);
  CHECK(f.last().method == "GET");
  CHECK(f.last().target == "/v1");
  CHECK(f.engine->update_seq() == "77");
  CHECK(f.engine->backend() == "http");
  CHECK(f.engine->tokens() != nullptr);
  CHECK(code_of([&] { f.engine->check(); }) == ErrorCode::internal);
  CHECK(f.engine->bytes_moved() == 42);
}

TEST_CASE("http engine: record ids and table names are percent-encoded in paths") {
  Fixture f;
  SUBCASE("get with options") {
    outpost::Record record;
    record.table = "items";
    record.id = "a/b c?%\xC3\xA9";
    record.revision = outpost::Revision::parse("1-0123456789abcdef0123456789abcdef");
    record.conflicts = std::vector<outpost::Revision>{};
    f.answer(json(200, outpost::record_to_json(record)));
    outpost::GetOptions options;
    options.revision = record.revision;
    options.conflicts = true;
    auto got = f.engine->get("items", record.id, options);
    REQUIRE(got);
    CHECK(got->id == record.id);
    CHECK(f.last().target ==
          "/v1/tables/items/records/a%2Fb%20c%3F%25%C3%A9"
          "?rev=1-0123456789abcdef0123456789abcdef&conflicts=true");
  }
  SUBCASE("a missing record is nullopt, a missing table an error") {
    f.answer(error_response(ErrorCode::not_found, "no record"));
    CHECK_FALSE(f.engine->get("items", "x"));
    f.answer(error_response(ErrorCode::unknown_table, "no table"));
    CHECK(code_of([&] { f.engine->get("nope", "x"); }) == ErrorCode::unknown_table);
    f.answer(error_response(ErrorCode::unknown_table, "no table"));
    CHECK_FALSE(f.engine->get_table("nope"));
    CHECK(f.last().target == "/v1/tables/nope");
  }
  SUBCASE("lists") {
    f.answer(json(200, R"({"records":[],"next":""})"));
    f.engine->list_records("items", "id/1", 50);
    CHECK(f.last().target == "/v1/tables/items/records?after=id%2F1&limit=50");
    f.answer(json(200, R"({"conflicts":[],"next":""})"));
    f.engine->list_conflicts("", "", 10);
    CHECK(f.last().target == "/v1/conflicts?limit=10");
  }
  SUBCASE("local documents") {
    f.answer(error_response(ErrorCode::not_found, "none"));
    CHECK_FALSE(f.engine->get_local("_repl/ab"));
    CHECK(f.last().target == "/v1/local/_repl%2Fab");
    f.engine->put_local("cp", R"({"last_seq":"5"})");
    CHECK(f.last().method == "PUT");
    CHECK(f.last().body == R"({"last_seq":"5"})");
    f.answer(json(200, R"({"last_seq":"5"})"));
    CHECK(f.engine->get_local("cp") == std::optional<std::string>(R"({"last_seq":"5"})"));
  }
}

TEST_CASE("http engine: the change feed, with long-poll extending the read timeout") {
  Fixture f;
  f.answer(json(200, R"({"results":[],"last_seq":"9"})"));
  outpost::ChangesRequest request;
  request.since = "4";
  request.limit = 100;
  CHECK(f.engine->changes(request).last_seq == "9");
  CHECK(f.last().target == "/v1/changes?since=4&limit=100");
  CHECK(f.last().extra_timeout.count() == 0);

  f.answer(json(200, R"({"results":[],"last_seq":"9"})"));
  request.timeout_ms = 1500;
  request.tables = {"a", "b_c"};
  f.engine->changes(request);
  CHECK(f.last().target ==
        "/v1/changes?since=4&limit=100&feed=longpoll&timeout_ms=1500&tables=a,b_c");
  CHECK(f.last().extra_timeout.count() == 1500);
}

TEST_CASE("http engine: writes go to bulk_docs, split at the batch limit, ids filled in") {
  Fixture f;
  f.advertise(1 << 20, 3);  // the first write asks GET /v1 for the limits
  std::vector<outpost::Edit> edits;
  for (int i = 0; i < 7; ++i) {
    outpost::Edit e;
    e.table = "items";
    e.id = i == 5 ? "" : "r" + std::to_string(i);
    e.attributes.emplace("name", outpost::Value::from_string("n" + std::to_string(i)));
    edits.push_back(e);
  }
  auto results_for = [](size_t from, size_t n) {
    std::vector<outpost::WriteResult> results;
    for (size_t i = from; i < from + n; ++i) {
      results.push_back({"items",
                         "r" + std::to_string(i),
                         outpost::Revision::parse("1-0123456789abcdef0123456789abcdef"),
                         {}});
    }
    return json(200, outpost::write_results_to_json(results));
  };
  f.answer(results_for(0, 3));
  f.answer(results_for(3, 3));
  f.answer(results_for(6, 1));
  std::vector<outpost::WriteResult> results = f.engine->write(edits);
  REQUIRE(results.size() == 7);
  CHECK(results[6].id == "r6");
  REQUIRE(f.requests->size() == 4);
  CHECK((*f.requests)[0].target == "/v1");
  f.requests->erase(f.requests->begin());
  for (const HttpRequest& r : *f.requests) {
    CHECK(r.method == "POST");
    CHECK(r.target == "/v1/bulk_docs");
  }
  const outpost::BulkDocsRequest second =
      outpost::bulk_docs_request_from_json((*f.requests)[1].body);
  CHECK(second.new_edits);
  REQUIRE(second.edits.size() == 3);
  CHECK(second.edits[0].id == "r3");
  CHECK(outpost::is_uuid_v4(second.edits[2].id));  // the create without an id

  // A server that answers a different number of results is an error.
  f.answer(results_for(0, 1));
  CHECK(code_of([&] { f.engine->write({edits[0], edits[1]}); }) == ErrorCode::internal);
}

TEST_CASE(
    "http engine: bulk_docs requests fit the advertised body limit; a document too "
    "large for any is answered too_large without being sent") {
  Fixture f;
  f.advertise(600, 100);
  std::vector<outpost::RemoteRevision> docs;
  for (int i = 0; i < 6; ++i) {
    outpost::RemoteRevision r;
    r.table = "items";
    r.id = i == 3 ? "big" : "r" + std::to_string(i);
    r.attributes.emplace("name", outpost::Value::from_string(std::string(i == 3 ? 700 : 100, 'x')));
    r.revision = outpost::compute_revision("items", r.id, {}, false, r.attributes);
    docs.push_back(r);
  }
  auto ok_results = [](std::vector<std::string> ids) {
    std::vector<outpost::WriteResult> results;
    for (const std::string& id : ids) {
      results.push_back(
          {"items", id, outpost::Revision::parse("1-0123456789abcdef0123456789abcdef"), {}});
    }
    return json(200, outpost::write_results_to_json(results));
  };
  // About 200 bytes a document: two per request, "big" in none.
  f.answer(ok_results({"r0", "r1"}));
  f.answer(ok_results({"r2"}));
  f.answer(ok_results({"r4", "r5"}));
  std::vector<outpost::WriteResult> results = f.engine->write_replicated(docs);
  REQUIRE(results.size() == 6);
  CHECK(results[0].ok());
  CHECK(results[2].ok());
  REQUIRE(results[3].error.has_value());
  CHECK(results[3].error->code() == ErrorCode::too_large);
  CHECK(results[3].id == "big");
  CHECK(results[3].revision == docs[3].revision);
  CHECK(results[5].id == "r5");
  REQUIRE(f.requests->size() == 4);  // GET /v1, then three POSTs
  for (size_t i = 1; i < f.requests->size(); ++i) {
    const HttpRequest& r = (*f.requests)[i];
    CHECK(r.body.size() <= 600);
    const outpost::BulkDocsRequest decoded = outpost::bulk_docs_request_from_json(r.body);
    CHECK_FALSE(decoded.new_edits);
    for (const outpost::RemoteRevision& d : decoded.revisions) CHECK(d.id != "big");
  }
  // The limits are asked once.
  f.answer(ok_results({"r0"}));
  f.engine->write_replicated({docs[0]});
  CHECK(f.requests->size() == 5);
  CHECK(f.last().target == "/v1/bulk_docs");
}

TEST_CASE("http engine: a document exactly at the advertised body limit goes alone, once") {
  outpost::RemoteRevision doc;
  doc.table = "items";
  doc.id = "exact";
  doc.attributes.emplace("name", outpost::Value::from_string(std::string(300, 'x')));
  doc.revision = outpost::compute_revision("items", doc.id, {}, false, doc.attributes);
  const std::vector<outpost::RemoteRevision> docs{doc, doc};
  const outpost::EncodedDocs encoded = outpost::encode_bulk_docs(docs);
  const size_t exact = outpost::bulk_docs_request_from_parts(false, encoded, 0, 1).size();
  Fixture f;
  f.advertise(exact, 100);
  const std::string one =
      outpost::write_results_to_json({{"items", "exact", doc.revision, std::nullopt}});
  f.answer(json(200, one));
  f.answer(json(200, one));
  std::vector<outpost::WriteResult> results = f.engine->write_replicated(docs);
  REQUIRE(results.size() == 2);
  CHECK(results[0].ok());
  CHECK(results[1].ok());
  REQUIRE(f.requests->size() == 3);  // GET /v1, then one POST per document
  CHECK((*f.requests)[1].body.size() == exact);
  CHECK((*f.requests)[2].body.size() == exact);
}

TEST_CASE("http engine: a checkpoint that would not fit with the last batch is saved apart") {
  // The last batch exactly fills the advertised limit: the checkpoint sent
  // with it would make the request too large (a fatal 413 before).
  outpost::RemoteRevision doc;
  doc.table = "items";
  doc.id = "exact";
  doc.attributes.emplace("name", outpost::Value::from_string(std::string(300, 'x')));
  doc.revision = outpost::compute_revision("items", doc.id, {}, false, doc.attributes);
  const std::vector<outpost::RemoteRevision> docs{doc};
  const outpost::EncodedDocs encoded = outpost::encode_bulk_docs(docs);
  const size_t exact = outpost::bulk_docs_request_from_parts(false, encoded, 0, 1).size();
  Fixture f;
  f.advertise(exact, 100);
  f.answer(
      json(200, outpost::write_results_to_json({{"items", "exact", doc.revision, std::nullopt}})));
  f.answer(json(200, R"({"ok":true})"));
  const std::string checkpoint = R"({"last_seq":"7","updated_at":"2026-12-06T00:00:00Z"})";
  outpost::WrittenAndSaved out =
      f.engine->write_replicated_then_save(docs, "checkpoint-id", checkpoint);
  REQUIRE(out.results.size() == 1);
  CHECK(out.results[0].ok());
  CHECK(out.saved);
  REQUIRE(f.requests->size() == 3);  // GET /v1, the batch alone, then the checkpoint
  CHECK((*f.requests)[1].body.size() == exact);
  CHECK((*f.requests)[2].method == "PUT");
  CHECK((*f.requests)[2].target == "/v1/local/checkpoint-id");
  CHECK((*f.requests)[2].body == checkpoint);
}

TEST_CASE("http engine: a 413 for a request of several documents reads the limits again, once") {
  outpost::RemoteRevision doc;
  doc.table = "items";
  doc.id = "d";
  doc.attributes.emplace("name", outpost::Value::from_string(std::string(300, 'x')));
  doc.revision = outpost::compute_revision("items", doc.id, {}, false, doc.attributes);
  const std::vector<outpost::RemoteRevision> docs{doc, doc};
  const std::string one =
      outpost::write_results_to_json({{"items", "d", doc.revision, std::nullopt}});
  Fixture f;
  f.advertise(1 << 20, 100);
  f.answer(error_response(ErrorCode::too_large, "the body is larger than 500 bytes"));
  f.advertise(500, 100);  // the server restarted with a smaller limit
  f.answer(json(200, one));
  f.answer(json(200, one));
  std::vector<outpost::WriteResult> results = f.engine->write_replicated(docs);
  REQUIRE(results.size() == 2);
  CHECK(results[1].ok());
  REQUIRE(f.requests->size() == 5);
  CHECK((*f.requests)[2].target == "/v1");
  // Once: a second 413 is the caller's.
  f.answer(error_response(ErrorCode::too_large, "no"));
  f.advertise(500, 100);
  f.answer(error_response(ErrorCode::too_large, "still no"));
  CHECK(code_of([&] { f.engine->write_replicated({doc}); }) == ErrorCode::too_large);
}

TEST_CASE("http engine: errors keep the server's code and 4xx is never retried") {
  Fixture f;
  for (ErrorCode code :
       {ErrorCode::conflict, ErrorCode::forbidden, ErrorCode::unauthorized,
        ErrorCode::schema_conflict, ErrorCode::invalid_value, ErrorCode::too_large}) {
    f.requests->clear();
    f.answer(error_response(code, "refused"));
    f.answer(json(200, "[]"));
    try {
      f.engine->list_tables();
      FAIL("no error thrown");
    } catch (const Error& e) {
      CHECK(e.code() == code);
      CHECK(e.message() == "refused");
    }
    CHECK(f.requests->size() == 1);
    f.steps->clear();
  }
  // A status without an error object falls back on the status.
  f.answer(HttpResponse{404, "<html>nope</html>", "text/html"});
  CHECK(code_of([&] { f.engine->put_table(outpost::Table{"t", {}}); }) == ErrorCode::not_found);
}

TEST_CASE("http engine: 503 and transient failures are retried, then unavailable") {
  outpost::HttpClientOptions options;
  options.max_attempts = 4;
  Fixture f(options);
  SUBCASE("success after retries") {
    f.answer(error_response(ErrorCode::unavailable, "busy"));
    f.fail(true);
    f.answer(HttpResponse{502, "bad gateway", "text/plain"});
    f.answer(json(200, R"({"tables":[]})"));
    CHECK(f.engine->list_tables().empty());
    CHECK(f.requests->size() == 4);
    CHECK(f.engine->requests_sent() == 4);
  }
  SUBCASE("giving up") {
    for (int i = 0; i < 10; ++i) f.fail(true);
    CHECK(code_of([&] { f.engine->list_tables(); }) == ErrorCode::unavailable);
    CHECK(f.requests->size() == 4);
  }
  SUBCASE("503 to the end") {
    for (int i = 0; i < 10; ++i) f.answer(error_response(ErrorCode::unavailable, "busy"));
    CHECK(code_of([&] { f.engine->list_tables(); }) == ErrorCode::unavailable);
    CHECK(f.requests->size() == 4);
  }
  SUBCASE("a failure that is not transient is not retried and keeps its code") {
    f.steps->push_back(
        {{}, TransportFailure("certificate verify failed", false, ErrorCode::internal)});
    CHECK(code_of([&] { f.engine->list_tables(); }) == ErrorCode::internal);
    CHECK(f.requests->size() == 1);
  }
}

TEST_CASE("http engine: replication calls use their routes and codec") {
  Fixture f;
  std::vector<outpost::RevsDiffQuery> queries{
      {"items", "a", {outpost::Revision::parse("1-0123456789abcdef0123456789abcdef")}}};
  f.answer(json(
      200, R"({"items":{"a":{"missing":["1-0123456789abcdef0123456789abcdef"],"leaves":[]}}})"));
  std::vector<outpost::RevsDiffResult> diff = f.engine->revs_diff(queries);
  REQUIRE(diff.size() == 1);
  CHECK(diff[0].missing.size() == 1);
  CHECK(f.last().target == "/v1/revs_diff");
  CHECK(outpost::revs_diff_request_from_json(f.last().body).size() == 1);

  CHECK(f.engine->bulk_get({}).empty());
  CHECK(f.requests->size() == 1);  // nothing asked, nothing sent

  std::vector<outpost::BulkGetQuery> wanted{
      {"items", "a", outpost::Revision::parse("1-0123456789abcdef0123456789abcdef"), {}}};
  f.answer(json(200, outpost::bulk_get_response_to_json(
                         wanted, {outpost::BulkGetResult{std::nullopt,
                                                         Error(ErrorCode::not_found, "gone")}})));
  std::vector<outpost::BulkGetResult> got = f.engine->bulk_get(wanted);
  REQUIRE(got.size() == 1);
  REQUIRE(got[0].error);
  CHECK(got[0].error->code() == ErrorCode::not_found);
  CHECK(f.last().target == "/v1/bulk_get");

  outpost::RemoteRevision rev;
  rev.table = "items";
  rev.id = "a";
  rev.revision = outpost::Revision::parse("1-0123456789abcdef0123456789abcdef");
  f.advertise(1 << 20, 100);
  f.answer(
      json(200, R"([{"table":"items","id":"a","error":"invalid_revision","message":"forged"}])"));
  std::vector<outpost::WriteResult> written = f.engine->write_replicated({rev});
  REQUIRE(written.size() == 1);
  REQUIRE(written[0].error);
  CHECK(written[0].error->code() == ErrorCode::invalid_revision);
  CHECK_FALSE(outpost::bulk_docs_request_from_json(f.last().body).new_edits);
}

// Every answer is untrusted input (client/http_engine.h): a hostile or
// faulty hub cannot crash the client, make it hold far more than it asked
// for, or slip in records that were not asked for.
namespace {

std::string nested(size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

outpost::Revision rev(int generation, const char* body) {
  return outpost::compute_revision(
      "items", "a", generation == 1 ? outpost::Revision() : rev(generation - 1, body), false,
      {{"name", outpost::Value::from_string(body)}});
}

}  // namespace

TEST_CASE("http engine: a deeply nested checkpoint from the hub is no checkpoint, no crash") {
  Fixture f;
  f.answer(json(200, nested(400000)));
  std::optional<std::string> text = f.engine->get_local("cp");
  REQUIRE(text);
  CHECK_FALSE(outpost::checkpoint_from_json(*text));
  CHECK_FALSE(outpost::JsonDoc::parse(*text));
  CHECK(outpost::JsonDoc::parse(nested(60)));
  // Every decoder of an answer refuses it as invalid_json.
  f.answer(json(200, nested(400000)));
  CHECK(code_of([&] { f.engine->changes({}); }) == ErrorCode::invalid_json);
}

TEST_CASE("http engine: each request bounds its answer by what it asked for") {
  Fixture f;
  f.advertise(1 << 20, 100);
  f.engine->db_id();
  const size_t mib = 1 << 20;
  CHECK(f.last().max_response_body > 0);
  CHECK(f.last().max_response_body <= 4 * mib);
  f.answer(json(404, outpost::error_to_json(Error(ErrorCode::not_found, "no"))));
  f.engine->get_local("cp");
  CHECK(f.last().max_response_body <= 21 * mib);  // the client's 16 MiB body limit + ancestry
  outpost::ChangesRequest changes;
  changes.limit = 10;
  f.answer(json(200, R"({"results":[],"last_seq":"0"})"));
  f.engine->changes(changes);
  CHECK(f.last().max_response_body <= mib);
  f.answer(json(200, "{}"));
  f.engine->revs_diff({{"items", "a", {rev(1, "x")}}});
  CHECK(f.last().max_response_body <= mib);
}

TEST_CASE("http engine: a revs_diff answer about what was not asked is refused whole") {
  Fixture f;
  const outpost::Revision r1 = rev(1, "x");
  const std::vector<outpost::RevsDiffQuery> asked{{"items", "a", {r1}}};
  SUBCASE("another id") {
    f.answer(json(200, outpost::revs_diff_response_to_json({{"items", "zz", {r1}, {}}})));
  }
  SUBCASE("another table") {
    f.answer(json(200, outpost::revs_diff_response_to_json({{"other", "a", {r1}, {}}})));
  }
  SUBCASE("a revision that was not asked about") {
    f.answer(json(200, outpost::revs_diff_response_to_json({{"items", "a", {rev(2, "x")}, {}}})));
  }
  try {
    f.engine->revs_diff(asked);
    FAIL("the answer was accepted");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::internal);
    CHECK(std::string(e.what()).find("revs_diff") != std::string::npos);
    CHECK(std::string(e.what()).find("hostile") != std::string::npos);
  }
  CHECK(f.requests->size() == 1);  // not retried
}

TEST_CASE("http engine: a bulk_get answer with a document not asked for is refused whole") {
  Fixture f;
  const outpost::BulkGetQuery asked{"items", "a", rev(1, "x"), {}};
  outpost::RemoteRevision other;
  other.table = "items";
  other.id = "a";
  other.revision = rev(1, "x");
  other.attributes = {{"name", outpost::Value::from_string("x")}};
  SUBCASE("another id") { other.id = "b"; }
  SUBCASE("another table") { other.table = "people"; }
  SUBCASE("another revision") { other.revision = rev(2, "x"); }
  outpost::BulkGetQuery echoed = asked;
  echoed.table = other.table;
  echoed.id = other.id;
  echoed.revision = other.revision;
  f.answer(json(200, outpost::bulk_get_response_to_json({echoed}, {{other, std::nullopt}})));
  CHECK(code_of([&] { f.engine->bulk_get({asked}); }) == ErrorCode::internal);
}

TEST_CASE("http engine: 507 is disk_full, never retried") {
  Fixture f;
  f.answer(json(507, "<html>full</html>"));
  CHECK(code_of([&] { f.engine->db_id(); }) == ErrorCode::disk_full);
  CHECK(f.requests->size() == 1);
}
