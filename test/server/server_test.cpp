// The server over real sockets on 127.0.0.1: every limit of DESIGN.md
// section 9 bites, keep-alive, a long-poll never stalls other clients, a
// graceful stop, TLS; and `outpost serve` / `outpost tokens` as processes,
// including two servers on one PostgreSQL database.
#include "server/server.h"

#include <doctest/doctest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <thread>

#include "api/json.h"
#include "engine/backends.h"
#include "engine/open.h"
#include "server/bad_input_cases.h"
#include "server/http_helpers.h"
#include "server/router.h"
#include "utils/log.h"

namespace outpost::test {
namespace {

Token admin_token(const std::string& name) {
  Token t;
  t.name = name;
  t.admin = true;
  return t;
}

using namespace std::chrono_literals;
using http::Connection;
using http::request_text;
using Clock = std::chrono::steady_clock;

const std::string kItemsDef =
    R"({"columns":[{"name":"name","type":"string"},{"name":"size","type":"int"},)"
    R"({"name":"note","type":"string"}]})";

// A server in this process on a fresh SQLite database, on a free port.
struct Running {
  explicit Running(server::ServerOptions options = {}, server::RouterOptions routing = {})
      : db(test_backends()[0].create()) {
    set_log_level(LogLevel::warn);
    admin = db->engine().tokens()->create_token(admin_token("admin"));
    router = std::make_unique<server::Router>(db->engine(), routing);
    options.port = 0;
    srv = std::make_unique<server::Server>(*router, options);
    srv->start();
    port = srv->port();
  }
  ~Running() { srv->stop(5s); }

  std::optional<http::Response> get(const std::string& target) {
    return http::fetch(port, "GET", target, "", admin);
  }

