// The HTTP router without sockets (STYLE.md 4): every route of DESIGN.md
// section 8 with its shapes and error codes, bad input that must leave the
// data byte-for-byte unchanged, and the per-table authorization matrix of
// section 9, applied to every route including the change feed.
#include "server/router.h"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>

#include "api/json.h"
#include "bad_input_cases.h"
#include "engine/backends.h"
#include "utils/log.h"

namespace outpost::test {
namespace {

Token admin_token(const std::string& name) {
  Token t;
  t.name = name;
  t.admin = true;
  return t;
}

using server::HttpRequest;
using server::HttpResponse;
using server::Router;
using server::RouterOptions;

std::string code(const HttpResponse& r) {
  if (r.status < 400) return "";
  return std::string(error_from_json(r.body).code_name());
}

std::string header(const HttpResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

// One fresh SQLite database, a router over it and an admin token.
struct Api {
  explicit Api(RouterOptions options = {})
      : db(test_backends()[0].create()), router(db->engine(), std::move(options)) {
    set_log_level(LogLevel::warn);
    admin = engine().tokens()->create_token(admin_token("admin"));
  }

  Engine& engine() { return db->engine(); }

  std::string token(const std::string& name, std::vector<std::string> read,
                    std::vector<std::string> write) {
    Token t;
    t.name = name;
    t.read = std::move(read);
    t.write = std::move(write);
    return engine().tokens()->create_token(t);
  }

  HttpResponse call(const std::string& method, const std::string& target,
                    const std::string& body = "", const std::string& as = "(admin)",
                    const std::string& content_type = "application/json") {
    HttpRequest request;
    request.method = method;
    request.target = target;
    request.body = body;
    request.remote = "192.0.2.1";
    std::string t = as == "(admin)" ? admin : as;
    if (!t.empty()) request.headers.emplace_back("Authorization", "Bearer " + t);
    if (!content_type.empty()) request.headers.emplace_back("Content-Type", content_type);
    return router.handle(request);
  }

  // The server still answers normally.
  void still_serving() {
    CHECK(call("GET", "/v1/health", "", "").status == 200);
    CHECK(call("GET", "/v1").status == 200);
  }

  std::unique_ptr<TestDatabase> db;
  Router router;
  std::string admin;
};

const std::string kItemsDef =
    R"({"columns":[{"name":"name","type":"string"},{"name":"size","type":"int"},)"
    R"({"name":"note","type":"string"}]})";

std::string attrs(const std::string& name) {
  return R"({"attributes":{"name":{"string":")" + name + R"("}}})";
}

TEST_CASE("router: health, root and authentication") {
  Api api;
  HttpResponse health = api.call("GET", "/v1/health", "", "");
  CHECK(health.status == 200);
  CHECK(health.route == "/v1/health");

  HttpResponse no_token = api.call("GET", "/v1", "", "");
  CHECK(no_token.status == 401);
  CHECK(code(no_token) == "unauthorized");
  CHECK(header(no_token, "WWW-Authenticate") == "Bearer");
  CHECK(api.call("GET", "/v1", "", "not-a-token").status == 401);
  CHECK(api.call("GET", "/metrics", "", "").status == 401);

  HttpResponse root = api.call("GET", "/v1");
  REQUIRE(root.status == 200);
  ServerInfo info = info_from_json(root.body);
  CHECK(info.engine == "outpost");
  CHECK(info.db_id == api.engine().db_id());
  CHECK(info.backend == "sqlite");
  CHECK(info.update_seq == api.engine().update_seq());

  SUBCASE("revoked and expired tokens are refused") {
    std::string t = api.token("gone", {"items"}, {});
    CHECK(api.call("GET", "/v1", "", t).status == 200);
    api.engine().tokens()->revoke_token("gone");
    CHECK(api.call("GET", "/v1", "", t).status == 401);
    Token expired;
    expired.name = "old";
    expired.admin = true;
    expired.expires_at_micros = 1;
    std::string e = api.engine().tokens()->create_token(expired);
    CHECK(api.call("GET", "/v1", "", e).status == 401);
  }

  SUBCASE("repeated failures from one address are slowed down, success resets") {
    int last_delay = 0;
    for (int i = 0; i < 8; ++i) {
      HttpResponse r = api.call("GET", "/v1", "", "wrong");
      CHECK(r.status == 401);
      if (i < RouterOptions{}.auth_free_failures) CHECK(r.delay_ms == 0);
      last_delay = r.delay_ms;
    }
    CHECK(last_delay >= 200);
    CHECK(last_delay <= RouterOptions{}.auth_max_delay_ms);
    CHECK(api.call("GET", "/v1").delay_ms == 0);
    CHECK(api.call("GET", "/v1", "", "wrong").delay_ms == 0);  // counter was reset
  }

  SUBCASE("auth off: every request is admin") {
    RouterOptions options;
    options.auth = false;
    Router open(api.engine(), options);
    HttpRequest request{"GET", "/v1/tables", {}, "", "x", {}};
    CHECK(open.handle(request).status == 200);
  }
}

TEST_CASE("router: tables") {
  Api api;
  HttpResponse created = api.call("PUT", "/v1/tables/items", kItemsDef);
  REQUIRE(created.status == 200);
  CHECK(table_from_json(created.body) == items_table());

  HttpResponse list = api.call("GET", "/v1/tables");
  REQUIRE(list.status == 200);
  CHECK(tables_from_json(list.body).size() == 1);
  CHECK(table_from_json(api.call("GET", "/v1/tables/items").body) == items_table());

  HttpResponse missing = api.call("GET", "/v1/tables/nope");
  CHECK(missing.status == 404);
  CHECK(code(missing) == "unknown_table");

  // Extend: the union of columns.
  HttpResponse extended =
      api.call("PUT", "/v1/tables/items", R"({"columns":[{"name":"extra","type":"bool"}]})");
  REQUIRE(extended.status == 200);
  CHECK(table_from_json(extended.body).columns.size() == 4);

  HttpResponse clash =
      api.call("PUT", "/v1/tables/items", R"({"columns":[{"name":"size","type":"string"}]})");
  CHECK(clash.status == 409);
  CHECK(code(clash) == "schema_conflict");

  HttpResponse name_mismatch =
      api.call("PUT", "/v1/tables/items", R"({"name":"other","columns":[]})");
  CHECK(name_mismatch.status == 400);
}

TEST_CASE("router: records — create, read, update, delete, resolve, list") {
  Api api;
  REQUIRE(api.call("PUT", "/v1/tables/items", kItemsDef).status == 200);

  HttpResponse created = api.call("POST", "/v1/tables/items/records", attrs("generated"));
  REQUIRE(created.status == 201);
  WriteResult c = write_result_from_json(created.body);
  CHECK(is_uuid_v4(c.id));
  CHECK(c.revision.generation() == 1);

  // An id with '/' travels as %2F; the path segments are decoded.
  HttpResponse put = api.call("PUT", "/v1/tables/items/records/a%2Fb%20c", attrs("one"));
  REQUIRE(put.status == 200);
  WriteResult p = write_result_from_json(put.body);
  CHECK(p.id == "a/b c");
  Record stored = must_get(api.engine(), "items", "a/b c");
  CHECK(stored.attributes.at("name") == str("one"));

  // Create over an existing record without a parent: conflict.
  HttpResponse again = api.call("PUT", "/v1/tables/items/records/a%2Fb%20c", attrs("two"));
  CHECK(again.status == 409);
  CHECK(code(again) == "conflict");

  HttpResponse updated = api.call(
      "PUT", "/v1/tables/items/records/a%2Fb%20c",
      R"({"revision":")" + p.revision.str() + R"(","attributes":{"name":{"string":"two"}}})");
  REQUIRE(updated.status == 200);
  WriteResult u = write_result_from_json(updated.body);
  CHECK(u.revision.generation() == 2);

  HttpResponse got =
      api.call("GET", "/v1/tables/items/records/a%2Fb%20c?conflicts=true&ancestry=true");
  REQUIRE(got.status == 200);
  Record r = record_from_json(got.body);
  CHECK(r.revision == u.revision);
  CHECK(r.attributes.at("name") == str("two"));
  REQUIRE(r.conflicts.has_value());
  CHECK(r.conflicts->empty());
  REQUIRE(r.ancestry.has_value());
  CHECK(r.ancestry->at(0) == p.revision);

  HttpResponse old = api.call("GET", "/v1/tables/items/records/a%2Fb%20c?rev=" + p.revision.str());
  REQUIRE(old.status == 200);
  CHECK(record_from_json(old.body).attributes.at("name") == str("one"));

  CHECK(code(api.call("GET", "/v1/tables/items/records/a%2Fb%20c?rev=garbage")) ==
        "invalid_revision");
  CHECK(code(api.call("GET", "/v1/tables/items/records/nobody")) == "not_found");
  CHECK(api.call("GET", "/v1/tables/items/records/x?conflicts=maybe").status == 400);

  // Delete needs the leaf; a stale one is a conflict.
  CHECK(code(api.call("DELETE", "/v1/tables/items/records/a%2Fb%20c", "", "(admin)", "")) ==
        "invalid_revision");
  CHECK(code(api.call("DELETE", "/v1/tables/items/records/a%2Fb%20c?revision=" +
                                    p.revision.str())) == "conflict");
  HttpResponse deleted =
      api.call("DELETE", "/v1/tables/items/records/a%2Fb%20c?revision=" + u.revision.str());
  REQUIRE(deleted.status == 200);
  HttpResponse tomb = api.call("GET", "/v1/tables/items/records/a%2Fb%20c");
  REQUIRE(tomb.status == 200);
  CHECK(record_from_json(tomb.body).deleted);

  // Resolve: make a conflict by replication, then resolve through the route.
  Revision base = create(api.engine(), "items", "k", item("base"));
  Revision mine = update(api.engine(), "items", "k", base, item("mine"));
  auto side = offline_chain("items", "k", base, 1, "side");
  REQUIRE(write_one_replicated(api.engine(), remote_of("items", "k", side, 0, {base})).ok());
  REQUIRE(conflicts_of(api.engine(), "items", "k").size() == 1);
  HttpResponse conflicts = api.call("GET", "/v1/conflicts?table=items");
  REQUIRE(conflicts.status == 200);
  ConflictPage page = conflict_page_from_json(conflicts.body);
  REQUIRE(page.entries.size() == 1);
  CHECK(page.entries[0].id == "k");
  HttpResponse resolved =
      api.call("POST", "/v1/tables/items/records/k/resolve",
               R"({"revision":")" + mine.str() + R"(","attributes":{"name":{"string":"final"}}})");
  REQUIRE(resolved.status == 200);
  CHECK(conflicts_of(api.engine(), "items", "k").empty());
  CHECK(must_get(api.engine(), "items", "k").attributes.at("name") == str("final"));

  // List with paging.
  for (int i = 0; i < 5; ++i) create(api.engine(), "items", "p" + std::to_string(i), item("p"));
  std::vector<std::string> ids;
  std::string after;
  for (int guard = 0; guard < 20; ++guard) {
    HttpResponse listed = api.call("GET", "/v1/tables/items/records?limit=2&after=" + after);
    REQUIRE(listed.status == 200);
    RecordPage rp = record_page_from_json(listed.body);
    CHECK(rp.records.size() <= 2);
    for (const Record& rec : rp.records) ids.push_back(rec.id);
    if (rp.next.empty()) break;
    after = rp.next;
  }
  CHECK(ids.size() == 7);  // generated, k, p0..p4 (a/b c is deleted)
  CHECK(api.call("GET", "/v1/tables/items/records?limit=0").status == 400);
  CHECK(api.call("GET", "/v1/tables/items/records?limit=abc").status == 400);
}

TEST_CASE("router: change feed, long-poll and stop") {
  RouterOptions options;
  options.max_page = 3;
  options.max_longpoll_ms = 2000;
  Api api(options);
  REQUIRE(api.call("PUT", "/v1/tables/items", kItemsDef).status == 200);
  REQUIRE(api.call("PUT", "/v1/tables/other", kItemsDef).status == 200);
  for (int i = 0; i < 5; ++i) create(api.engine(), "items", "i" + std::to_string(i), item("x"));
  create(api.engine(), "other", "o", item("x"));

  HttpResponse first = api.call("GET", "/v1/changes?limit=100");
  REQUIRE(first.status == 200);
  ChangesPage page = changes_from_json(first.body);
  CHECK(page.results.size() == 3);  // clamped to the feed page

  HttpResponse filtered = api.call("GET", "/v1/changes?tables=other");
  ChangesPage only = changes_from_json(filtered.body);
  REQUIRE(only.results.size() == 1);
  CHECK(only.results[0].table == "other");

  HttpResponse rest = api.call("GET", "/v1/changes?since=" + page.last_seq);
  CHECK(changes_from_json(rest.body).results.size() == 3);

  CHECK(code(api.call("GET", "/v1/changes?feed=continuous")) == "invalid_value");
  CHECK(code(api.call("GET", "/v1/changes?feed=longpoll&timeout_ms=-1")) == "invalid_value");

  std::string end = api.engine().update_seq();
  HttpRequest longpoll{"GET",
                       "/v1/changes?feed=longpoll&timeout_ms=60000&since=" + end,
                       {{"Authorization", "Bearer " + api.admin}},
                       "",
                       "t",
                       {}};
  CHECK(Router::is_long_poll(longpoll));
  CHECK_FALSE(Router::is_long_poll(HttpRequest{"GET", "/v1/changes", {}, "", "", {}}));

  SUBCASE("a long-poll wakes on a write") {
    auto start = std::chrono::steady_clock::now();
    auto waiting = std::async(std::launch::async, [&] { return api.router.handle(longpoll); });
    for (int i = 0; i < 200 && api.router.metrics().feed_waiters() == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    CHECK(api.router.metrics().feed_waiters() == 1);
    create(api.engine(), "items", "late", item("late"));
    HttpResponse woke = waiting.get();
    REQUIRE(woke.status == 200);
    ChangesPage p = changes_from_json(woke.body);
    REQUIRE(p.results.size() == 1);
    CHECK(p.results[0].id == "late");
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
    CHECK(api.router.metrics().feed_waiters() == 0);
  }
  SUBCASE("timeout_ms is capped by max_longpoll_ms") {
    auto start = std::chrono::steady_clock::now();
    HttpResponse r = api.router.handle(longpoll);
    auto took = std::chrono::steady_clock::now() - start;
    CHECK(r.status == 200);
    CHECK(changes_from_json(r.body).results.empty());
    CHECK(took >= std::chrono::milliseconds(1900));
    CHECK(took < std::chrono::milliseconds(4000));
  }
  SUBCASE("stop() cuts a long-poll short") {
    auto start = std::chrono::steady_clock::now();
    auto waiting = std::async(std::launch::async, [&] { return api.router.handle(longpoll); });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    api.router.stop();
    HttpResponse r = waiting.get();
    CHECK(r.status == 200);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(1000));
  }
  SUBCASE("may_wait=false answers at once") {
    auto start = std::chrono::steady_clock::now();
    CHECK(api.router.handle(longpoll, false).status == 200);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(500));
  }
}

TEST_CASE("router: revs_diff, bulk_get, bulk_docs and local documents") {
  RouterOptions options;
  options.max_batch_docs = 4;
  Api api(options);
  REQUIRE(api.call("PUT", "/v1/tables/items", kItemsDef).status == 200);
  Revision a1 = create(api.engine(), "items", "a", item("a"));
  auto chain = offline_chain("items", "n", Revision(), 3, "n");

  HttpResponse diff = api.call("POST", "/v1/revs_diff",
                               revs_diff_request_to_json({{"items", "a", {a1, chain[0].revision}},
                                                          {"items", "n", {chain[2].revision}}}));
  REQUIRE(diff.status == 200);
  auto d = revs_diff_response_from_json(diff.body);
  REQUIRE(d.size() == 2);
  CHECK(strs(d[0].missing) == std::vector<std::string>{chain[0].revision.str()});
  CHECK(strs(d[0].leaves) == std::vector<std::string>{a1.str()});
  CHECK(d[1].missing.size() == 1);

  // bulk_docs new_edits=false: a new record with its ancestry, one forged
  // revision (reported per document), the valid ones applied.
  RemoteRevision good = remote_of("items", "n", chain, 2);
  RemoteRevision forged = remote_of("items", "f", offline_chain("items", "f", {}, 1, "f"), 0);
  forged.attributes.insert_or_assign("name", str("tampered"));
  HttpResponse docs = api.call("POST", "/v1/bulk_docs", bulk_docs_request_to_json({forged, good}));
  REQUIRE(docs.status == 200);
  auto results = write_results_from_json(docs.body);
  REQUIRE(results.size() == 2);
  CHECK(code_of(results[0]) == ErrorCode::invalid_revision);
  CHECK(results[1].ok());
  CHECK(results[1].revision == chain[2].revision);
  CHECK_FALSE(api.engine().get("items", "f").has_value());

  // new_edits=true, including a document that does not decode and one
  // that conflicts: one result per doc, in order.
  std::string edits = R"({"new_edits":true,"docs":[)"
                      R"({"table":"items","id":"e1","attributes":{"name":{"string":"e"}}},)"
                      R"({"table":"items","id":"e2","attributes":{"name":{"int":"x"}}},)"
                      R"({"table":"items","id":"a","attributes":{"name":{"string":"dup"}}},)"
                      R"({"table":"items","id":"e3","attributes":{"size":{"int":"3"}}}]})";
  HttpResponse wrote = api.call("POST", "/v1/bulk_docs", edits);
  REQUIRE(wrote.status == 200);
  auto w = write_results_from_json(wrote.body);
  REQUIRE(w.size() == 4);
  CHECK(w[0].ok());
  CHECK(w[0].id == "e1");
  CHECK(code_of(w[1]) == ErrorCode::invalid_value);
  CHECK(code_of(w[2]) == ErrorCode::conflict);
  CHECK(w[3].ok());
  CHECK(w[3].id == "e3");

  HttpResponse got =
      api.call("POST", "/v1/bulk_get",
               bulk_get_request_to_json({{"items", "n", chain[2].revision, {chain[0].revision}},
                                         {"items", "nobody", a1, {}}}));
  REQUIRE(got.status == 200);
  auto g = bulk_get_response_from_json(got.body);
  REQUIRE(g.size() == 2);
  REQUIRE(g[0].revision.has_value());
  CHECK(strs(g[0].revision->ancestry) ==
        std::vector<std::string>{chain[1].revision.str(), chain[0].revision.str()});
  CHECK(g[1].error.has_value());

  // Too many documents in one request.
  std::vector<RevsDiffQuery> many;
  for (int i = 0; i < 5; ++i) many.push_back({"items", "id" + std::to_string(i), {a1}});
  HttpResponse big = api.call("POST", "/v1/revs_diff", revs_diff_request_to_json(many));
  CHECK(big.status == 413);
  CHECK(code(big) == "too_large");
  std::vector<Edit> five(5, Edit{Edit::Kind::put, "items", "", {}, item("x")});
  std::string before = dump(api.engine());
  CHECK(code(api.call("POST", "/v1/bulk_docs", bulk_docs_request_to_json(five))) == "too_large");
  CHECK(dump(api.engine()) == before);
  std::vector<BulkGetQuery> gets(5, BulkGetQuery{"items", "a", a1, {}});
  CHECK(code(api.call("POST", "/v1/bulk_get", bulk_get_request_to_json(gets))) == "too_large");

  // Local documents.
  CHECK(code(api.call("GET", "/v1/local/ck%2F1")) == "not_found");
  REQUIRE(api.call("PUT", "/v1/local/ck%2F1", R"({"last_seq":"5"})").status == 200);
  HttpResponse local = api.call("GET", "/v1/local/ck%2F1");
  REQUIRE(local.status == 200);
  CHECK(local.body == R"({"last_seq":"5"})");
  // Stored as the admin token's own document.
  CHECK(api.engine().get_local("admin/ck/1") == std::optional<std::string>(R"({"last_seq":"5"})"));
  CHECK_FALSE(api.engine().get_local("ck/1").has_value());
  CHECK(code(api.call("PUT", "/v1/local/ck%2F1", R"({"last_seq":)")) == "invalid_json");
  CHECK(api.call("GET", "/v1/local/ck%2F1").body == R"({"last_seq":"5"})");

  // Metrics count what happened.
  HttpResponse metrics = api.call("GET", "/metrics");
  REQUIRE(metrics.status == 200);
  CHECK(metrics.content_type.starts_with("text/plain"));
  CHECK(metrics.body.find(
            R"(outpost_http_requests_total{route="/v1/bulk_docs",method="POST",status="200"})") !=
        std::string::npos);
  CHECK(metrics.body.find("outpost_http_request_duration_seconds_bucket{le=\"+Inf\"}") !=
        std::string::npos);
  CHECK(metrics.body.find("outpost_revisions_written_total 3") != std::string::npos);
  CHECK(metrics.body.find("outpost_feed_waiters 0") != std::string::npos);
  CHECK(metrics.body.find(R"(outpost_http_errors_total{code="too_large"} 3)") != std::string::npos);
  CHECK(metrics.body.find("outpost_replication_batches_total 1\n") != std::string::npos);
  CHECK(metrics.body.find("outpost_database_errors_total 0\n") != std::string::npos);
  CHECK(metrics.body.find("outpost_transaction_retries_total 0\n") != std::string::npos);
}

// Bad input: each case gets its status and code, the stored data stays
// byte-for-byte the same, and the router keeps serving.
TEST_CASE("router: bad input never changes data") {
  RouterOptions options;
  options.max_body_bytes = 64 * 1024;
  Api api(options);
  REQUIRE(api.call("PUT", "/v1/tables/items", kItemsDef).status == 200);
  Revision a1 = create(api.engine(), "items", "a", item("keep me", 1));
  Revision base = create(api.engine(), "items", "k", item("base"));
  update(api.engine(), "items", "k", base, item("mine"));
  auto side = offline_chain("items", "k", base, 1, "side");
  REQUIRE(write_one_replicated(api.engine(), remote_of("items", "k", side, 0, {base})).ok());
  api.engine().put_local("cp", R"({"last_seq":"1"})");
  // The records and every local document, whoever's.
  auto state = [&] {
    std::string out = dump(api.engine());
    for (const auto& [id, body] : api.engine().list_local()) out += id + "=" + body + "\n";
    return out;
  };
  const std::string before = state();

  const std::string rec = "/v1/tables/items/records/";
  const std::vector<BadInputCase> cases = bad_input_cases(a1);
  for (const BadInputCase& c : cases) {
    CAPTURE(c.name);
    HttpResponse r = api.call(c.method, c.target, c.body, "(admin)", c.content_type);
    check_bad_input_answer(c, r.status, r.body);
    CHECK(state() == before);
    api.still_serving();
  }

  SUBCASE("wrong method: 405 with Allow") {
    HttpResponse r = api.call("DELETE", "/v1/tables/items");
    CHECK(r.status == 405);
    CHECK(code(r) == "method_not_allowed");
    CHECK(header(r, "Allow") == "GET, PUT");
    HttpResponse r2 = api.call("PATCH", rec + "a", attrs("x"));
    CHECK(r2.status == 405);
    CHECK(header(r2, "Allow") == "GET, PUT, DELETE");
    CHECK(api.call("POST", "/v1/changes", "{}").status == 405);
    CHECK(state() == before);
  }
}

// A token that may read table a and write nothing never sees table b, through
// any route, the feed included; its writes are refused per document.
TEST_CASE("router: authorization matrix") {
  RouterOptions options;
  Api api(options);
  REQUIRE(api.call("PUT", "/v1/tables/a", kItemsDef).status == 200);
  REQUIRE(api.call("PUT", "/v1/tables/b", kItemsDef).status == 200);
  Revision ra = create(api.engine(), "a", "ra", item("visible"));
  Revision rb = create(api.engine(), "b", "rb", item("secret"));
  for (const std::string t : {"a", "b"}) {
    Revision base = create(api.engine(), t, "k", item("base"));
    update(api.engine(), t, "k", base, item("mine"));
    auto side = offline_chain(t, "k", base, 1, "side");
    REQUIRE(write_one_replicated(api.engine(), remote_of(t, "k", side, 0, {base})).ok());
  }
  const std::string reader = api.token("reader", {"a"}, {});
  const std::string writer_b = api.token("writer-b", {}, {"b"});
  const std::string before = dump(api.engine());
  auto as = [&](const std::string& method, const std::string& target,
                const std::string& body = "") { return api.call(method, target, body, reader); };
  auto no_b = [](const std::string& body) {
    CHECK(body.find("secret") == std::string::npos);
    CHECK(body.find("\"b\"") == std::string::npos);
  };

  // Reads of a work; everything about b is forbidden or filtered.
  CHECK(as("GET", "/v1").status == 200);
  HttpResponse tables = as("GET", "/v1/tables");
  REQUIRE(tables.status == 200);
  auto listed = tables_from_json(tables.body);
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].name == "a");
  CHECK(as("GET", "/v1/tables/a").status == 200);
  CHECK(code(as("GET", "/v1/tables/b")) == "forbidden");
  CHECK(code(as("GET", "/v1/tables/nonexistent")) == "forbidden");  // existence not revealed
  CHECK(as("GET", "/v1/tables/a/records").status == 200);
  CHECK(code(as("GET", "/v1/tables/b/records")) == "forbidden");
  CHECK(as("GET", "/v1/tables/a/records/ra").status == 200);
  CHECK(code(as("GET", "/v1/tables/b/records/rb")) == "forbidden");
  CHECK(code(as("GET", "/v1/tables/b/records/rb?rev=" + rb.str())) == "forbidden");

