// End to end: two devices (SQLite) and a hub (`outpost serve` in its own
// process, PostgreSQL when OUTPOST_TEST_PG is set) sync through the real
// server and client over 127.0.0.1, with auth on, once in plain HTTP and
// once over TLS with a certificate the test generates (verified through
// the CA-file option, not --insecure). They edit the same records offline,
// sync, resolve on one device and sync again: all three end identical.
#include <doctest/doctest.h>

#include "api/engine.h"
#include "api/json.h"
#include "client/http_engine.h"
#include "e2e/e2e_common.h"
#include "e2e/processes.h"
#include "engine/backends.h"
#include "engine/open.h"
#include "reconciler/replicator.h"

namespace {

using namespace outpost;
using namespace outpost::test;

Table households() {
  return Table{"households",
               {{"head_name", ValueType::string, true}, {"size", ValueType::int_, false}}};
}

Attributes household(const std::string& name, int64_t size) {
  Attributes a;
  a.emplace("head_name", Value::from_string(name));
  a.emplace("size", Value::from_int(size));
  return a;
}

void sync_ok(Engine& device, HttpEngine& hub) {
  ReplicationOptions options;
  SyncReport report = sync(device, hub, options);
  INFO("a_to_b: " << replication_report_to_json(report.a_to_b));
  INFO("b_to_a: " << replication_report_to_json(report.b_to_a));
  REQUIRE(report.ok());
  REQUIRE(report.combined().traffic.has_value());
  CHECK(report.combined().traffic->wire_bytes > 0);
}

Revision winner(Engine& engine, const std::string& id) {
  return must_get(engine, "households", id).revision;
}

void three_way(bool tls) {
  ScratchDir dir;
  HubDatabase hub_db = make_hub_database(dir.path());
  ServeOptions serve;
  serve.db_url = hub_db.url;
  HttpClientOptions client;
  if (tls) {
    make_self_signed_certificate(dir.path());
    serve.tls_cert = (dir.path() / "cert.pem").string();
    serve.tls_key = (dir.path() / "key.pem").string();
    client.ca_file = serve.tls_cert;
  }
  ServeProcess hub(dir.path(), serve);
  CHECK(hub.url().rfind(tls ? "https://127.0.0.1:" : "http://127.0.0.1:", 0) == 0);
  REQUIRE_FALSE(hub.admin_token().empty());

  // Device A holds the admin token (it defines the table on the hub);
  // device B a token that may only read and write `households`.
  CommandRun created =
      run_outpost(dir.path(), {"tokens", "create", "device-b", "--read", "households", "--write",
                               "households", "--json", "--db", hub_db.url});
  INFO(created.err);
  REQUIRE(created.status == 0);
  CHECK(json_field(created.out, "name") == "device-b");
  const std::string token_b = json_field(created.out, "secret");
  REQUIRE_FALSE(token_b.empty());

  HttpClientOptions options_a = client;
  options_a.token = hub.admin_token();
  HttpClientOptions options_b = client;
  options_b.token = token_b;
  std::unique_ptr<HttpEngine> hub_a = open_http_engine(hub.url(), options_a);
  std::unique_ptr<HttpEngine> hub_b = open_http_engine(hub.url(), options_b);
  std::unique_ptr<Engine> a = open_engine("sqlite:" + (dir.path() / "a.db").string());
  std::unique_ptr<Engine> b = open_engine("sqlite:" + (dir.path() / "b.db").string());

  if (tls) {
    // Without the CA file the self-signed certificate is refused at once.
    HttpClientOptions unverified;
    unverified.token = hub.admin_token();
    auto refused = open_http_engine(hub.url(), unverified);
    CHECK(error_of([&] { refused->db_id(); }) == ErrorCode::internal);
    CHECK(refused->requests_sent() == 1);
    // --insecure skips verification when asked for.
    unverified.insecure = true;
    CHECK(open_http_engine(hub.url(), unverified)->db_id() == hub_a->db_id());
  }

  a->put_table(households());
  Revision h1 = create(*a, "households", "h-001", household("Amina Okello", 6));
  Revision h2 = create(*a, "households", "h-002", household("Bo Li", 2));
  create(*a, "households", "h/003 ünï", household("Chidi", 3));
  sync_ok(*a, *hub_a);
  sync_ok(*b, *hub_b);
  CHECK(replicated_state(*b) == replicated_state(*a));

  // Offline: both edit h-001; B deletes h-002 which A edits; both create h-004.
  update(*a, "households", "h-001", h1, household("Amina Okello", 7));
  update(*b, "households", "h-001", h1, household("Amina Okelo", 6));
  update(*a, "households", "h-002", h2, household("Bo Li", 3));
  remove(*b, "households", "h-002", h2);
  create(*a, "households", "h-004", household("Dana", 1));
  create(*b, "households", "h-004", household("Dana K", 1));

  sync_ok(*a, *hub_a);
  sync_ok(*b, *hub_b);
  sync_ok(*a, *hub_a);
  const std::string converged = replicated_state(*a);
  CHECK(replicated_state(*b) == converged);
  CHECK(replicated_state(*hub_a) == converged);
  CHECK(conflicts_of(*a, "households", "h-001").size() == 1);
  CHECK(conflicts_of(*hub_a, "households", "h-004").size() == 1);
  CHECK(conflicts_of(*b, "households", "h-002").empty());  // the edit beats the deletion
  CHECK_FALSE(must_get(*b, "households", "h-002").deleted);

  // B resolves both conflicts; everyone syncs again.
  resolve_record(*b, "households", "h-001", winner(*b, "h-001"), household("Amina Okello", 7));
  resolve_record(*b, "households", "h-004", winner(*b, "h-004"), household("Dana Kim", 1));
  sync_ok(*b, *hub_b);
  sync_ok(*a, *hub_a);
  const std::string resolved = replicated_state(*a);
  CHECK(replicated_state(*b) == resolved);
  CHECK(replicated_state(*hub_a) == resolved);
  CHECK(replicated_state(*hub_b) == resolved);
  CHECK(conflicts_of(*a, "households", "h-001").empty());
  CHECK(conflicts_of(*a, "households", "h-004").empty());
  CHECK(must_get(*a, "households", "h-004").attributes.at("head_name").text() == "Dana Kim");
  CHECK(must_get(*hub_a, "households", "h/003 ünï").attributes.at("size").as_int() == 3);

  // The hub's database read directly agrees with what the server shows.
  std::unique_ptr<Engine> direct = open_engine(hub_db.url);
  CHECK(replicated_state(*direct) == resolved);
  CHECK(direct->check().empty());
  CHECK(a->check().empty());
  CHECK(b->check().empty());

  // B's token cannot define tables, and 4xx is not retried.
  const uint64_t before = hub_b->requests_sent();
  CHECK(error_of([&] {
          hub_b->put_table(Table{"other", {{"x", ValueType::int_, false}}});
        }) == ErrorCode::forbidden);
  CHECK(hub_b->requests_sent() == before + 1);
  CHECK(hub.stop() == 0);
}

}  // namespace

TEST_CASE("e2e: two devices and a hub converge through the server, with auth") { three_way(false); }

TEST_CASE("e2e: two devices and a hub converge over TLS with a generated certificate") {
  three_way(true);
}
