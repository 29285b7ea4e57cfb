// End to end: a field worker's device follows its token's scope (DESIGN.md
// section 14). `outpost sync --continuous` with a scoped token adopts the
// token's district; the admin re-scopes the token over HTTP while it runs;
// the device pushes what it wrote, receives the new district and purges the
// old one, without a restart. And `outpost peers` tells whether each
// device of a token has caught up since its last re-scope.
#include <doctest/doctest.h>
#include <rapidjson/document.h>
#include <signal.h>

#include <chrono>
#include <functional>
#include <thread>

#include "api/engine.h"
#include "api/scope.h"
#include "client/http_engine.h"
#include "e2e/e2e_common.h"
#include "e2e/processes.h"
#include "engine/backends.h"
#include "engine/open.h"

namespace {

using namespace outpost;
using namespace outpost::test;

Table households() {
  return Table{"households", {col("district", ValueType::string), col("name", ValueType::string)}};
}

Attributes household(const std::string& district, const std::string& name) {
  return Attributes{{"district", str(district)}, {"name", str(name)}};
}

std::string district_scope(const std::string& district) {
  return "households: district = '" + district + "'";
}

std::string fingerprint_of(const std::string& district) {
  return scope_fingerprint(parse_scope(district_scope(district), {households()}));
}

std::vector<std::string> held_ids(Engine& engine) {
  std::vector<std::string> ids;
  if (!engine.get_table("households")) return ids;
  for (const Record& r : engine.list_records("households", "", 1000).records) ids.push_back(r.id);
  return ids;
}

// A hub served by `outpost serve` (PostgreSQL when configured), its admin
// client, and a few households in three districts.
struct Hub {
  explicit Hub(const ScratchDir& dir)
      : db(make_hub_database(dir.path())), process(dir.path(), ServeOptions{db.url}) {
    HttpClientOptions options;
    options.token = process.admin_token();
    admin = open_http_engine(process.url(), options);
    admin->put_table(households());
    for (const char* id : {"n1", "n2"})
      put_record(*admin, "households", id, {}, household("north", id));
    for (const char* id : {"s1", "s2"})
      put_record(*admin, "households", id, {}, household("south", id));
    put_record(*admin, "households", "e1", {}, household("east", "e1"));
  }

  // A token for one district, created over HTTP (HttpEngine::tokens()).
  std::string add_worker(const std::string& name, const std::string& district) {
    Token token;
    token.name = name;
    token.scope = district_scope(district);
    token.write_scope = district_scope(district);
    return admin->tokens()->create_token(token);
  }

  void rescope(const std::string& name, const std::string& district) {
    TokenUpdate update;
    update.scope = district_scope(district);
    update.write_scope = district_scope(district);
    update.grace_micros = int64_t{3600} * 1000000;
    Token now = admin->tokens()->update_token(name, update);
    REQUIRE(now.scope == scope_text(parse_scope(district_scope(district), {households()})));
  }

  HubDatabase db;
  ServeProcess process;
  std::unique_ptr<HttpEngine> admin;
};

// An empty device database (created before any process opens it).
std::string make_device(const ScratchDir& dir, const std::string& name) {
  const std::string url = "sqlite:" + (dir.path() / (name + ".db")).string();
  open_engine(url);
  return url;
}

size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("e2e: sync --continuous follows a re-scope of its token without a restart") {
  ScratchDir dir;
  Hub hub(dir);
  const std::string secret = hub.add_worker("worker", "north");
  const std::string device_url = make_device(dir, "device");

  OutpostProcess follower(dir.path(),
                          {"sync", "--db", device_url, "--remote", hub.process.url(),
                           "--continuous", "--scope-check-ms", "100", "--batch", "10"},
                          "follow", {"OUTPOST_TOKEN=" + secret});
  auto wait_for = [&](const std::function<bool()>& done, const char* what) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!done()) {
      INFO(what << "; sync said: " << follower.stdout_text() << follower.stderr_text());
      REQUIRE(follower.running());
      REQUIRE(std::chrono::steady_clock::now() < until);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  };
  auto device_holds = [&](const std::vector<std::string>& ids) {
    return held_ids(*open_engine(device_url)) == ids;
  };
  wait_for([&] { return device_holds({"n1", "n2"}); }, "the first pull of the north");
  {
    std::optional<Scope> own = open_engine(device_url)->scope();
    REQUIRE(own.has_value());
    CHECK(scope_fingerprint(*own) == fingerprint_of("north"));
  }

  // The worker edits n2 on the device, and moves to the south at once: the
  // edit must reach the hub, whether the running push or the re-scope's
  // push-first takes it.
  {
    auto device = open_engine(device_url);
    Revision n2 = must_get(*device, "households", "n2").revision;
    put_record(*device, "households", "n2", n2, household("north", "edited on the device"));
  }
  hub.rescope("worker", "south");
  wait_for([&] { return device_holds({"s1", "s2"}); }, "the south in, the north out");
  {
    auto device = open_engine(device_url);
    std::optional<Scope> own = device->scope();
    REQUIRE(own.has_value());
    CHECK(scope_fingerprint(*own) == fingerprint_of("south"));
    CHECK(device->purge_log(0, 10).size() == 2);
  }
  CHECK(must_get(*hub.admin, "households", "n2").attributes.at("name") ==
        str("edited on the device"));

