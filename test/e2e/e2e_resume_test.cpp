// End to end: kill the hub (SIGKILL) in the middle of a large `outpost sync`,
// restart it on the same database and rerun the sync: it completes from its
// checkpoint and every record is on the hub exactly once, at the device's
// revision. And `outpost sync --continuous` rides out a hub restart.
#include <doctest/doctest.h>
#include <rapidjson/document.h>
#include <signal.h>

#include <chrono>
#include <thread>

#include "api/engine.h"
#include "client/http_engine.h"
#include "client/tiny_server.h"
#include "e2e/e2e_common.h"
#include "e2e/processes.h"
#include "engine/backends.h"
#include "engine/open.h"

namespace {

using namespace outpost;
using namespace outpost::test;

constexpr const char* kTable = "items";

Table items() {
  return Table{kTable, {{"name", ValueType::string, true}, {"n", ValueType::int_, false}}};
}

std::string id_of(size_t i) {
  char id[32];
  std::snprintf(id, sizeof id, "rec%08zu", i);
  return id;
}

void fill(Engine& engine, size_t from, size_t to) {
  std::vector<Edit> edits;
  for (size_t i = from; i < to; ++i) {
    Edit e;
    e.table = kTable;
    e.id = id_of(i);
    e.attributes.emplace("name", Value::from_string("item " + std::to_string(i)));
    e.attributes.emplace("n", Value::from_int(static_cast<int64_t>(i)));
    edits.push_back(std::move(e));
    if (edits.size() == 1000 || i + 1 == to) {
      for (const WriteResult& r : engine.write(edits)) REQUIRE(r.ok());
      edits.clear();
    }
  }
}

// How many records the hub's feed lists (each record appears once).
size_t feed_size(Engine& hub) { return all_changes(hub).size(); }

}  // namespace

TEST_CASE("e2e: a sync interrupted by killing the hub completes on rerun, nothing twice") {
  constexpr size_t kRecords = 20000;
  ScratchDir dir;
  HubDatabase hub_db = make_hub_database(dir.path());
  const std::string device_url = "sqlite:" + (dir.path() / "device.db").string();
  {
    OpenOptions fast;
    fast.durability = Durability::normal;
    std::unique_ptr<Engine> device = open_engine(device_url, fast);
    device->put_table(items());
    fill(*device, 0, kRecords);
  }

  auto hub = std::make_unique<ServeProcess>(dir.path(), ServeOptions{hub_db.url});
  const std::string token = hub->admin_token();
  REQUIRE_FALSE(token.empty());
  HttpClientOptions client;
  client.token = token;
  std::unique_ptr<HttpEngine> watch = open_http_engine(hub->url(), client);

  OutpostProcess first(dir.path(),
                       // A short retry budget: the hub is not coming back during this run.
                       {"sync", "--db", device_url, "--remote", hub->url(), "--push", "--batch",
                        "250", "--json", "--retry-for", "2"},
                       "sync1", {"OUTPOST_TOKEN=" + token});
  // Wait until the push is under way, then kill the hub.
  size_t seen = 0;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < until) {
    ChangesRequest probe;
    probe.limit = 2000;
    seen = watch->changes(probe).results.size();
    if (seen >= 2000) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  REQUIRE(seen >= 2000);
  hub->kill_hard();
  CommandRun interrupted = first.finish();
  INFO("first sync: " << interrupted.err);
  CHECK(interrupted.status != 0);

  hub = std::make_unique<ServeProcess>(dir.path(), ServeOptions{hub_db.url}, "serve2");
  CHECK(hub->admin_token().empty());  // printed once, on the first serve only
  std::unique_ptr<HttpEngine> restarted = open_http_engine(hub->url(), client);
  const size_t before = feed_size(*restarted);
  MESSAGE("the hub held " << before << " of " << kRecords << " records when it was killed");
  CHECK(before < kRecords);

  CommandRun second = run_outpost(dir.path(),
                                  {"sync", "--db", device_url, "--remote", hub->url(), "--token",
                                   token, "--push", "--batch", "250", "--json"},
                                  "sync2");
  INFO("second sync: " << second.out << second.err);
  REQUIRE(second.status == 0);
  CHECK_FALSE(json_field(second.out, "start_seq").empty());  // resumed from its checkpoint
  CHECK(std::stoul(json_field(second.out, "changes_read")) < kRecords);

  // Every record once, at the device's revision, with a single leaf.
  std::unique_ptr<Engine> device = open_engine(device_url);
  CHECK(feed_size(*restarted) == kRecords);
  std::vector<Record> on_hub = all_records(*restarted, kTable, 5000);
  std::vector<Record> on_device = all_records(*device, kTable, 5000);
  REQUIRE(on_hub.size() == kRecords);
  REQUIRE(on_device.size() == kRecords);
  std::vector<RevsDiffQuery> queries;
  for (size_t i = 0; i < kRecords; ++i) {
    CHECK(on_hub[i].id == on_device[i].id);
    CHECK(on_hub[i].revision == on_device[i].revision);
    queries.push_back({kTable, on_device[i].id, {on_device[i].revision}});
  }
  size_t single_leaf = 0;
  for (const RevsDiffResult& d : restarted->revs_diff(queries)) {
    CHECK(d.missing.empty());
    if (d.leaves.size() == 1) ++single_leaf;
  }
  CHECK(single_leaf == kRecords);
  CHECK(hub->stop() == 0);
}

