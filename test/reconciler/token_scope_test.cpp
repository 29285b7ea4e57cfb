// Tokens with scopes, the device's side (DESIGN.md section 14): a device
// syncing with a hub through a scoped token adopts the token's scope; after
// a re-scope it pushes what the hub lacks, then rescans the new scope and
// purges what left it, and nothing it wrote is lost. The hub is a real
// Router and Server with auth on loopback; the device talks to it with an
// HttpEngine carrying the token.
#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "api/checkpoint.h"
#include "api/scope.h"
#include "client/http_engine.h"
#include "reconciler/peers.h"
#include "reconciler/replicator.h"
#include "reconciler/scoping.h"
#include "reconciler/served.h"
#include "utils/sha256.h"

namespace outpost::test {
namespace {

Table households_table() {
  return Table{"households", {col("district", ValueType::string), col("name", ValueType::string)}};
}

Attributes hh(std::string_view district, std::string_view name) {
  return Attributes{{"district", str(district)}, {"name", str(name)}};
}

std::string district_of(const Attributes& a) {
  auto it = a.find("district");
  return it == a.end() ? std::string() : it->second.text();
}

// The canonical text of district_scope(district).
std::string canonical(const std::string& district) {
  return scope_text(parse_scope(district_scope(district), {households_table()}));
}

std::vector<std::string> ids_of(Engine& engine) {
  std::vector<std::string> ids;
  for (const Record& r : all_records(engine, "households")) ids.push_back(r.id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

// Sync as `outpost sync` does it with a hub: adopt the token's scope, then
// push first, then pull.
SyncReport device_sync(Engine& device, Engine& hub) {
  adopt_token_scope(device, hub);
  return sync(device, hub, test_options());
}

}  // namespace

TEST_CASE("replication: token scope: the client reads its token's scope at every call") {
  auto peers = make_peers(1, false);
  Engine& hub_db = *peers[0];
  create_table(hub_db, households_table());
  AuthHub hub(hub_db);
  auto worker = hub.client(hub.add_token("worker", "d1"));
  auto plain = hub.client(hub.add_token("plain", ""));

  std::optional<Scope> seen = worker->token_scope();
  REQUIRE(seen.has_value());
  CHECK(scope_fingerprint(*seen) == sha256_hex(scope_text(*seen)));
  CHECK(scope_text(*seen) == canonical("d1"));
  // The hub's database holds every record: its own scope stays empty.
  CHECK_FALSE(worker->scope().has_value());
  CHECK_FALSE(plain->token_scope().has_value());

  // A re-scope on the hub is seen by the next call of the same client.
  hub.rescope("worker", "d2", 0);
  seen = worker->token_scope();
  REQUIRE(seen.has_value());
  CHECK(scope_text(*seen) == canonical("d2"));
}

TEST_CASE("replication: token scope: a device adopts it; an unscoped token never clears it") {
  auto peers = make_peers(2, false);
  Engine& hub_db = *peers[0];
  Engine& device = *peers[1];
  create_table(hub_db, households_table());
  AuthHub hub(hub_db);
  auto worker = hub.client(hub.add_token("worker", "d1"));
  auto plain = hub.client(hub.add_token("plain", ""));

  // A fresh device lacks the table the scope names: it is copied first.
  PurgeOutcome outcome;
  std::optional<Scope> adopted = adopt_token_scope(device, *worker, &outcome);
  REQUIRE(adopted.has_value());
  CHECK(scope_text(*adopted) == canonical("d1"));
  REQUIRE(device.scope().has_value());
  CHECK(scope_text(*device.scope()) == canonical("d1"));
  CHECK(device.get_table("households").has_value());
  CHECK(outcome.purged == 0);

  // The same scope again: nothing to do.
  CHECK_FALSE(adopt_token_scope(device, *worker).has_value());
  // An unscoped token leaves the device's scope alone.
  CHECK_FALSE(adopt_token_scope(device, *plain).has_value());
  REQUIRE(device.scope().has_value());
  CHECK(scope_text(*device.scope()) == canonical("d1"));
  // So does a local database (no token at all).
  CHECK_FALSE(adopt_token_scope(device, hub_db).has_value());
  CHECK(scope_text(*device.scope()) == canonical("d1"));
}

TEST_CASE("replication: token scope: after a re-scope the device pushes, rescans and purges") {
  auto peers = make_peers(2, false);
  Engine& hub_db = *peers[0];
  Engine& device = *peers[1];
  create_table(hub_db, households_table());
  AuthHub hub(hub_db);
  auto worker = hub.client(hub.add_token("worker", "d1"));
  const std::string hub_id = hub_db.db_id();

  Revision a1 = create(hub_db, "households", "a", hh("d1", "a"));
  create(hub_db, "households", "b", hh("d1", "b"));
  create(hub_db, "households", "c", hh("d2", "c"));
  create(hub_db, "households", "d", hh("d3", "d"));

  require_ok(device_sync(device, *worker).combined());
  CHECK(ids_of(device) == std::vector<std::string>{"a", "b"});
  Token before = hub_db.tokens()->list_tokens().at(0);
  std::vector<TokenPeers> report =
      token_peers(hub_id, peer_checkpoints(hub_db.list_local()), hub_db.tokens()->list_tokens());
  REQUIRE(report.size() == 1);
  REQUIRE(report[0].devices.size() == 1);
  CHECK(report[0].devices[0].db_id == device.db_id());
  CHECK(report[0].devices[0].caught_up);

  // Offline, the worker edits a and creates e, both in d1.
  Revision a2 = update(device, "households", "a", a1, hh("d1", "edited offline"));
  Revision e1 = create(device, "households", "e", hh("d1", "made offline"));

  // The worker moves to d2; edits made before stay welcome for a while.
  hub.rescope("worker", "d2", int64_t{3600} * 1000000);
  report =
      token_peers(hub_id, peer_checkpoints(hub_db.list_local()), hub_db.tokens()->list_tokens());
  REQUIRE(report[0].devices.size() == 1);
  CHECK_FALSE(report[0].devices[0].caught_up);

  // Adopting purges nothing the hub lacks.
  PurgeOutcome outcome;
  REQUIRE(adopt_token_scope(device, *worker, &outcome).has_value());
  CHECK(must_get(device, "households", "a").revision == a2);
  CHECK(device.get("households", "e").has_value());

  SyncReport synced = sync(device, *worker, test_options());
  require_ok(synced.combined());
  // The edits reached the hub...
  CHECK(must_get(hub_db, "households", "a").revision == a2);
  CHECK(must_get(hub_db, "households", "e").revision == e1);
  // ...and the device holds exactly d2 now.
  CHECK(ids_of(device) == std::vector<std::string>{"c"});
  CHECK_FALSE(device.purge_log(0, 100).empty());
  report =
      token_peers(hub_id, peer_checkpoints(hub_db.list_local()), hub_db.tokens()->list_tokens());
  REQUIRE(report[0].devices.size() == 1);
  CHECK(report[0].devices[0].synced_scope_fingerprint == report[0].scope_fingerprint);
  CHECK(report[0].devices[0].caught_up);
  CHECK(report[0].scope_fingerprint != sha256_hex(before.scope));
}

TEST_CASE(
    "replication: token scope: an edit the hub refuses after a re-scope stays on the device") {
  auto peers = make_peers(2, false);
  Engine& hub_db = *peers[0];
  Engine& device = *peers[1];
  create_table(hub_db, households_table());
  AuthHub hub(hub_db);
  auto worker = hub.client(hub.add_token("worker", "d1"));

  Revision a1 = create(hub_db, "households", "a", hh("d1", "a"));
  create(hub_db, "households", "b", hh("d1", "b"));
  create(hub_db, "households", "c", hh("d2", "c"));
  require_ok(device_sync(device, *worker).combined());
  REQUIRE(ids_of(device) == std::vector<std::string>{"a", "b"});

  Revision a2 = update(device, "households", "a", a1, hh("d1", "edited offline"));
  // No grace: the hub refuses the edit of a d1 record from now on.
  hub.rescope("worker", "d2", 0);

  SyncReport synced = device_sync(device, *worker);
  CHECK_FALSE(synced.combined().fatal.has_value());
  CHECK(synced.combined().refused > 0);
  // b (acknowledged) left; a keeps the edit the hub does not have.
  CHECK(ids_of(device) == std::vector<std::string>{"a", "c"});
  CHECK(must_get(device, "households", "a").revision == a2);
  CHECK(must_get(hub_db, "households", "a").revision == a1);
  // Syncing again changes nothing of that.
  device_sync(device, *worker);
  CHECK(must_get(device, "households", "a").revision == a2);
}

TEST_CASE("replication: token scope: a device scope wider than the token's purges nothing hidden") {
  auto peers = make_peers(2, false);
  Engine& hub_db = *peers[0];
  Engine& device = *peers[1];
  create_table(hub_db, households_table());
  create_table(device, households_table());
  AuthHub hub(hub_db);
  auto admin_like = hub.client(hub.add_token("full", ""));
  auto worker = hub.client(hub.add_token("worker", "d1"));

  create(hub_db, "households", "a", hh("d1", "a"));
  create(hub_db, "households", "c", hh("d2", "c"));
  // The device holds d1 and d2 (its own choice), filled through a full token.
  set_database_scope(device,
                     parse_scope("households: district IN ('d1', 'd2')", device.list_tables()));
  require_ok(sync(device, *admin_like, test_options()).combined());
  REQUIRE(ids_of(device) == std::vector<std::string>{"a", "c"});

  // Through the d1 token, c is hidden, not gone: without adopting, the
  // device's scope is not within the token's and c stays.
  require_ok(replicate(*worker, device, test_options()));
  CHECK(ids_of(device) == std::vector<std::string>{"a", "c"});
  CHECK(district_of(must_get(device, "households", "c").attributes) == "d2");
}

}  // namespace outpost::test