  HttpResponse conflicts = as("GET", "/v1/conflicts");
  REQUIRE(conflicts.status == 200);
  ConflictPage cp = conflict_page_from_json(conflicts.body);
  REQUIRE(cp.entries.size() == 1);
  CHECK(cp.entries[0].table == "a");
  CHECK(code(as("GET", "/v1/conflicts?table=b")) == "forbidden");

  HttpResponse feed = as("GET", "/v1/changes");
  REQUIRE(feed.status == 200);
  no_b(feed.body);
  ChangesPage fp = changes_from_json(feed.body);
  CHECK(fp.results.size() == 2);
  for (const Change& c : fp.results) CHECK(c.table == "a");
  CHECK(code(as("GET", "/v1/changes?tables=b")) == "forbidden");
  CHECK(code(as("GET", "/v1/changes?tables=a,b")) == "forbidden");

  // A long-poll of the reader does not wake for a write to b.
  {
    auto waiting = std::async(std::launch::async, [&] {
      return as("GET", "/v1/changes?feed=longpoll&timeout_ms=600&since=" + fp.last_seq);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    Revision rb2 = update(api.engine(), "b", "rb", rb, item("secret2"));
    HttpResponse r = waiting.get();
    REQUIRE(r.status == 200);
    no_b(r.body);
    CHECK(changes_from_json(r.body).results.empty());
    // Undo nothing: the write was the admin's; refresh the snapshot.
    (void)rb2;
  }
  const std::string snapshot = dump(api.engine());

  HttpResponse diff = as("POST", "/v1/revs_diff",
                         revs_diff_request_to_json({{"a", "ra", {ra}}, {"b", "rb", {rb}}}));
  REQUIRE(diff.status == 200);
  auto d = revs_diff_response_from_json(diff.body);
  REQUIRE(d.size() == 2);
  CHECK(d[0].missing.empty());
  CHECK(d[1].missing.size() == 1);  // b tells nothing: all missing, no leaves
  CHECK(d[1].leaves.empty());

  HttpResponse got = as("POST", "/v1/bulk_get",
                        bulk_get_request_to_json({{"a", "ra", ra, {}}, {"b", "rb", rb, {}}}));
  REQUIRE(got.status == 200);
  no_b(got.body.substr(0, 0));
  CHECK(got.body.find("secret") == std::string::npos);
  auto g = bulk_get_response_from_json(got.body);
  REQUIRE(g.size() == 2);
  CHECK(g[0].revision.has_value());
  REQUIRE(g[1].error.has_value());
  CHECK(g[1].error->code() == ErrorCode::forbidden);

  // Writes: refused per document, nothing stored.
  std::vector<Edit> edits{{Edit::Kind::put, "a", "new-a", {}, item("x")},
                          {Edit::Kind::put, "b", "new-b", {}, item("x")}};
  HttpResponse docs = as("POST", "/v1/bulk_docs", bulk_docs_request_to_json(edits));
  REQUIRE(docs.status == 200);
  auto w = write_results_from_json(docs.body);
  REQUIRE(w.size() == 2);
  CHECK(code_of(w[0]) == ErrorCode::forbidden);
  CHECK(code_of(w[1]) == ErrorCode::forbidden);
  RemoteRevision rr = remote_of("b", "z", offline_chain("b", "z", {}, 1, "z"), 0);
  HttpResponse repl = as("POST", "/v1/bulk_docs", bulk_docs_request_to_json({rr}));
  REQUIRE(repl.status == 200);
  CHECK(code_of(write_results_from_json(repl.body)[0]) == ErrorCode::forbidden);
  CHECK(code(as("PUT", "/v1/tables/a/records/ra", attrs("x"))) == "forbidden");
  CHECK(code(as("POST", "/v1/tables/a/records", attrs("x"))) == "forbidden");
  CHECK(code(as("DELETE", "/v1/tables/a/records/ra?revision=" + ra.str())) == "forbidden");
  CHECK(code(as("POST", "/v1/tables/a/records/k/resolve",
                R"({"revision":")" + ra.str() + R"(","attributes":{}})")) == "forbidden");
  CHECK(code(as("PUT", "/v1/tables/a", kItemsDef)) == "forbidden");  // admin only
  CHECK(code(as("PUT", "/v1/tables/c", kItemsDef)) == "forbidden");
  CHECK(dump(api.engine()) == snapshot);

  // A write-only token for b: writes b per document, a is refused; reads nothing.
  std::vector<Edit> mixed{{Edit::Kind::put, "a", "wa", {}, item("x")},
                          {Edit::Kind::put, "b", "wb", {}, item("x")}};
  HttpResponse mixed_r =
      api.call("POST", "/v1/bulk_docs", bulk_docs_request_to_json(mixed), writer_b);
  REQUIRE(mixed_r.status == 200);
  auto m = write_results_from_json(mixed_r.body);
  REQUIRE(m.size() == 2);
  CHECK(code_of(m[0]) == ErrorCode::forbidden);
  CHECK(m[1].ok());
  CHECK_FALSE(api.engine().get("a", "wa").has_value());
  CHECK(api.engine().get("b", "wb").has_value());
  HttpResponse wfeed = api.call("GET", "/v1/changes", "", writer_b);
  REQUIRE(wfeed.status == 200);
  CHECK(changes_from_json(wfeed.body).results.empty());
  CHECK(tables_from_json(api.call("GET", "/v1/tables", "", writer_b).body).empty());

  // Local documents: each token has its own; none reads or moves another's.
  const std::string reader_cp =
      R"({"last_seq":"7","updated_at":"2026-12-01T10:00:00Z","source":"s","target":"t",)"
      R"("tables":["a"]})";
  REQUIRE(as("PUT", "/v1/local/cp", reader_cp).status == 200);
  CHECK(as("GET", "/v1/local/cp").body == reader_cp);
  CHECK(code(api.call("GET", "/v1/local/cp", "", writer_b)) == "not_found");
  REQUIRE(api.call("PUT", "/v1/local/cp", R"({"last_seq":"1"})", writer_b).status == 200);
  CHECK(as("GET", "/v1/local/cp").body == reader_cp);
  CHECK(api.call("GET", "/v1/local/cp", "", writer_b).body == R"({"last_seq":"1"})");
  CHECK(code(as("GET", "/v1/local/" + std::string(256, 'x'))) == "invalid_name");
  // Only an admin lists them: who synced, up to where, when.
  CHECK(code(as("GET", "/v1/peers")) == "forbidden");
  HttpResponse peers = api.call("GET", "/v1/peers");
  REQUIRE(peers.status == 200);
  CHECK(peers.body.find(R"({"token":"reader","replication_id":"cp","source":"s","target":"t",)"
                        R"("tables":["a"],"last_seq":"7","updated_at":"2026-12-01T10:00:00Z",)"
                        R"("scope_fingerprint":""})") != std::string::npos);
  CHECK(peers.body.find(R"("token":"writer-b","replication_id":"cp")") != std::string::npos);
  (void)before;
}

TEST_CASE("router: check_header decides from the header alone and hands the token on") {
  Api api;
  api.call("PUT", "/v1/tables/items", R"({"columns":[{"name":"name","type":"string"}]})");
  auto head = [&](const std::string& method, const std::string& target, const std::string& as) {
    HttpRequest request;
    request.method = method;
    request.target = target;
    request.remote = "192.0.2.9";
    if (!as.empty()) request.headers.emplace_back("Authorization", "Bearer " + as);
    return request;
  };
  HttpRequest stranger = head("POST", "/v1/bulk_docs", "");
  std::optional<HttpResponse> refused = api.router.check_header(stranger);
  REQUIRE(refused);
  CHECK(refused->status == 401);
  CHECK(header(*refused, "WWW-Authenticate") == "Bearer");
  CHECK_FALSE(stranger.token.has_value());

  HttpRequest invented = head(std::string(5000, 'Q'), "/v1/bulk_docs", api.admin);
  refused = api.router.check_header(invented);
  REQUIRE(refused);
  CHECK(refused->status == 501);
  CHECK(refused->body.find("QQQ") == std::string::npos);
  CHECK(Router::method_label(invented.method) == "other");
  CHECK(Router::method_label("DELETE") == "DELETE");

  HttpRequest wrong_method = head("DELETE", "/v1/bulk_docs", api.admin);
  CHECK(api.router.check_header(wrong_method)->status == 405);
  HttpRequest no_route = head("PUT", "/v1/nowhere", api.admin);
  CHECK(api.router.check_header(no_route)->status == 404);

  HttpRequest admitted = head("PUT", "/v1/tables/items/records/a", api.admin);
  CHECK_FALSE(api.router.check_header(admitted).has_value());
  REQUIRE(admitted.token.has_value());
  CHECK(admitted.token->admin);
  // handle() uses the token check_header() found (no second lookup needed).
  admitted.body = R"({"attributes":{"name":{"string":"x"}}})";
  admitted.headers.clear();
  CHECK(api.router.handle(admitted).status == 200);
  // Metrics count the refused methods under "other" only.
  const std::string metrics = api.call("GET", "/metrics").body;
  CHECK(metrics.find("method=\"other\",status=\"501\"") != std::string::npos);
  CHECK(metrics.find("QQQ") == std::string::npos);
}

TEST_CASE("router: conflicts page over the token's readable tables only") {
  Api api;
  for (const std::string t : {"a", "b", "c"}) {
    create_table(api.engine(), Table{t, items_table().columns});
    Revision base = create(api.engine(), t, t + "1", item("base"));
    update(api.engine(), t, t + "1", base, item("mine"));
    auto side = offline_chain(t, t + "1", base, 1, "side");
    REQUIRE(write_one_replicated(api.engine(), remote_of(t, t + "1", side, 0, {base})).ok());
  }
  const std::string reader = api.token("reader", {"a", "c"}, {});
  HttpResponse first = api.call("GET", "/v1/conflicts?limit=1", "", reader);
  ConflictPage p1 = conflict_page_from_json(first.body);
  REQUIRE(p1.entries.size() == 1);
  CHECK(p1.entries[0].id == "a1");
  CHECK(p1.next == "a/a1");
  ConflictPage p2 =
      conflict_page_from_json(api.call("GET", "/v1/conflicts?limit=1&after=a/a1", "", reader).body);
  REQUIRE(p2.entries.size() == 1);
  CHECK(p2.entries[0].id == "c1");  // b is skipped, by the entries and by the cursor
  ConflictPage p3 =
      conflict_page_from_json(api.call("GET", "/v1/conflicts?limit=1&after=c/c1", "", reader).body);
  CHECK(p3.entries.empty());
  CHECK(p3.next.empty());
  // The admin pages through all three.
  ConflictPage all = conflict_page_from_json(api.call("GET", "/v1/conflicts?limit=10").body);
  CHECK(all.entries.size() == 3);
}

TEST_CASE("router: scope= narrows reads, and its errors name only readable tables") {
  Api api;
  create_table(api.engine(), Table{"open", {col("district", ValueType::string)}});
  create_table(api.engine(), Table{"secret", {col("code", ValueType::string)}});
  create(api.engine(), "open", "o1", Attributes{{"district", str("north")}});
  create(api.engine(), "open", "o2", Attributes{{"district", str("south")}});
  create(api.engine(), "secret", "s1", Attributes{{"code", str("x")}});
  const std::string reader = api.token("reader", {"open"}, {});
  const std::string north = "scope=open%3A%20district%20%3D%20%27north%27";

  // Narrowed reads: the list, a record, the feed.
  RecordPage page =
      record_page_from_json(api.call("GET", "/v1/tables/open/records?" + north, "", reader).body);
  REQUIRE(page.records.size() == 1);
  CHECK(page.records[0].id == "o1");
  CHECK(api.call("GET", "/v1/tables/open/records/o2?" + north, "", reader).status == 404);
  CHECK(api.call("GET", "/v1/tables/open/records/o1?" + north, "", reader).status == 200);
  ChangesPage feed = changes_from_json(api.call("GET", "/v1/changes?" + north, "", reader).body);
  REQUIRE(feed.results.size() == 1);
  CHECK(feed.results[0].id == "o1");
  // A read creates no index (a read never writes).
  CHECK(api.engine().scope_indexes("open").empty());

  // A scope naming a table the token may not read is refused like one
  // naming no table at all: the message lists the readable tables only.
  for (const char* text : {"secret%3A%20code%20%3D%20%27x%27", "nosuch%3A%20%2A"}) {
    HttpResponse r = api.call("GET", std::string("/v1/changes?scope=") + text, "", reader);
    INFO(r.body);
    CHECK(r.status == 400);
    CHECK(r.body.find("invalid_scope") != std::string::npos);
    CHECK(r.body.find("unknown table") != std::string::npos);
    CHECK(r.body.find("the tables are open") != std::string::npos);
    CHECK(r.body.find("its columns") == std::string::npos);
  }
  // The admin may name it.
  CHECK(api.call("GET", "/v1/changes?scope=secret%3A%20code%20%3D%20%27x%27").status == 200);
  api.still_serving();
}

}  // namespace
}  // namespace outpost::test

