// Replication under scopes, the edges a review found (DESIGN.md section 14):
// a run narrowed by a scope of its own never purges on its `removed`
// entries, and a source without a scope that simply lacks a record proves
// nothing about it. Each failed on the code before its fix.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "api/scope.h"
#include "engine/open.h"
#include "reconciler/peers.h"
#include "reconciler/replicator.h"
#include "reconciler/scoping.h"

namespace outpost::test {
namespace {

Table households_table() {
  return Table{"households", {col("district", ValueType::string), col("name", ValueType::string)}};
}

Attributes hh(std::string_view district, std::string_view name) {
  return Attributes{{"district", str(district)}, {"name", str(name)}};
}

struct Db {
  std::unique_ptr<TestDatabase> db;
  std::unique_ptr<Engine> engine;
  Engine& operator*() { return *engine; }
};

Db make_db(const char* scope = nullptr) {
  OpenOptions options;
  options.durability = Durability::normal;
  Db d;
  d.db = test_backends()[0].create();
  d.engine = open_engine(d.db->url(), options);
  create_table(*d.engine, households_table());
  if (scope) set_database_scope(*d.engine, parse_scope(scope, d.engine->list_tables()));
  return d;
}

TEST_CASE("replication: scope edges: a run narrowed by --scope never purges on removed entries") {
  Db hub = make_db();
  Db device = make_db("households: district IN ('d1', 'd2')");
  Revision r1 = create(*hub, "households", "r", hh("d2", "r"));
  // Two syncs: the device's push to the hub then covers r (the hub keeps it).
  require_ok(sync(*device, *hub, test_options()).combined());
  require_ok(sync(*device, *hub, test_options()).combined());
  REQUIRE(must_get(*device, "households", "r").revision == r1);

  ReplicationOptions narrowed = test_options();
  narrowed.scope = std::make_shared<const Scope>(
      parse_scope("households: district = 'd2'", device.engine->list_tables()));
  require_ok(replicate(*hub, *device, narrowed));
  // r moves to d1: out of the narrowing, still in the device's own scope.
  Revision r2 = update(*hub, "households", "r", r1, hh("d1", "moved within the scope"));
  ReplicationReport run = replicate(*hub, *device, narrowed);
  require_ok(run);
  CHECK(run.purged == 0);
  auto held = device.engine->get("households", "r");
  REQUIRE(held.has_value());
  CHECK(held->revision == r1);
  CHECK(device.engine->purge_log(0, 10).empty());
  // An ordinary sync brings the move.
  require_ok(sync(*device, *hub, test_options()).combined());
  CHECK(must_get(*device, "households", "r").revision == r2);
}

TEST_CASE("replication: scope edges: a source without a scope that lacks a record purges nothing") {
  Db hub = make_db();
  Db device = make_db("households: district = 'd1'");
  Revision r1 = create(*hub, "households", "r", hh("d1", "r"));
  require_ok(sync(*device, *hub, test_options()).combined());
  require_ok(sync(*device, *hub, test_options()).combined());
  REQUIRE(must_get(*device, "households", "r").revision == r1);

  // A full copy that never held r (a stick copied before r existed): a
  // first pull from it checks everything the device holds against it.
  Db stick = make_db();
  ReplicationReport pull = replicate(*stick, *device, test_options());
  require_ok(pull);
  CHECK(pull.purged == 0);
  auto held = device.engine->get("households", "r");
  REQUIRE(held.has_value());
  CHECK(held->revision == r1);
  CHECK(device.engine->purge_log(0, 10).empty());

  // A stick that holds r behind the device (an older revision) proves
  // nothing either.
  Revision r2 = update(*hub, "households", "r", r1, hh("d1", "edited"));
  require_ok(sync(*device, *hub, test_options()).combined());
  REQUIRE(must_get(*device, "households", "r").revision == r2);
  Db old_stick = make_db();
  RemoteRevision first;
  first.table = "households";
  first.id = "r";
  first.revision = r1;
  first.attributes = hh("d1", "r");
  REQUIRE(old_stick.engine->write_replicated({first}).at(0).ok());
  // The old stick's copy is then moved out of d1 there: it holds r out of
  // the scope, but without the device's newer revision.
  update(*old_stick, "households", "r", r1, hh("d9", "moved on the stick"));
  ReplicationReport behind = replicate(*old_stick, *device, test_options());
  require_ok(behind);
  auto still = device.engine->get("households", "r");
  REQUIRE(still.has_value());
  CHECK(still->revision == r2);
}

TEST_CASE("replication: scope edges: a record reported removed that comes back stays") {
  Db hub = make_db();
  Db device = make_db("households: district = 'd1'");
  Revision r1 = create(*hub, "households", "r", hh("d1", "r"));
  require_ok(sync(*device, *hub, test_options()).combined());
  require_ok(sync(*device, *hub, test_options()).combined());

  // Two children of r1: x moves r out of d1, e keeps it in; e wins.
  auto child = [&](const Attributes& body) {
    RemoteRevision doc;
    doc.table = "households";
    doc.id = "r";
    doc.attributes = body;
    doc.ancestry = {r1};
    doc.revision = compute_revision("households", "r", r1, false, body);
    return doc;
  };
  RemoteRevision x = child(hh("d2", "moved away"));
  RemoteRevision e;
  for (int i = 0;; ++i) {
    REQUIRE(i < 1000);
    e = child(hh("d1", "kept " + std::to_string(i)));
    if (e.revision.str() > x.revision.str()) break;
  }
  // The device holds both (x from a peer, e its own, not pushed yet); the
  // hub has only x, so there r is out of the scope.
  REQUIRE(device.engine->write_replicated({x, e}).at(1).ok());
  REQUIRE(must_get(*device, "households", "r").revision == e.revision);
  REQUIRE(hub.engine->write_replicated({x}).at(0).ok());

  // The pull reports r removed; the device's change is not pushed: it waits.
  ReplicationReport pull = replicate(*hub, *device, test_options());
  require_ok(pull);
  CHECK(pull.purged == 0);
  // The next sync pushes e, which wins on the hub too: r is back in the
  // scope there, and the device, which lacks nothing of it, keeps it.
  require_ok(sync(*device, *hub, test_options()).combined());
  require_ok(sync(*device, *hub, test_options()).combined());
  CHECK(must_get(*hub, "households", "r").revision == e.revision);
  auto held = device.engine->get("households", "r");
  REQUIRE(held.has_value());
  CHECK(held->revision == e.revision);
  for (const PurgeLogEntry& entry : device.engine->purge_log(0, 10)) {
    FAIL_CHECK("purged ", entry.table, "/", entry.id, ": ", entry.reason);
  }
}

}  // namespace
}  // namespace outpost::test