  std::unique_ptr<TestDatabase> db;
  std::string admin;
  std::unique_ptr<server::Router> router;
  std::unique_ptr<server::Server> srv;
  int port = 0;
};

TEST_CASE("server: keep-alive serves several requests on one connection") {
  Running s;
  Connection c(s.port);
  REQUIRE(c.ok());
  auto r1 = c.roundtrip(request_text("GET", "/v1/health"));
  REQUIRE(r1);
  CHECK(r1->status == 200);
  CHECK(r1->header("connection") != "close");
  auto r2 = c.roundtrip(request_text("PUT", "/v1/tables/items", kItemsDef, s.admin));
  REQUIRE(r2);
  CHECK(r2->status == 200);
  // Two requests pipelined in one write.
  CHECK(c.send(request_text("GET", "/v1", "", s.admin) +
               request_text("GET", "/v1/tables", "", s.admin)));
  auto r3 = c.read();
  auto r4 = c.read();
  REQUIRE(r3);
  REQUIRE(r4);
  CHECK(r3->status == 200);
  CHECK(tables_from_json(r4->body).size() == 1);
  // Connection: close is honoured.
  auto r5 = c.roundtrip(request_text("GET", "/v1/health", "", "", {"Connection: close"}));
  REQUIRE(r5);
  CHECK(c.closed_within(2s));
}

TEST_CASE("server: body limit (413) leaves data unchanged and the server serving") {
  server::ServerOptions options;
  options.max_body_bytes = 4096;
  server::RouterOptions routing;
  routing.max_body_bytes = 4096;
  Running s(options, routing);
  REQUIRE(http::fetch(s.port, "PUT", "/v1/tables/items", kItemsDef, s.admin)->status == 200);
  std::string before = dump(s.db->engine());
  std::string big = R"({"attributes":{"note":{"string":")" + std::string(8000, 'x') + R"("}}})";
  Connection c(s.port);
  auto r = c.roundtrip(request_text("PUT", "/v1/tables/items/records/x", big, s.admin));
  REQUIRE(r);
  CHECK(r->status == 413);
  CHECK(r->code() == "too_large");
  CHECK(c.closed_within(2s));
  // Declared length over the limit, body never sent: refused from the header.
  Connection c2(s.port);
  auto r2 = c2.roundtrip(
      "PUT /v1/tables/items/records/y HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + s.admin +
      "\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n");
  REQUIRE(r2);
  CHECK(r2->status == 413);
  // Chunked bodies count too.
  Connection c3(s.port);
  std::string chunk(3000, 'y');
  auto r3 = c3.roundtrip(
      "POST /v1/bulk_docs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Authorization: Bearer " +
      s.admin +
      "\r\nTransfer-Encoding: chunked\r\n\r\n"
      "bb8\r\n" +
      chunk + "\r\nbb8\r\n" + chunk + "\r\n0\r\n\r\n");
  REQUIRE(r3);
  CHECK(r3->status == 413);
  CHECK(dump(s.db->engine()) == before);
  CHECK(s.get("/v1")->status == 200);
}

TEST_CASE("server: header limit (413)") {
  server::ServerOptions options;
  options.max_header_bytes = 2048;
  Running s(options);
  Connection c(s.port);
  auto r = c.roundtrip(
      request_text("GET", "/v1", "", s.admin, {"X-Padding: " + std::string(4000, 'p')}));
  REQUIRE(r);
  CHECK(r->status == 413);
  CHECK(r->code() == "too_large");
  CHECK(c.closed_within(2s));
  CHECK(s.get("/v1")->status == 200);
}

TEST_CASE("server: a malformed HTTP request is 400 and the server keeps serving") {
  Running s;
  for (const std::string bad :
       {"HELLO\r\n\r\n", "GET /v1 HTTP/9.9\r\n\r\n", "GET /v1 HTTP/1.1\r\nBad Header\r\n\r\n"}) {
    CAPTURE(bad);
    Connection c(s.port);
    auto r = c.roundtrip(bad);
    REQUIRE(r);
    CHECK(r->status == 400);
    CHECK(r->code() == "invalid_value");
    CHECK(c.closed_within(2s));
  }
  CHECK(s.get("/v1")->status == 200);
}

TEST_CASE("server: JSON depth, batch size and feed page limits over the wire") {
  server::RouterOptions routing;
  routing.json.max_depth = 8;
  routing.max_batch_docs = 3;
  routing.max_page = 2;
  Running s({}, routing);
  REQUIRE(http::fetch(s.port, "PUT", "/v1/tables/items", kItemsDef, s.admin)->status == 200);
  for (int i = 0; i < 5; ++i) create(s.db->engine(), "items", "r" + std::to_string(i), item("x"));
  std::string before = dump(s.db->engine());

  std::string nine = std::string(9, '[') + std::string(9, ']');
  auto deep = http::fetch(s.port, "POST", "/v1/revs_diff", nine, s.admin);
  REQUIRE(deep);
  CHECK(deep->status == 400);
  CHECK(deep->code() == "invalid_json");

  std::vector<Edit> four(4, Edit{Edit::Kind::put, "items", "", {}, item("x")});
  auto batch =
      http::fetch(s.port, "POST", "/v1/bulk_docs", bulk_docs_request_to_json(four), s.admin);
  REQUIRE(batch);
  CHECK(batch->status == 413);
  CHECK(dump(s.db->engine()) == before);
  std::vector<Edit> three(3, Edit{Edit::Kind::put, "items", "", {}, item("x")});
  CHECK(http::fetch(s.port, "POST", "/v1/bulk_docs", bulk_docs_request_to_json(three), s.admin)
            ->status == 200);

  auto page = s.get("/v1/changes?limit=10000");
  REQUIRE(page);
  CHECK(changes_from_json(page->body).results.size() == 2);
  auto records = s.get("/v1/tables/items/records?limit=500");
  CHECK(record_page_from_json(records->body).records.size() == 2);
}

TEST_CASE("server: long-poll is capped and never stalls other clients") {
  server::ServerOptions options;
  options.worker_threads = 1;
  options.longpoll_threads = 2;
  server::RouterOptions routing;
  routing.max_longpoll_ms = 1500;
  Running s(options, routing);
  std::string since = s.db->engine().update_seq();
  std::string target = "/v1/changes?feed=longpoll&timeout_ms=600000&since=" + since;

  auto start = Clock::now();
  std::vector<std::unique_ptr<Connection>> polls;
  for (int i = 0; i < 3; ++i) {  // one more than the long-poll threads
    polls.push_back(std::make_unique<Connection>(s.port));
    REQUIRE(polls.back()->send(request_text("GET", target, "", s.admin)));
  }
  std::this_thread::sleep_for(200ms);
  // Other requests are answered at once while the long-polls wait.
  auto quick_start = Clock::now();
  auto info = s.get("/v1");
  REQUIRE(info);
  CHECK(info->status == 200);
  CHECK(Clock::now() - quick_start < 500ms);

  int answered_early = 0;
  for (auto& p : polls) {
    auto r = p->read(5s);
    REQUIRE(r);
    CHECK(r->status == 200);
    if (Clock::now() - start < 1000ms) ++answered_early;  // the one beyond the threads
  }
  auto took = Clock::now() - start;
  CHECK(took >= 1400ms);  // capped at max_longpoll_ms, not 600 s
  CHECK(took < 4s);
  CHECK(answered_early <= 1);
}

TEST_CASE("server: read timeout drops a client sending one byte at a time") {
  server::ServerOptions options;
  options.read_timeout = 1000ms;
  Running s(options);
  Connection c(s.port);
  REQUIRE(c.ok());
  std::string text = request_text("GET", "/v1", "", s.admin);
  auto start = Clock::now();
  bool dropped = false;
  for (size_t i = 0; i < text.size() && Clock::now() - start < 5s; ++i) {
    if (!c.send(text.substr(i, 1))) {
      dropped = true;
      break;
    }
    if (c.closed_within(250ms)) {
      dropped = true;
      break;
    }
  }
  auto took = Clock::now() - start;
  CHECK(dropped);
  CHECK(took >= 900ms);
  CHECK(took < 3s);
  CHECK(s.get("/v1")->status == 200);
}

TEST_CASE("server: idle keep-alive connections are closed") {
  server::ServerOptions options;
  options.idle_timeout = 500ms;
  Running s(options);
  Connection c(s.port);
  REQUIRE(c.roundtrip(request_text("GET", "/v1/health"))->status == 200);
  auto start = Clock::now();
  CHECK(c.closed_within(3s));
  CHECK(Clock::now() - start >= 400ms);
}

TEST_CASE("server: connection cap") {
  server::ServerOptions options;
  options.max_connections = 2;
  Running s(options);
  auto a = std::make_unique<Connection>(s.port);
  auto b = std::make_unique<Connection>(s.port);
  REQUIRE(a->roundtrip(request_text("GET", "/v1/health"))->status == 200);
  REQUIRE(b->roundtrip(request_text("GET", "/v1/health"))->status == 200);
  Connection excess(s.port);
  CHECK(excess.closed_within(2s));
  CHECK_FALSE(excess.roundtrip(request_text("GET", "/v1/health"), 1s).has_value());
  a.reset();  // frees a slot
  std::optional<http::Response> later;
  for (int i = 0; i < 50 && !later; ++i) {
    std::this_thread::sleep_for(20ms);
    later = http::fetch(s.port, "GET", "/v1/health");
  }
  REQUIRE(later);
  CHECK(later->status == 200);
  // The server may not have counted the last connection closed yet, which
  // would refuse this one: retry the same way.
  std::optional<http::Response> metrics;
  for (int i = 0; i < 50 && !metrics; ++i) {
    metrics = http::fetch(s.port, "GET", "/metrics", "", s.admin);
    if (!metrics) std::this_thread::sleep_for(20ms);
  }
  REQUIRE(metrics);
  CHECK(metrics->body.find("outpost_http_connections_refused_total 0") == std::string::npos);
}

TEST_CASE("server: graceful stop finishes in-flight requests and cuts long-polls short") {
  server::RouterOptions routing;
  routing.max_longpoll_ms = 60000;
  Running s({}, routing);
  Connection poll(s.port);
  REQUIRE(poll.send(request_text(
      "GET", "/v1/changes?feed=longpoll&timeout_ms=60000&since=" + s.db->engine().update_seq(), "",
      s.admin)));
  Connection idle(s.port);
  REQUIRE(idle.roundtrip(request_text("GET", "/v1/health"))->status == 200);
  std::this_thread::sleep_for(200ms);
  auto start = Clock::now();
  auto stopping = std::async(std::launch::async, [&] { s.srv->stop(10s); });
  auto r = poll.read(5s);
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->header("connection") == "close");
  CHECK(idle.closed_within(3s));
  stopping.get();
  CHECK(Clock::now() - start < 3s);
  Connection after(s.port);
  CHECK_FALSE(after.roundtrip(request_text("GET", "/v1/health"), 1s).has_value());
}

TEST_CASE("server: TLS 1.2+ with a generated certificate") {
  http::TempDir dir;
  http::TestCertificate cert = http::make_certificate(dir);
  REQUIRE_MESSAGE(!cert.cert.empty(), "openssl req failed");
  server::ServerOptions options;
  options.tls_cert = cert.cert;
  options.tls_key = cert.key;
  Running s(options);
  CHECK(s.srv->tls());
  Connection c(s.port, cert.cert);
  REQUIRE(c.ok());
  auto r = c.roundtrip(request_text("GET", "/v1", "", s.admin));
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(info_from_json(r->body).db_id == s.db->engine().db_id());
  auto r2 = c.roundtrip(request_text("GET", "/v1/health"));  // keep-alive over TLS
  REQUIRE(r2);
  CHECK(r2->status == 200);

  Connection old(s.port, cert.cert, TLS1_1_VERSION);
  CHECK_FALSE(old.ok());  // TLS 1.1 is refused
  Connection plain(s.port);
  CHECK_FALSE(plain.roundtrip(request_text("GET", "/v1/health"), 2s).has_value());
  CHECK(http::fetch(s.port, "GET", "/v1/health") == std::nullopt);
}

// ------------------------------------------------------------ processes --

// http::create_token, which must succeed.
std::string require_token(const http::TempDir& dir, const std::string& db_option,
                          const std::vector<std::string>& args) {
  std::string secret = http::create_token(dir, db_option, args);
  REQUIRE(!secret.empty());
  return secret;
}

TEST_CASE("outpost serve: admin token once, listening line, auth, SIGTERM exits 0") {
  http::TempDir dir;
  std::string db = "--db=sqlite:" + (dir.path() / "hub.db").string();
  int port = 0;
  std::string admin;
  {
    http::Process p(dir, {"serve", db, "--listen", "127.0.0.1:0"}, "serve1");
    auto served = http::wait_served(p, true);
    REQUIRE_MESSAGE(served, p.err());
    port = served->port;
    admin = served->admin_token;
    CHECK(admin.size() >= 22);
    std::string out = p.out();
    CHECK(out.find("admin token: ") < out.find("listening on http://127.0.0.1:"));
    CHECK(http::fetch(port, "GET", "/v1")->status == 401);
    CHECK(http::fetch(port, "GET", "/v1", "", admin)->status == 200);
    CHECK(http::fetch(port, "PUT", "/v1/tables/items", kItemsDef, admin)->status == 200);
    p.signal(SIGTERM);
    CHECK(p.wait() == 0);
    std::string err = p.err();
    CHECK(err.find("route=/v1/tables/{t}") != std::string::npos);  // request log lines
    CHECK(err.find(admin) == std::string::npos);                   // never the token
  }
  // Tokens on the local database.
  const std::string secret = require_token(dir, db, {"field", "--read", "items"});
  auto [lstatus, listing] = http::run_outpost(dir, {"tokens", db, "list"});
  CHECK(lstatus == 0);
  CHECK(listing.find("field") != std::string::npos);
  CHECK(listing.find(secret) == std::string::npos);
  CHECK(listing.find(admin) == std::string::npos);
  auto [jstatus, json] =
      http::run_outpost(dir, {"tokens", db, "--json", "create", "ci", "--admin"});
  CHECK(jstatus == 0);
  CHECK(json.find("{\"name\":\"ci\",\"admin\":true") == 0);
  CHECK(json.find("\"secret\":\"") != std::string::npos);

  {
    // Second serve: no new admin token; SIGINT exits 0.
    http::Process p(dir, {"serve", db, "--listen", "127.0.0.1:0"}, "serve2");
    auto served = http::wait_served(p, false);
    REQUIRE_MESSAGE(served, p.err());
    CHECK(p.out().find("admin token") == std::string::npos);
    CHECK(http::fetch(served->port, "GET", "/v1/tables", "", secret)->status == 200);
    CHECK(http::fetch(served->port, "PUT", "/v1/tables/x", kItemsDef, secret)->status == 403);
    CHECK(http::run_outpost(dir, {"tokens", db, "revoke", "field"}).first == 0);
    CHECK(http::fetch(served->port, "GET", "/v1/tables", "", secret)->status == 401);
    CHECK(http::run_outpost(dir, {"tokens", db, "revoke", "nobody"}).first == 1);
    p.signal(SIGINT);
    CHECK(p.wait() == 0);
  }
  {
    // TLS: the listening line says https.
    http::TestCertificate cert = http::make_certificate(dir);
    REQUIRE(!cert.cert.empty());
    http::Process p(
        dir,
        {"serve", db, "--listen", "127.0.0.1:0", "--tls-cert", cert.cert, "--tls-key", cert.key},
        "serve-tls");
    auto line = p.wait_for_line("listening on ", std::chrono::seconds(30));
    REQUIRE_MESSAGE(line, p.err());
    CHECK(line->starts_with("https://127.0.0.1:"));
    int tls_port = std::stoi(line->substr(line->rfind(':') + 1));
    Connection c(tls_port, cert.cert);
    REQUIRE(c.ok());
    auto r = c.roundtrip(request_text("GET", "/v1", "", admin));
    REQUIRE(r);
    CHECK(r->status == 200);
    p.signal(SIGTERM);
    CHECK(p.wait() == 0);
  }
  {
    // --no-auth only when asked for.
    http::Process p(dir, {"serve", db, "--no-auth", "--listen", "127.0.0.1:0"}, "serve3");
    auto served = http::wait_served(p, false);
    REQUIRE(served);
    CHECK(http::fetch(served->port, "GET", "/v1")->status == 200);
    p.signal(SIGTERM);
    CHECK(p.wait() == 0);
  }
}

// Sends SIGTERM to a serve process and waits (at most 20 s) until it logs
// that it is stopping; false if it never does.
bool stop_begun(http::Process& p) {
  p.signal(SIGTERM);
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (p.err().find("server: stopping") == std::string::npos) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

TEST_CASE("outpost serve: a write in flight when SIGTERM comes is finished whole") {
  http::TempDir dir;
  const std::string url = "sqlite:" + (dir.path() / "hub.db").string();
  {
    auto engine = open_engine(url, {});
    create_table(*engine, items_table());
  }
  http::Process p(dir, {"serve", "--db=" + url, "--no-auth", "--listen", "127.0.0.1:0"}, "serve");
  auto served = http::wait_served(p, false);
  REQUIRE_MESSAGE(served, p.err());
  std::vector<Edit> edits;
  for (int i = 0; i < 10000; ++i) {
    edits.push_back({Edit::Kind::put, "items", "r" + std::to_string(i), {}, item("x", i)});
  }
  // Half the request, then the stop, then the rest: the stop begins while
  // the request is being read (a pause lets the server start reading it;
  // were it still unread, the connection would count as idle).
  const std::string raw = request_text("POST", "/v1/bulk_docs", bulk_docs_request_to_json(edits));
  Connection c(served->port);
  REQUIRE(c.send(raw.substr(0, raw.size() / 2)));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  REQUIRE_MESSAGE(stop_begun(p), p.err());
  REQUIRE(c.send(raw.substr(raw.size() / 2)));
  std::optional<http::Response> r = c.read(std::chrono::seconds(60));
  REQUIRE(r);
  CHECK(r->status == 200);
  std::vector<WriteResult> results = write_results_from_json(r->body);
  CHECK(results.size() == 10000);
  CHECK(std::all_of(results.begin(), results.end(), [](const WriteResult& w) { return w.ok(); }));
  CHECK(p.wait() == 0);
  auto engine = open_engine(url, {});
  CHECK(all_records(*engine, "items").size() == 10000);
}

TEST_CASE("outpost serve: a second signal while it stops does not kill it") {
  // The stop waits for a request still being read (until the read
  // timeout); a second SIGTERM meanwhile must not end the process by the
  // signal's default action in some thread that does not block it (such as
  // the SQLite checkpointer, started before the server).
  http::TempDir dir;
  std::string db = "--db=sqlite:" + (dir.path() / "hub.db").string();
  http::Process p(
      dir, {"serve", db, "--no-auth", "--listen", "127.0.0.1:0", "--read-timeout-ms", "3000"},
      "serve");
  auto served = http::wait_served(p, false);
  REQUIRE_MESSAGE(served, p.err());
  Connection slow(served->port);
  REQUIRE(slow.send("GET /v1 HTTP/1.1\r\nHost: x\r\n"));  // half a request
  // Let the server read it, so that the stop waits for it (were it still
  // unread, the connection would count as idle and close at once).
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  REQUIRE_MESSAGE(stop_begun(p), p.err());
  p.signal(SIGTERM);
  CHECK(p.wait() == 0);
  CHECK(slow.closed_within(std::chrono::seconds(10)));
}

TEST_CASE("outpost serve: bad input over the wire gets its code, changes nothing, serves on") {
  // The router test's cases, sent as raw bytes to a real server process
  // with auth on; the database file is compared byte for byte (its dump,
  // read through an engine of its own) after each.
  http::TempDir dir;
  const std::string url = "sqlite:" + (dir.path() / "hub.db").string();
  Revision a1;
  {
    auto engine = open_engine(url, {});
    create_table(*engine, items_table());
    a1 = create(*engine, "items", "a", item("keep me", 1));
    Revision base = create(*engine, "items", "k", item("base"));
    update(*engine, "items", "k", base, item("mine"));
    auto side = offline_chain("items", "k", base, 1, "side");
    REQUIRE(write_one_replicated(*engine, remote_of("items", "k", side, 0, {base})).ok());
  }
  http::Process p(dir, {"serve", "--db=" + url, "--listen", "127.0.0.1:0", "--max-body", "65536"},
                  "serve");
  auto served = http::wait_served(p, true);
  REQUIRE_MESSAGE(served, p.err());
  auto reader = open_engine(url, {});
  const std::string before = dump(*reader);

  auto send = [&](const std::string& method, const std::string& target, const std::string& body,
                  const std::string& content_type) {
    std::string raw = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
                      "Authorization: Bearer " + served->admin_token + "\r\n";
    if (!content_type.empty()) raw += "Content-Type: " + content_type + "\r\n";
    raw += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    Connection c(served->port);
    return c.roundtrip(raw);
  };
  for (const BadInputCase& c : bad_input_cases(a1)) {
    CAPTURE(c.name);
    std::optional<http::Response> r = send(c.method, c.target, c.body, c.content_type);
    REQUIRE(r);
    check_bad_input_answer(c, r->status, r->body);
    CHECK(dump(*reader) == before);
    CHECK(http::fetch(served->port, "GET", "/v1/health")->status == 200);
  }
  // A wrong method: 405, with the methods the route has.
  std::optional<http::Response> r = send("DELETE", "/v1/tables/items", "", "");
  REQUIRE(r);
  CHECK(r->status == 405);
  CHECK(r->header("allow") == "GET, PUT");
  CHECK(dump(*reader) == before);
  CHECK(reader->list_local().empty());  // the refused local documents were not stored
  p.signal(SIGTERM);
  CHECK(p.wait() == 0);
}

TEST_CASE(
    "outpost serve: a token that reads a and writes nothing sees nothing of b, over the wire") {
  http::TempDir dir;
  const std::string url = "sqlite:" + (dir.path() / "hub.db").string();
  Revision rb;
  {
    auto engine = open_engine(url, {});
    create_table(*engine, Table{"a", items_table().columns});
    create_table(*engine, Table{"b", items_table().columns});
    create(*engine, "a", "ra", item("visible"));
    rb = create(*engine, "b", "rb", item("secret"));
  }
  http::Process p(dir, {"serve", "--db=" + url, "--listen", "127.0.0.1:0"}, "serve");
  auto served = http::wait_served(p, true);
  REQUIRE_MESSAGE(served, p.err());
  const std::string reader = require_token(dir, "--db=" + url, {"reader", "--read", "a"});
  auto local = open_engine(url, {});
  const std::string before = dump(*local);
  auto as = [&](const std::string& method, const std::string& target,
                const std::string& body = "") {
    std::optional<http::Response> r = http::fetch(served->port, method, target, body, reader);
    REQUIRE(r);
    CHECK(r->body.find("secret") == std::string::npos);  // b's content, never
    return *r;
  };
  CHECK(as("GET", "/v1/tables").body.find("\"b\"") == std::string::npos);
  CHECK(as("GET", "/v1/tables/b").code() == "forbidden");
  CHECK(as("GET", "/v1/tables/b/records").code() == "forbidden");
  CHECK(as("GET", "/v1/tables/b/records/rb").code() == "forbidden");
  http::Response feed = as("GET", "/v1/changes");
  CHECK(feed.status == 200);
  CHECK(feed.body.find("\"ra\"") != std::string::npos);
  CHECK(feed.body.find("\"rb\"") == std::string::npos);
  CHECK(feed.body.find("\"b\"") == std::string::npos);
  CHECK(as("GET", "/v1/changes?tables=b").code() == "forbidden");
  http::Response diff = as("POST", "/v1/revs_diff", revs_diff_request_to_json({{"b", "rb", {rb}}}));
  CHECK(diff.status == 200);
  CHECK(revs_diff_response_from_json(diff.body).at(0).leaves.empty());  // b tells nothing
  http::Response got = as("POST", "/v1/bulk_get", bulk_get_request_to_json({{"b", "rb", rb, {}}}));
  CHECK(got.status == 200);
  CHECK(bulk_get_response_from_json(got.body).at(0).error->code() == ErrorCode::forbidden);
  std::vector<Edit> edits{{Edit::Kind::put, "a", "new-a", {}, item("x")},
                          {Edit::Kind::put, "b", "new-b", {}, item("x")}};
  http::Response wrote = as("POST", "/v1/bulk_docs", bulk_docs_request_to_json(edits));
  CHECK(wrote.status == 200);
  for (const WriteResult& w : write_results_from_json(wrote.body)) {
    REQUIRE(w.error.has_value());
    CHECK(w.error->code() == ErrorCode::forbidden);
  }
  CHECK(as("PUT", "/v1/tables/a/records/ra", R"({"attributes":{"name":{"string":"x"}}})").code() ==
        "forbidden");
  CHECK(dump(*local) == before);
  p.signal(SIGTERM);
  CHECK(p.wait() == 0);
}

TEST_CASE("outpost peers: the hub lists who synced with it, by token") {
  http::TempDir dir;
  std::string hub = "--db=sqlite:" + (dir.path() / "hub.db").string();
  std::string device = "--db=sqlite:" + (dir.path() / "device.db").string();
  http::Process p(dir, {"serve", hub, "--listen", "127.0.0.1:0"}, "serve");
  auto served = http::wait_served(p, true);
  REQUIRE_MESSAGE(served, p.err());
  const std::string& admin = served->admin_token;
  REQUIRE(http::fetch(served->port, "PUT", "/v1/tables/items", kItemsDef, admin)->status == 200);
  REQUIRE(http::fetch(served->port, "PUT", "/v1/tables/items/records/a",
                      R"({"attributes":{"name":{"string":"x"}}})", admin)
              ->status == 200);
  const std::string secret =
      require_token(dir, hub, {"tablet-1", "--read", "items", "--write", "items"});
  const std::string remote = "http://127.0.0.1:" + std::to_string(served->port);
  auto [synced, summary] =
      http::run_outpost(dir, {"sync", device, "--remote", remote, "--token", secret, "--pull"});
  REQUIRE(synced == 0);
  // Over HTTP the summary also counts the round trips and the bytes moved.
  CHECK(
      summary.starts_with("pull: 1 changes read, 1 revisions written, 0 already present, "
                          "0 errors, "));
  CHECK(summary.find(" round trips, ") != std::string::npos);
  CHECK(summary.find(" bytes on the wire (") != std::string::npos);
  CHECK(summary.find(" uncompressed), ") != std::string::npos);

  auto [listed, text] = http::run_outpost(dir, {"peers", hub});
  CHECK(listed == 0);
  CHECK(text.find("tablet-1") != std::string::npos);
  CHECK(text.find("out of here") != std::string::npos);  // the device pulled
  auto [jlisted, json] = http::run_outpost(dir, {"peers", hub, "--json"});
  CHECK(jlisted == 0);
  CHECK(json.find(R"({"peers":[{"token":"tablet-1","replication_id":")") == 0);
  // Over HTTP: admins only; the device's checkpoint is its token's alone.
  CHECK(http::fetch(served->port, "GET", "/v1/peers", "", secret)->status == 403);
  auto peers = http::fetch(served->port, "GET", "/v1/peers", "", admin);
  REQUIRE(peers);
  CHECK(peers->status == 200);
  CHECK(peers->body.find(R"("token":"tablet-1")") != std::string::npos);
  p.signal(SIGTERM);
  CHECK(p.wait() == 0);
}

TEST_CASE("outpost serve: two servers on one PostgreSQL database share the feed") {
  if (!postgres_configured()) {
    if (running_in_ci()) FAIL("CI=true but OUTPOST_TEST_PG is not set");
    MESSAGE("PostgreSQL suites SKIPPED: set OUTPOST_TEST_PG");
    return;
  }
  const TestBackend* pg = nullptr;
  for (const TestBackend& b : test_backends()) {
    if (b.name == "postgres") pg = &b;
  }
  REQUIRE(pg);
  auto database = pg->create();
  std::string token = database->engine().tokens()->create_token(admin_token("hub"));
  http::TempDir dir;
  std::string db = "--db=" + database->url();
  http::Process one(dir, {"serve", db, "--listen", "127.0.0.1:0"}, "one");
  http::Process two(dir, {"serve", db, "--listen", "127.0.0.1:0"}, "two");
  auto s1 = http::wait_served(one, false);
  auto s2 = http::wait_served(two, false);
  REQUIRE_MESSAGE(s1, one.err());
  REQUIRE_MESSAGE(s2, two.err());
  REQUIRE(http::fetch(s2->port, "PUT", "/v1/tables/items", kItemsDef, token)->status == 200);
  auto info = http::fetch(s1->port, "GET", "/v1", "", token);
  REQUIRE(info);
  std::string since = info_from_json(info->body).update_seq;

  Connection poll(s1->port);
  REQUIRE(poll.send(
      request_text("GET", "/v1/changes?feed=longpoll&timeout_ms=20000&since=" + since, "", token)));
  std::this_thread::sleep_for(300ms);
  auto start = Clock::now();
  auto wrote = http::fetch(s2->port, "PUT", "/v1/tables/items/records/via-two",
                           R"({"attributes":{"name":{"string":"x"}}})", token);
  REQUIRE(wrote);
  REQUIRE(wrote->status == 200);
  auto r = poll.read(15s);
  REQUIRE(r);
  CHECK(r->status == 200);
  ChangesPage page = changes_from_json(r->body);
  REQUIRE(page.results.size() == 1);
  CHECK(page.results[0].id == "via-two");
  CHECK(Clock::now() - start < 5s);
  one.signal(SIGTERM);
  two.signal(SIGTERM);
  CHECK(one.wait() == 0);
  CHECK(two.wait() == 0);
}

}  // namespace
}  // namespace outpost::test
