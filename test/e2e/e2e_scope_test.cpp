// End to end over HTTP: a scoped device syncs with a hub served by
// `outpost serve`. It asks the hub only for its district, receives a
// `removed` entry when a household moves away, purges it once the hub has
// everything it wrote, and a household moved into the district arrives.
#include <doctest/doctest.h>

#include "api/engine.h"
#include "client/http_engine.h"
#include "e2e/processes.h"
#include "engine/backends.h"
#include "engine/open.h"
#include "reconciler/replicator.h"
#include "reconciler/scoping.h"

namespace {

using namespace outpost;
using namespace outpost::test;

Table households() {
  return Table{"households", {col("district", ValueType::string), col("name", ValueType::string)}};
}

Attributes household(const std::string& district, const std::string& name) {
  return Attributes{{"district", str(district)}, {"name", str(name)}};
}

std::vector<std::string> held_ids(Engine& engine) {
  std::vector<std::string> ids;
  for (const Record& r : engine.list_records("households", "", 1000).records) ids.push_back(r.id);
  return ids;
}

TEST_CASE("e2e: a scoped device syncs its district with a hub over HTTP") {
  ScratchDir dir;
  ServeOptions serve("sqlite:" + (dir.path() / "hub.db").string());
  serve.auth = false;
  ServeProcess hub_process(dir.path(), serve);
  std::unique_ptr<HttpEngine> client = open_http_engine(hub_process.url());
  HttpEngine& hub = *client;
  hub.put_table(households());
  Revision north1 = put_record(hub, "households", "n1", {}, household("north", "a")).revision;
  put_record(hub, "households", "n2", {}, household("north", "b"));
  Revision south1 = put_record(hub, "households", "s1", {}, household("south", "c")).revision;

  auto device = open_engine("sqlite:" + (dir.path() / "device.db").string());
  device->put_table(households());
  set_database_scope(*device, parse_scope("households: district = 'north'", {households()}));

  ReplicationOptions options;
  options.batch_size = 10;
  SyncReport first = sync(*device, hub, options);
  INFO(sync_report_to_json(first));
  REQUIRE(first.ok());
  CHECK(held_ids(*device) == std::vector<std::string>{"n1", "n2"});

  // The hub moves n1 south and s1 north; the device edits n2.
  put_record(hub, "households", "n1", north1, household("south", "a moved"));
  put_record(hub, "households", "s1", south1, household("north", "c moved"));
  Revision n2 = must_get(*device, "households", "n2").revision;
  put_record(*device, "households", "n2", n2, household("north", "b edited"));

  SyncReport second = sync(*device, hub, options);
  INFO(sync_report_to_json(second));
  REQUIRE(second.ok());
  CHECK(held_ids(*device) == std::vector<std::string>{"n2", "s1"});
  CHECK(must_get(hub, "households", "n2").attributes.at("name") == str("b edited"));
  CHECK(second.combined().purged == 1);
  CHECK_FALSE(device->get("households", "n1").has_value());
  CHECK(device->purge_log(0, 10).size() == 1);

  // The hub still answers unscoped reads in full; a scoped read over HTTP
  // sees the district only, and an out-of-scope record reads as absent.
  Scope north = parse_scope("households: district = 'north'", {households()});
  CHECK(hub.list_records("households", "", 100).records.size() == 3);
  CHECK(hub.list_records("households", "", 100, &north).records.size() == 2);
  GetOptions scoped;
  scoped.scope = std::make_shared<const Scope>(north);
  CHECK_FALSE(hub.get("households", "n1", scoped).has_value());
  CHECK(hub.get("households", "s1", scoped).has_value());
}

TEST_CASE("e2e: an invalid scope over HTTP is invalid_scope (400) and changes nothing") {
  ScratchDir dir;
  ServeOptions serve("sqlite:" + (dir.path() / "hub.db").string());
  serve.auth = false;
  ServeProcess hub_process(dir.path(), serve);
  std::unique_ptr<HttpEngine> client = open_http_engine(hub_process.url());
  HttpEngine& hub = *client;
  hub.put_table(households());
  put_record(hub, "households", "n1", {}, household("north", "a"));
  Table wider = households();
  wider.columns.push_back(col("village", ValueType::string));
  // Parsed against a definition the hub does not have: the hub refuses it.
  Scope unknown = parse_scope("households: village = 'x'", {wider});
  ChangesRequest request;
  request.scope = std::make_shared<const Scope>(unknown);
  std::optional<ErrorCode> code;
  try {
    hub.changes(request);
  } catch (const Error& e) {
    code = e.code();
    CHECK(std::string(e.what()).find("village") != std::string::npos);
  }
  CHECK(code == ErrorCode::invalid_scope);
  CHECK(hub.list_records("households", "", 100).records.size() == 1);
}

}  // namespace
