// run_sync_session, what `outpost sync` and outpost_sync() run: two SQLite
// databases converge both ways or one; the checks before any run; a stop
// requested before it starts; a scoped token's adoption through a real
// server on loopback; the notices of a continuous session waiting for an
// unreachable remote.
#include "reconciler/sync_session.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <stop_token>
#include <string>
#include <vector>

#include "api/error.h"
#include "api/scope.h"
#include "client/http_engine.h"
#include "reconciler/peers.h"
#include "reconciler/served.h"

namespace outpost::test {
namespace {

Table notes_table() { return Table{"notes", {col("title", ValueType::string)}}; }

Table households_table() {
  return Table{"households", {col("district", ValueType::string), col("name", ValueType::string)}};
}

Attributes hh(std::string_view district, std::string_view name) {
  return Attributes{{"district", str(district)}, {"name", str(name)}};
}

std::vector<std::string> ids_of(Engine& engine, const std::string& table) {
  std::vector<std::string> ids;
  for (const Record& r : all_records(engine, table)) ids.push_back(r.id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

SyncSessionOptions session_options() {
  SyncSessionOptions options;
  options.replication = test_options();
  return options;
}

// Two fresh SQLite peers, each with the notes table and one note of its own.
std::vector<Peer> two_with_notes() {
  std::vector<Peer> peers = make_peers(2, false);
  for (size_t i = 0; i < peers.size(); ++i) {
    create_table(*peers[i], notes_table());
    create(*peers[i], "notes", "n" + std::to_string(i),
           Attributes{{"title", str("from p" + std::to_string(i))}});
  }
  return peers;
}

}  // namespace

TEST_CASE("sync session: two SQLite databases converge both ways") {
  std::vector<Peer> peers = two_with_notes();
  SyncSessionReport report = run_sync_session(*peers[0], *peers[1], session_options());
  require_ok(report.total);
  CHECK(report.total.revisions_written == 2);
  CHECK_FALSE(report.total.cancelled);
  CHECK_FALSE(report.adopted.has_value());
  CHECK_FALSE(report.traffic.has_value());  // neither is remote
  CHECK(ids_of(*peers[0], "notes") == std::vector<std::string>{"n0", "n1"});
  require_converged(peers);
  // The `sync --json` object: both directions, and no adopted scope.
  CHECK(report.json.starts_with("{\"a_to_b\":"));
  CHECK(report.json.ends_with(",\"adopted_scope\":null}"));

  // Nothing left: a second session copies nothing.
  SyncSessionReport again = run_sync_session(*peers[0], *peers[1], session_options());
  require_ok(again.total);
  CHECK(again.total.revisions_written == 0);
}

TEST_CASE("sync session: pull copies only from the remote, push only to it") {
  std::vector<Peer> peers = two_with_notes();
  SyncSessionOptions options = session_options();
  options.direction = SyncDirection::pull;
  SyncSessionReport pulled = run_sync_session(*peers[0], *peers[1], options);
  require_ok(pulled.total);
  CHECK(pulled.total.revisions_written == 1);
  CHECK(pulled.total.source_db_id == (*peers[1]).db_id());
  CHECK(ids_of(*peers[0], "notes") == std::vector<std::string>{"n0", "n1"});
  CHECK(ids_of(*peers[1], "notes") == std::vector<std::string>{"n1"});
  // One direction's report, with the adoption field added.
  CHECK(pulled.json.starts_with("{\"replication_id\":"));
  CHECK(pulled.json.ends_with(",\"adopted_scope\":null}"));

  options.direction = SyncDirection::push;
  SyncSessionReport pushed = run_sync_session(*peers[0], *peers[1], options);
  require_ok(pushed.total);
  CHECK(pushed.total.target_db_id == (*peers[1]).db_id());
  CHECK(ids_of(*peers[1], "notes") == std::vector<std::string>{"n0", "n1"});
  require_converged(peers);
}

TEST_CASE("sync session: what stops it before any run throws") {
  std::vector<Peer> peers = two_with_notes();

  SUBCASE("the same database on both sides") {
    std::unique_ptr<Engine> same = peers[0].db->open_another();
    SyncSessionOptions options = session_options();
    options.local_name = "--db here";
    options.remote_name = "--remote there";
    try {
      run_sync_session(*peers[0], *same, options);
      FAIL("no error");
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::invalid_value);
      CHECK(e.message().starts_with("--db here and --remote there are the same database (db_id "));
    }
  }
  SUBCASE("a --tables table neither side has") {
    SyncSessionOptions options = session_options();
    options.replication.tables = {"notes", "nowhere"};
    try {
      run_sync_session(*peers[0], *peers[1], options);
      FAIL("no error");
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::unknown_table);
      CHECK(e.message() == "--tables: neither database has a table 'nowhere'");
    }
  }
  SUBCASE("a scope that parses against neither side") {
    SyncSessionOptions options = session_options();
    options.scope_text = "notes: nosuchcolumn = 'x'";
    CHECK_THROWS_AS(run_sync_session(*peers[0], *peers[1], options), Error);
    try {
      run_sync_session(*peers[0], *peers[1], options);
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::invalid_scope);
    }
  }
  // Nothing was copied by any of them.
  CHECK(ids_of(*peers[0], "notes") == std::vector<std::string>{"n0"});
  CHECK(ids_of(*peers[1], "notes") == std::vector<std::string>{"n1"});
}

