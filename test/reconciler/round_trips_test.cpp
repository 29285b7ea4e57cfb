// Field links (issue 17): the round trips of a sync, counted from the HTTP
// client's own trace (Traffic::round_trips: the longest chain of requests
// each sent after the previous one was answered), never from timing. Each
// sync uses a fresh client, as a new `outpost sync` process would.
//
// Budgets, setup included: an incremental one-way sync of up to one batch
// at most 4; a two-way sync in which one side changed at most 5; an idle
// two-way sync at most 2. And no echo: what a device received from the hub
// is never offered back to it, so the first push after a first pull reads
// only the device's own edits.
#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "api/engine.h"
#include "client/http_engine.h"
#include "engine/backends.h"
#include "reconciler/peers.h"
#include "reconciler/replicator.h"
#include "reconciler/served.h"

namespace {

using namespace outpost;
using namespace outpost::test;

constexpr int kRecords = 2000;
constexpr int kChanged = 20;  // 1%

// Edits records [from, from + n) of "items" on `engine`, building on their
// winners.
void edit_some(Engine& engine, int from, int n, const std::string& tag) {
  std::vector<Edit> edits;
  for (int i = from; i < from + n; ++i) {
    const std::string id = "r" + std::to_string(i);
    std::optional<Record> now = engine.get("items", id);
    REQUIRE(now.has_value());
    Edit e;
    e.kind = Edit::Kind::put;
    e.table = "items";
    e.id = id;
    e.parent = now->revision;
    e.attributes = item(tag + std::to_string(i), i);
    edits.push_back(std::move(e));
  }
  for (const WriteResult& r : engine.write(edits)) REQUIRE(r.ok());
}

uint64_t round_trips(const ReplicationReport& report) {
  REQUIRE(report.traffic.has_value());
  return report.traffic->round_trips;
}

uint64_t round_trips(const SyncReport& report) {
  REQUIRE(report.traffic.has_value());
  return report.traffic->round_trips;
}

void budgets(bool hub_on_postgres) {
  std::vector<Peer> peers = make_peers(2, hub_on_postgres);
  Engine& device = *peers[0];
  Engine& hub_db = *peers[1];
  ServedEngine hub(hub_db);
  create_table(hub_db, items_table());
  std::vector<Edit> creates;
  for (int i = 0; i < kRecords; ++i) {
    Edit e;
    e.kind = Edit::Kind::put;
    e.table = "items";
    e.id = "r" + std::to_string(i);
    e.attributes = item("first" + std::to_string(i), i);
    creates.push_back(std::move(e));
  }
  for (const WriteResult& r : hub_db.write(creates)) REQUIRE(r.ok());
  auto fresh = [&] { return open_http_engine(hub.url()); };

  // The first sync pulls everything; it then offers nothing back.
  {
    auto client = fresh();
    SyncReport first = sync(device, *client, test_options());
    require_ok(first.combined());
    CHECK(first.b_to_a.revisions_written == kRecords);
    CHECK(first.a_to_b.revisions_written == 0);
    MESSAGE("first sync of " << kRecords << " records: " << round_trips(first) << " round trips, "
                             << first.traffic->requests << " requests");
  }
  // No echo: a push right after reads nothing the hub sent.
  {
    auto client = fresh();
    ReplicationReport push = replicate(device, *client, test_options());
    require_ok(push);
    CHECK(push.changes_read == 0);
    CHECK(round_trips(push) <= 2);
  }
  // The first push after the first pull carries the device's edits only.
  {
    edit_some(device, 0, kChanged, "device");
    auto client = fresh();
    ReplicationReport push = replicate(device, *client, test_options());
    require_ok(push);
    CHECK(push.changes_read == kChanged);
    CHECK(push.revisions_written == kChanged);
    CHECK(round_trips(push) <= 4);
    MESSAGE("incremental push: " << round_trips(push) << " round trips, "
                                 << push.traffic->wire_bytes << " bytes on the wire");
  }
  // An incremental pull.
  {
    edit_some(hub_db, 100, kChanged, "hub");
    auto client = fresh();
    ReplicationReport pull = replicate(*client, device, test_options());
    require_ok(pull);
    CHECK(pull.revisions_written == kChanged);
    CHECK(round_trips(pull) <= 4);
    MESSAGE("incremental pull: " << round_trips(pull) << " round trips, "
                                 << pull.traffic->wire_bytes << " bytes on the wire");
  }
  // Two-way, the device changed.
  {
    edit_some(device, 200, kChanged, "device2");
    auto client = fresh();
    SyncReport s = sync(device, *client, test_options());
    require_ok(s.combined());
    CHECK(s.a_to_b.revisions_written == kChanged);
    CHECK(s.b_to_a.revisions_written == 0);
    CHECK(round_trips(s) <= 5);
    MESSAGE("two-way, device changed: " << round_trips(s) << " round trips");
  }
  // Two-way, the hub changed.
  {
    edit_some(hub_db, 300, kChanged, "hub2");
    auto client = fresh();
    SyncReport s = sync(device, *client, test_options());
    require_ok(s.combined());
    CHECK(s.b_to_a.revisions_written == kChanged);
    CHECK(s.a_to_b.revisions_written == 0);
    CHECK(round_trips(s) <= 5);
    MESSAGE("two-way, hub changed: " << round_trips(s) << " round trips");
  }
  // Idle: nothing changed on either side.
  {
    auto client = fresh();
    SyncReport s = sync(device, *client, test_options());
    require_ok(s.combined());
    CHECK(s.a_to_b.changes_read == 0);
    CHECK(s.b_to_a.changes_read == 0);
    CHECK(round_trips(s) <= 2);
    MESSAGE("idle two-way: " << round_trips(s) << " round trips");
  }
  require_converged(peers);
}

}  // namespace

TEST_CASE("replication: round trips of a sync stay within the field-link budgets (SQLite hub)") {
  budgets(false);
}

TEST_CASE("replication: round trips of a sync stay within the field-link budgets (mixed hub)") {
  budgets(true);
}