namespace outpost::test {
namespace {

// A bulk_docs body of `docs` (replicated) carrying the local document `id`.
std::string with_local(const std::vector<RemoteRevision>& docs, const std::string& id,
                       const std::string& json) {
  return bulk_docs_request_from_parts(false, encode_bulk_docs(docs), 0, docs.size(), id, json);
}

}  // namespace

TEST_CASE("router: field-link shortcuts: overview with tables, more, checkpoint with the batch") {
  Api api;
  REQUIRE(api.call("PUT", "/v1/tables/items", kItemsDef).status == 200);
  REQUIRE(api.call("PUT", "/v1/tables/secret", kItemsDef).status == 200);
  const std::string reader = api.token("reader", {"items"}, {"items"});

  // GET /v1?tables=true: the tables the token may read, in the same answer.
  ServerInfo all = info_from_json(api.call("GET", "/v1?tables=true").body);
  REQUIRE(all.tables.has_value());
  CHECK(all.tables->size() == 2);
  ServerInfo mine = info_from_json(api.call("GET", "/v1?tables=true", "", reader).body);
  REQUIRE(mine.tables.has_value());
  REQUIRE(mine.tables->size() == 1);
  CHECK(mine.tables->at(0).name == "items");
  CHECK_FALSE(info_from_json(api.call("GET", "/v1").body).tables.has_value());
  CHECK(code(api.call("GET", "/v1?tables=yes")) == "invalid_value");

  // "more": false once the feed has nothing after the page.
  for (int i = 0; i < 3; ++i) create(api.engine(), "items", "m" + std::to_string(i), item("m"));
  ChangesPage full = changes_from_json(api.call("GET", "/v1/changes?limit=3").body);
  CHECK(full.results.size() == 3);
  CHECK(full.more);
  ChangesPage rest =
      changes_from_json(api.call("GET", "/v1/changes?limit=10&since=" + full.last_seq).body);
  CHECK(rest.results.empty());
  CHECK_FALSE(rest.more);
  ChangesPage whole = changes_from_json(api.call("GET", "/v1/changes?limit=10").body);
  CHECK(whole.results.size() == 3);
  CHECK_FALSE(whole.more);

  // The local document is stored with a batch that is written entirely,
  // under the token's own name.
  auto chain = offline_chain("items", "n", Revision(), 2, "n");
  RemoteRevision good = remote_of("items", "n", chain, 1);
  HttpResponse saved =
      api.call("POST", "/v1/bulk_docs", with_local({good}, "ckpt", R"({"last_seq":"7"})"), reader);
  REQUIRE(saved.status == 200);
  bool stored = false;
  std::vector<WriteResult> results = write_results_saved_from_json(saved.body, stored);
  REQUIRE(results.size() == 1);
  CHECK(results[0].ok());
  CHECK(stored);
  CHECK(api.call("GET", "/v1/local/ckpt", "", reader).body == R"({"last_seq":"7"})");
  CHECK(api.call("GET", "/v1/local/ckpt").status == 404);  // the admin's own is another

  // A refused document leaves it unstored; the others are still written.
  RemoteRevision forged = remote_of("items", "f", offline_chain("items", "f", {}, 1, "f"), 0);
  forged.attributes.insert_or_assign("name", str("tampered"));
  auto other = offline_chain("items", "o", Revision(), 1, "o");
  HttpResponse refused = api.call(
      "POST", "/v1/bulk_docs",
      with_local({forged, remote_of("items", "o", other, 0)}, "ckpt", R"({"last_seq":"9"})"),
      reader);
  REQUIRE(refused.status == 200);
  results = write_results_saved_from_json(refused.body, stored);
  REQUIRE(results.size() == 2);
  CHECK(code_of(results[0]) == ErrorCode::invalid_revision);
  CHECK(results[1].ok());
  CHECK_FALSE(stored);
  CHECK(api.call("GET", "/v1/local/ckpt", "", reader).body == R"({"last_seq":"7"})");

  // A bad local document changes nothing, not even the documents.
  auto third = offline_chain("items", "t", Revision(), 1, "t");
  CHECK(code(api.call("POST", "/v1/bulk_docs",
                      with_local({remote_of("items", "t", third, 0)}, "ckpt", "{not json"),
                      reader)) == "invalid_json");
  CHECK(code(api.call("POST", "/v1/bulk_docs",
                      with_local({remote_of("items", "t", third, 0)}, std::string(600, 'x'), "{}"),
                      reader)) == "invalid_name");
  CHECK_FALSE(api.engine().get("items", "t").has_value());
  // Without a local document the answer is the plain array, as before.
  HttpResponse plain = api.call("POST", "/v1/bulk_docs",
                                bulk_docs_request_to_json({remote_of("items", "t", third, 0)}));
  REQUIRE(plain.status == 200);
  CHECK(plain.body.front() == '[');
}

}  // namespace outpost::test