TEST_CASE("e2e: sync --continuous follows both feeds and reconnects after the hub restarts") {
  ScratchDir dir;
  HubDatabase hub_db = make_hub_database(dir.path());
  const std::string device_url = "sqlite:" + (dir.path() / "device.db").string();
  {
    std::unique_ptr<Engine> device = open_engine(device_url);
    device->put_table(items());
    fill(*device, 0, 10);
  }
  const std::string listen = "127.0.0.1:" + std::to_string(free_port());
  ServeOptions serve{hub_db.url};
  serve.listen = listen;
  auto hub = std::make_unique<ServeProcess>(dir.path(), serve);
  const std::string token = hub->admin_token();
  HttpClientOptions client;
  client.token = token;

  OutpostProcess follower(
      dir.path(), {"sync", "--db", device_url, "--remote", hub->url(), "--continuous", "--json"},
      "follow", {"OUTPOST_TOKEN=" + token});
  auto wait_for = [&](const std::function<bool()>& done, const char* what) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!done()) {
      INFO(what << "; sync said: " << follower.stderr_text());
      REQUIRE(follower.running());
      REQUIRE(std::chrono::steady_clock::now() < until);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  };
  auto hub_has = [&](const std::string& id) {
    try {
      return open_http_engine(hub->url(), client)->get(kTable, id).has_value();
    } catch (const Error&) {
      return false;
    }
  };
  wait_for([&] { return hub_has(id_of(9)); }, "the first push");

  // Written on the hub: pulled by the follower.
  {
    auto remote = open_http_engine(hub->url(), client);
    create(*remote, kTable, "from-hub", Attributes{{"name", Value::from_string("h")}});
  }
  wait_for([&] { return open_engine(device_url)->get(kTable, "from-hub").has_value(); },
           "the pull of a hub write");

  // The hub goes away; the device keeps writing; the hub comes back.
  hub->kill_hard();
  fill(*open_engine(device_url), 10, 20);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  hub = std::make_unique<ServeProcess>(dir.path(), serve, "serve2");
  wait_for([&] { return hub_has(id_of(19)); }, "the push after the restart");

  follower.signal(SIGINT);
  CommandRun stopped = follower.finish(30);
  INFO(stopped.err);
  CHECK(stopped.status == 0);
  CHECK(hub->stop() == 0);
  // The push went on from where it was: 10 records, the hub's one coming
  // back, 10 more (starting over would have read the first 11 again), after
  // retries with backoff while the hub was away.
  INFO(stopped.out);
  rapidjson::Document report;
  report.Parse(stopped.out.c_str());
  REQUIRE_FALSE(report.HasParseError());
  const auto& push = report["a_to_b"];
  CHECK(push["revisions_written"].GetUint64() == 20);
  CHECK(push["changes_read"].GetUint64() < 30);
  CHECK(report["total"]["retries"].GetUint64() >= 1);
}