  // Still the same process, following the new scope's feed.
  put_record(*hub.admin, "households", "s3", {}, household("south", "s3"));
  wait_for([&] { return device_holds({"s1", "s2", "s3"}); }, "a new south household");
  put_record(*hub.admin, "households", "n3", {}, household("north", "n3"));

  follower.signal(SIGINT);
  CommandRun stopped = follower.finish(30);
  INFO(stopped.out << stopped.err);
  CHECK(stopped.status == 0);
  CHECK(count_of(stopped.out, "adopted the token's scope") == 2);
  CHECK(held_ids(*open_engine(device_url)) == std::vector<std::string>{"s1", "s2", "s3"});
}

TEST_CASE("e2e: a one-shot sync adopts the token's scope; outpost peers shows who caught up") {
  ScratchDir dir;
  Hub hub(dir);
  const std::string secret = hub.add_worker("worker", "north");
  hub.add_worker("idle", "east");
  const std::string device_url = make_device(dir, "device");
  const std::vector<std::string> env = {"OUTPOST_TOKEN=" + secret};
  auto sync_json = [&](const char* name) {
    CommandRun run = run_outpost(
        dir.path(), {"--json", "sync", "--db", device_url, "--remote", hub.process.url()}, name,
        env);
    INFO(run.out << run.err);
    REQUIRE(run.status == 0);
    rapidjson::Document report;
    report.Parse(run.out.c_str());
    REQUIRE_FALSE(report.HasParseError());
    REQUIRE(report.HasMember("adopted_scope"));
    return run.out;
  };
  // The peers report of the hub, for the worker's token.
  auto worker_devices = [&] {
    CommandRun run = run_outpost(
        dir.path(),
        {"--json", "peers", "--db", hub.process.url(), "--token", hub.process.admin_token()},
        "peers");
    INFO(run.out << run.err);
    REQUIRE(run.status == 0);
    rapidjson::Document report;
    report.Parse(run.out.c_str());
    REQUIRE_FALSE(report.HasParseError());
    REQUIRE(report.HasMember("tokens"));
    std::vector<std::pair<std::string, bool>> out;  // (synced fingerprint, caught up)
    bool idle_seen = false;
    for (const auto& token : report["tokens"].GetArray()) {
      const std::string name = token["name"].GetString();
      if (name == "idle") {
        idle_seen = true;
        CHECK(token["devices"].GetArray().Size() == 0);
        CHECK(std::string(token["scope_fingerprint"].GetString()) == fingerprint_of("east"));
      }
      if (name != "worker") continue;
      for (const auto& d : token["devices"].GetArray()) {
        out.emplace_back(d["synced_scope_fingerprint"].GetString(), d["caught_up"].GetBool());
      }
    }
    CHECK(idle_seen);
    return out;
  };

  std::string first = sync_json("sync1");
  CHECK(first.find(fingerprint_of("north")) != std::string::npos);
  CHECK(held_ids(*open_engine(device_url)) == std::vector<std::string>{"n1", "n2"});
  using Devices = std::vector<std::pair<std::string, bool>>;
  CHECK(worker_devices() == Devices{{fingerprint_of("north"), true}});

  hub.rescope("worker", "south");
  CHECK(worker_devices() == Devices{{fingerprint_of("north"), false}});

  // The text form says so in one line.
  CommandRun text = run_outpost(
      dir.path(), {"sync", "--db", device_url, "--remote", hub.process.url()}, "sync2", env);
  INFO(text.out << text.err);
  REQUIRE(text.status == 0);
  CHECK(count_of(text.out, "adopted the token's scope " + fingerprint_of("south").substr(0, 12)) ==
        1);
  CHECK(held_ids(*open_engine(device_url)) == std::vector<std::string>{"s1", "s2"});
  CHECK(worker_devices() == Devices{{fingerprint_of("south"), true}});

  // Nothing more to adopt: "adopted_scope" is null.
  std::string again = sync_json("sync3");
  rapidjson::Document report;
  report.Parse(again.c_str());
  CHECK(report["adopted_scope"].IsNull());

  // The text form of `outpost peers` over HTTP.
  CommandRun peers = run_outpost(
      dir.path(), {"peers", "--db", hub.process.url(), "--token", hub.process.admin_token()},
      "peers-text");
  INFO(peers.out << peers.err);
  REQUIRE(peers.status == 0);
  CHECK(peers.out.find("caught up") != std::string::npos);
  CHECK(peers.out.find(fingerprint_of("south").substr(0, 12)) != std::string::npos);
}