TEST_CASE("sync session: --scope narrows the copy, and prepare_sync_session parses it alike") {
  std::vector<Peer> peers = make_peers(2, false);
  create_table(*peers[0], households_table());
  create_table(*peers[1], households_table());
  create(*peers[1], "households", "a", hh("d1", "a"));
  create(*peers[1], "households", "b", hh("d2", "b"));
  SyncSessionOptions options = session_options();
  options.direction = SyncDirection::pull;
  options.scope_text = "households: district = 'd1'";

  SyncSessionStart start = prepare_sync_session(*peers[0], *peers[1], options);
  REQUIRE(start.scope != nullptr);
  CHECK(start.remote.db_id == (*peers[1]).db_id());
  std::shared_ptr<const Scope> parsed =
      parse_sync_scope(*peers[0], *peers[1], *options.scope_text, options);
  CHECK(scope_fingerprint(*parsed) == scope_fingerprint(*start.scope));

  SyncSessionReport report = run_sync_session(*peers[0], *peers[1], options);
  require_ok(report.total);
  CHECK(ids_of(*peers[0], "households") == std::vector<std::string>{"a"});
}

TEST_CASE("sync session: a stop requested before it starts cancels the run") {
  std::vector<Peer> peers = two_with_notes();
  std::stop_source stop;
  stop.request_stop();
  SyncSessionOptions options = session_options();
  options.replication.stop = stop.get_token();
  SyncSessionReport report = run_sync_session(*peers[0], *peers[1], options);
  CHECK(report.total.cancelled);
  CHECK_FALSE(report.total.fatal.has_value());
  CHECK(report.total.revisions_written == 0);
  CHECK(ids_of(*peers[0], "notes") == std::vector<std::string>{"n0"});
}

TEST_CASE("sync session: a device adopts its token's scope, once, and reports it") {
  std::vector<Peer> peers = make_peers(2, false);
  Engine& hub_db = *peers[0];
  Engine& device = *peers[1];
  create_table(hub_db, households_table());
  create(hub_db, "households", "a", hh("d1", "a"));
  create(hub_db, "households", "b", hh("d2", "b"));
  AuthHub hub(hub_db);
  std::unique_ptr<HttpEngine> worker = hub.client(hub.add_token("worker", "d1"));

  std::vector<std::string> adopted;
  SyncSessionOptions options = session_options();
  options.on_adopt = [&](const ScopeAdoption& a) { adopted.push_back(scope_text(a.scope)); };
  SyncSessionReport report = run_sync_session(device, *worker, options);
  require_ok(report.total);
  const std::string d1 =
      scope_text(parse_scope("households: district = 'd1'", {households_table()}));
  CHECK(adopted == std::vector<std::string>{d1});
  REQUIRE(report.adopted.has_value());
  CHECK(scope_text(report.adopted->scope) == d1);
  REQUIRE(device.scope().has_value());
  CHECK(scope_text(*device.scope()) == d1);
  CHECK(ids_of(device, "households") == std::vector<std::string>{"a"});
  CHECK(report.json.find("\"adopted_scope\":{\"scope\":") != std::string::npos);
  CHECK(report.json.find(scope_fingerprint(report.adopted->scope)) != std::string::npos);
  REQUIRE(report.traffic.has_value());  // the overview and the runs, over HTTP
  CHECK(report.traffic->requests > 0);

  // The device holds that scope now: nothing is adopted again.
  adopted.clear();
  SyncSessionReport again = run_sync_session(device, *worker, options);
  require_ok(again.total);
  CHECK(adopted.empty());
  CHECK_FALSE(again.adopted.has_value());
  CHECK(again.json.ends_with(",\"adopted_scope\":null}"));
}

TEST_CASE("sync session: an unreachable remote throws in one shot, is waited for continuously") {
  std::vector<Peer> peers = make_peers(1, false);
  HttpClientOptions client;
  client.max_attempts = 1;
  client.retry_base = std::chrono::milliseconds(1);
  client.retry_cap = std::chrono::milliseconds(1);
  // Nothing listens on port 1 of loopback.
  std::unique_ptr<HttpEngine> gone = open_http_engine("http://127.0.0.1:1", client);

  SyncSessionOptions options = session_options();
  try {
    run_sync_session(*peers[0], *gone, options);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::unavailable);
  }

  // Continuous: each failed attempt is a notice; a stop ends the wait and
  // the session throws (nothing ran).
  std::stop_source stop;
  std::vector<std::string> notices;
  options.replication.continuous = true;
  options.replication.stop = stop.get_token();
  options.on_notice = [&](const std::string& notice) {
    notices.push_back(notice);
    if (notices.size() == 2) stop.request_stop();
  };
  try {
    run_sync_session(*peers[0], *gone, options);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::unavailable);
  }
  REQUIRE(notices.size() == 2);
  for (const std::string& n : notices) CHECK(n.starts_with("waiting for the remote: "));
}

}  // namespace outpost::test
