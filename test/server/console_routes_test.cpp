// The routes the web console stands on (docs/http-api.md): its files at
// /ui/ with their security headers, table counts, the devices report,
// the re-scope preview, the where filter and the revision tree; run on
// every backend through the router, without sockets. The console's
// behaviour in a browser is test/ui/.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <string>

#include "api/checkpoint.h"
#include "api/devices.h"
#include "api/json.h"
#include "api/json_builder.h"
#include "engine/backends.h"
#include "server/http_helpers.h"
#include "server/router.h"
#include "server/ui_assets.h"
#include "utils/log.h"
#include "utils/time.h"

namespace outpost::test {
namespace {

using server::HttpRequest;
using server::HttpResponse;
using server::Router;
using server::RouterOptions;

std::string header(const HttpResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

std::string code(const HttpResponse& r) {
  if (r.status < 400) return "";
  return std::string(error_from_json(r.body).code_name());
}

struct Console {
  Console(Engine& e, RouterOptions options = {}, bool make_admin = true)
      : engine(e), router(e, std::move(options)) {
    set_log_level(LogLevel::warn);
    if (!make_admin) return;
    Token t;
    t.name = "admin";
    t.admin = true;
    admin = engine.tokens()->create_token(t);
  }

  HttpResponse call(const std::string& method, const std::string& target,
                    const std::string& body = "", const std::string& as = "(admin)",
                    std::vector<std::pair<std::string, std::string>> headers = {}) {
    HttpRequest request;
    request.method = method;
    request.target = target;
    request.body = body;
    request.remote = "192.0.2.7";
    request.headers = std::move(headers);
    const std::string token = as == "(admin)" ? admin : as;
    if (!token.empty()) request.headers.emplace_back("Authorization", "Bearer " + token);
    if (!body.empty()) request.headers.emplace_back("Content-Type", "application/json");
    return router.handle(request);
  }

  std::string scoped_token(const std::string& name, const std::string& scope) {
    Token t;
    t.name = name;
    t.scope = scope;
    t.write_scope = scope;
    return engine.tokens()->create_token(t);
  }

  Engine& engine;
  Router router;
  std::string admin;
};

// households(district string, size int) with `north` north records and
// `south` south ones: ids n-0.., s-0..
void households(Engine& engine, int north, int south) {
  Table t;
  t.name = "households";
  t.columns = {col("district", ValueType::string), col("size", ValueType::int_)};
  create_table(engine, t);
  for (int i = 0; i < north + south; ++i) {
    const bool is_north = i < north;
    Attributes a;
    a.insert_or_assign("district", str(is_north ? "north" : "south"));
    a.insert_or_assign("size", num(i));
    create(engine, "households", (is_north ? "n-" : "s-") + std::to_string(i), a);
  }
}

// A member present and JSON null.
bool is_null(const std::optional<JsonNode>& n) {
  return n && !n->is_object() && !n->is_array() && !n->is_string() && !n->is_bool() && !n->number();
}

JsonDoc parse(const HttpResponse& r) {
  std::optional<JsonDoc> doc = JsonDoc::parse(r.body);
  REQUIRE_MESSAGE(doc, r.body);
  return std::move(*doc);
}

// {table: {records, conflicts}} of a GET /v1/tables?counts=true answer.
std::map<std::string, std::pair<int64_t, int64_t>> counts_of(const HttpResponse& r) {
  REQUIRE_MESSAGE(r.status == 200, r.body);
  JsonDoc doc = parse(r);
  std::map<std::string, std::pair<int64_t, int64_t>> out;
  for (const JsonNode& t : doc.root().member("tables")->items()) {
    std::optional<JsonNode> counts = t.member("counts");
    REQUIRE(counts);
    out[t.member("name")->string()] = {*counts->member("records")->integer(),
                                       *counts->member("conflicts")->integer()};
  }
  return out;
}

// Two branches on `root` of households/`id` (a leaf): a local edit, and a
// device's replicated one.
void conflict_on(Engine& engine, const std::string& id, const Revision& root) {
  Attributes local;
  local.insert_or_assign("district", str("north"));
  local.insert_or_assign("size", num(98));
  update(engine, "households", id, root, local);
  RemoteRevision remote;
  remote.table = "households";
  remote.id = id;
  Attributes body;
  body.insert_or_assign("district", str("north"));
  body.insert_or_assign("size", num(99));
  remote.attributes = body;
  remote.revision = compute_revision("households", id, root, false, body);
  remote.ancestry = {root};
  REQUIRE(write_one_replicated(engine, remote).ok());
}

}  // namespace

TEST_CASE("console: the files at /ui/ carry their security headers and nothing leaves /ui/") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    Console c(engine);
    HttpResponse index = c.call("GET", "/ui/", "", "");
    REQUIRE(index.status == 200);
    CHECK(index.content_type == "text/html; charset=utf-8");
    CHECK(header(index, "Content-Security-Policy").starts_with("default-src 'self'"));
    CHECK(header(index, "Cache-Control") == "no-cache");
    const std::string etag = header(index, "ETag");
    REQUIRE(etag.size() > 2);
    // Unchanged: 304 and no body.
    HttpResponse again = c.call("GET", "/ui/index.html", "", "", {{"If-None-Match", etag}});
    CHECK(again.status == 304);
    CHECK(again.body.empty());

    HttpResponse root = c.call("GET", "/", "", "");
    CHECK(root.status == 302);
    CHECK(header(root, "Location") == "/ui/");
    CHECK(c.call("GET", "/ui", "", "").status == 302);

    // Names outside the console's files are not found, however spelled.
    for (const char* target : {"/ui/..%2fCMakeLists.txt", "/ui/%2e%2e", "/ui/.hidden",
                               "/ui/no-such.js", "/ui/a%00b", "/ui/../v1", "/ui/x/y"}) {
      CAPTURE(target);
      HttpResponse r = c.call("GET", target, "", "");
      CHECK(r.status == 404);
      CHECK(r.body.find("\"error\"") != std::string::npos);
    }
    // Writes to the console are not a thing.
    CHECK(c.call("PUT", "/ui/index.html", "{}").status == 405);

    RouterOptions off;
    off.console = false;
    Console none(engine, off, false);
    CHECK(none.call("GET", "/ui/", "", "").status == 404);
    CHECK(none.call("GET", "/", "", "").status == 404);
  });
}

TEST_CASE("console: every compiled-in file is served, referenced files exist, the page is light") {
  using server::kUiFileCount;
  using server::kUiFiles;
  REQUIRE(kUiFileCount > 0);
  size_t total = 0;
  std::set<std::string> names;
  for (size_t i = 0; i < kUiFileCount; ++i) {
    total += kUiFiles[i].body.size();
    names.insert(std::string(kUiFiles[i].name));
  }
  CHECK(total < 300 * 1024);
  REQUIRE(names.count("index.html"));

  const std::string index = std::string(server::find_ui_file("index.html", "")->body);
  // Every src= and href= of the page names a file the console has.
  std::regex ref(R"re((src|href)="([^"#?]+)")re");
  for (auto it = std::sregex_iterator(index.begin(), index.end(), ref);
       it != std::sregex_iterator(); ++it) {
    std::string target = (*it)[2];
    if (target.starts_with("/ui/")) target = target.substr(4);
    CAPTURE(target);
    CHECK(names.count(target) == 1);
  }
  // The policy allows no inline script or style: the page must not need any.
  CHECK(!std::regex_search(index, std::regex(R"(<script(?![^>]*\bsrc=)[^>]*>)")));
  CHECK(!std::regex_search(index, std::regex(R"(\son[a-z]+\s*=)", std::regex::icase)));
  CHECK(!std::regex_search(index, std::regex(R"(\sstyle\s*=|<style)", std::regex::icase)));
  CHECK(index.find("http://") == std::string::npos);
  CHECK(index.find("https://") == std::string::npos);

  // Field values become text, never markup: the sinks that parse HTML or
  // run code are not used anywhere in the console's scripts.
  const std::regex sinks(
      R"(\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write|\beval\s*\(|new\s+Function\b|setTimeout\s*\(\s*['"`]|createContextualFragment|\.srcdoc)");
  for (const std::string& name : names) {
    if (!name.ends_with(".js") && !name.ends_with(".html")) continue;
    CAPTURE(name);
    const std::string text(server::find_ui_file(name, "")->body);
    CHECK(!std::regex_search(text, sinks));
  }

  // Each file answers with the type its extension says.
  for (const std::string& name : names) {
    std::optional<server::UiFile> file = server::find_ui_file(name, "");
    REQUIRE(file);
    CHECK(file->content_type == server::ui_content_type(name));
  }
}

TEST_CASE("console: --ui-dir serves the files of that directory and nothing beside it") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    http::TempDir dir;
    const std::filesystem::path ui = dir.path() / "ui";
    std::filesystem::create_directories(ui);
    std::ofstream(ui / "index.html") << "<!doctype html><title>dev</title>";
    std::ofstream(dir.path() / "secret.txt") << "not for the web";
    RouterOptions options;
    options.console_dir = ui.string();
    Console c(engine, options);
    HttpResponse r = c.call("GET", "/ui/", "", "");
    CHECK(r.status == 200);
    CHECK(r.body == "<!doctype html><title>dev</title>");
    CHECK(c.call("GET", "/ui/..%2fsecret.txt", "", "").status == 404);
    CHECK(c.call("GET", "/ui/secret.txt", "", "").status == 404);
  });
}

TEST_CASE("console: table counts are the API's records and conflicts, under the token's scope") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    Console c(engine);
    households(engine, 5, 3);
    Record n0 = must_get(engine, "households", "n-0");
    Record s5 = must_get(engine, "households", "s-5");
    conflict_on(engine, "n-0", n0.revision);
    conflict_on(engine, "s-5", s5.revision);
    remove(engine, "households", "n-1", must_get(engine, "households", "n-1").revision);

    auto all = counts_of(c.call("GET", "/v1/tables?counts=true"));
    CHECK(all["households"].first ==
          static_cast<int64_t>(all_records(engine, "households").size()));
    CHECK(all["households"].first == 7);
    CHECK(all["households"].second == 2);

    const std::string north = c.scoped_token("north", "households: district = 'north'");
    // GET /v1 says which tokens are admin (the console shows its admin pages to them).
    CHECK(parse(c.call("GET", "/v1")).root().member("token")->member("admin")->is_true());
    CHECK(
        !parse(c.call("GET", "/v1", "", north)).root().member("token")->member("admin")->is_true());
    CHECK(
        parse(c.call("GET", "/v1", "", north)).root().member("token")->member("admin")->is_bool());
    auto seen = counts_of(c.call("GET", "/v1/tables?counts=true", "", north));
    HttpResponse listed = c.call("GET", "/v1/tables/households/records?limit=100", "", north);
    JsonDoc doc = parse(listed);
    CHECK(seen["households"].first ==
          static_cast<int64_t>(doc.root().member("records")->items().size()));
    HttpResponse conflicts = c.call("GET", "/v1/conflicts", "", north);
    CHECK(seen["households"].second ==
          static_cast<int64_t>(parse(conflicts).root().member("conflicts")->items().size()));
    CHECK(seen["households"].first < all["households"].first);

    // A scope asked per request is not counted (it could name unindexed
    // columns on every table): records?scope= lists it.
    CHECK(code(c.call("GET",
                      "/v1/tables?counts=true&scope=households%3A%20district%20%3D%20'north'")) ==
          "invalid_value");
    CHECK(
        code(c.call("GET", "/v1/tables?counts=true&scope=households%3A%20district%20%3D%20'south'",
                    "", north)) == "invalid_value");
    // Without counts=true, no counts; a bad flag is invalid_value.
    CHECK(c.call("GET", "/v1/tables").body.find("counts") == std::string::npos);
    CHECK(code(c.call("GET", "/v1/tables?counts=maybe")) == "invalid_value");
  });
}

TEST_CASE("console: where= filters a table's records within the token's scope") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    Console c(engine);
    households(engine, 3, 2);
    auto ids = [&](const HttpResponse& r) {
      REQUIRE_MESSAGE(r.status == 200, r.body);
      std::vector<std::string> out;
      JsonDoc doc = parse(r);
      for (const JsonNode& rec : doc.root().member("records")->items()) {
        out.push_back(rec.member("id")->string());
      }
      return out;
    };
    CHECK(ids(c.call("GET", "/v1/tables/households/records?where=district%20%3D%20'south'")) ==
          std::vector<std::string>{"s-3", "s-4"});
    CHECK(ids(c.call("GET", "/v1/tables/households/records?where=size%20IN%20(0%2C%204)")) ==
          std::vector<std::string>{"n-0", "s-4"});
    // A scoped token cannot widen its view with where=.
    const std::string north = c.scoped_token("north", "households: district = 'north'");
    CHECK(ids(c.call("GET", "/v1/tables/households/records?where=district%20%3D%20'south'", "",
                     north))
              .empty());
    CHECK(code(c.call("GET", "/v1/tables/households/records?where=nope%20%3D%201")) ==
          "invalid_scope");
    // The server's scope limits bound where= as they bound scope=.
    RouterOptions tight;
    tight.scope_limits.max_in_values = 2;
    Console small(engine, tight, false);
    HttpRequest request;
    request.method = "GET";
    request.target = "/v1/tables/households/records?where=size%20IN%20(1%2C%202%2C%203)";
    request.headers.emplace_back("Authorization", "Bearer " + c.admin);
    CHECK(code(small.router.handle(request)) == "invalid_scope");
    CHECK(code(c.call("GET",
                      "/v1/tables/households/records?where=district%20%3D%20'x'%3B%20t%3A%20*")) ==
          "invalid_scope");
  });
}

TEST_CASE("console: the revision tree of a record with a conflict and a deleted branch") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    Console c(engine);
    households(engine, 1, 0);
    const Revision root = must_get(engine, "households", "n-0").revision;
    conflict_on(engine, "n-0", root);
    Record now = must_get(
        engine, "households", "n-0",
        GetOptions{.revision = {}, .conflicts = true, .ancestry = false, .scope = nullptr});
    REQUIRE(now.conflicts->size() == 1);
    // Delete the losing branch: a tombstone leaf on it.
    const Revision tomb = remove(engine, "households", "n-0", (*now.conflicts)[0]);

    HttpResponse r = c.call("GET", "/v1/tables/households/records/n-0?tree=true");
    REQUIRE_MESSAGE(r.status == 200, r.body);
    JsonDoc doc = parse(r);
    std::vector<JsonNode> tree = doc.root().member("tree")->items();
    REQUIRE(tree.size() == 4);  // root, two children, the tombstone
    int winners = 0;
    bool saw_tomb = false;
    for (const JsonNode& node : tree) {
      if (node.member("winner")->is_true()) {
        ++winners;
        CHECK(node.member("revision")->string() == doc.root().member("revision")->string());
      }
      if (node.member("revision")->string() == tomb.str()) {
        saw_tomb = true;
        CHECK(node.member("deleted")->is_true());
        CHECK(node.member("leaf")->is_true());
        CHECK(node.member("parent")->string() == (*now.conflicts)[0].str());
      }
      if (node.member("revision")->string() == root.str()) {
        CHECK(is_null(node.member("parent")));
        CHECK(!node.member("leaf")->is_true());
      }
    }
    CHECK(winners == 1);
    CHECK(saw_tomb);
    // Out of the token's scope reads as absent, tree or not.
    const std::string south = c.scoped_token("south", "households: district = 'south'");
    CHECK(code(c.call("GET", "/v1/tables/households/records/n-0?tree=true", "", south)) ==
          "not_found");
    CHECK(code(c.call("GET", "/v1/tables/households/records/nope?tree=true")) == "not_found");
  });
}

TEST_CASE("console: devices by token with health, pending changes and refusals") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    Console c(engine);
    households(engine, 3, 2);
    const std::string self = engine.db_id();
    const std::string amina = c.scoped_token("amina", "households: district = 'north'");
    c.scoped_token("idle", "households: district = 'south'");
    const std::string old_hand = c.scoped_token("old-hand", "households: district = 'south'");

    // amina's tablet pulled everything in scope a moment ago: the hub's
    // copy of its checkpoint, saved through the API as a replicator does.
    const std::string cursor = engine.update_seq();
    Checkpoint pull;
    pull.source_db_id = self;
    pull.target_db_id = "tablet-a";
    pull.last_seq = cursor;
    pull.updated_at = format_timestamp(now_micros());
    pull.scope = "households: district = 'north'";
    pull.copied_scope_fingerprint =
        scope_fingerprint(parse_scope(pull.scope, engine.list_tables()));
    REQUIRE(c.call("PUT", "/v1/local/rid-pull", checkpoint_to_json(pull), amina).status == 200);
    Checkpoint push = pull;
    push.source_db_id = "tablet-a";
    push.target_db_id = self;
    REQUIRE(c.call("PUT", "/v1/local/rid-push", checkpoint_to_json(push), amina).status == 200);
    Refusal refusal{"households",         "n-9",          "1-00000000000000000000000000000000",
                    ErrorCode::forbidden, "out of scope", pull.updated_at};
    REQUIRE(
        c.call("PUT", "/v1/local/refused-rid-pull", refusals_to_json({refusal}), amina).status ==
        200);
    // old-hand's device last pulled ten days ago.
    Checkpoint old = pull;
    old.target_db_id = "tablet-old";
    old.scope = "households: district = 'south'";
    old.copied_scope_fingerprint = "";
    old.updated_at = format_timestamp(now_micros() - int64_t{10} * 86400 * 1000000);
    REQUIRE(c.call("PUT", "/v1/local/rid-old", checkpoint_to_json(old), old_hand).status == 200);

    // Since amina's pull: two north records and one south one.
    Attributes a;
    a.insert_or_assign("district", str("north"));
    create(engine, "households", "n-new-1", a);
    create(engine, "households", "n-new-2", a);
    a.insert_or_assign("district", str("south"));
    create(engine, "households", "s-new-1", a);

    HttpResponse r = c.call("GET", "/v1/devices?pending=true");
    REQUIRE_MESSAGE(r.status == 200, r.body);
    JsonDoc doc = parse(r);
    std::map<std::string, JsonNode> tokens;
    for (const JsonNode& t : doc.root().member("tokens")->items()) {
      tokens.emplace(t.member("name")->string(), t);
    }
    REQUIRE(tokens.count("amina"));
    const JsonNode& am = tokens.at("amina");
    CHECK(am.member("health")->string() == "healthy");
    std::vector<JsonNode> devices = am.member("devices")->items();
    REQUIRE(devices.size() == 1);
    CHECK(devices[0].member("db_id")->string() == "tablet-a");
    CHECK(devices[0].member("health")->string() == "healthy");
    CHECK(devices[0].member("caught_up")->is_true());
    CHECK(devices[0].member("last_push")->string() == pull.updated_at);
    CHECK(devices[0].member("pending")->integer() == 2);
    CHECK(!devices[0].member("pending_more")->is_true());
    CHECK(am.member("refusal_count")->integer() == 1);
    CHECK(am.member("refusals")->items()[0].member("code")->string() == "forbidden");

    CHECK(tokens.at("idle").member("health")->string() == "never");
    CHECK(tokens.at("idle").member("devices")->items().empty());
    CHECK(tokens.at("old-hand").member("health")->string() == "silent");

    // Without pending=true nothing is counted.
    JsonDoc quick = parse(c.call("GET", "/v1/devices?token=amina"));
    std::vector<JsonNode> only = quick.root().member("tokens")->items();
    REQUIRE(only.size() == 1);
    CHECK(is_null(only[0].member("devices")->items()[0].member("pending")));

    // At a glance: devices by health, tokens without one, refusals.
    JsonDoc glance = parse(c.call("GET", "/v1/devices?summary=true"));
    std::optional<JsonNode> summary = glance.root().member("summary");
    REQUIRE(summary);
    CHECK(!glance.root().member("tokens"));
    CHECK(summary->member("tokens")->integer() == 4);  // admin, amina, idle, old-hand
    CHECK(summary->member("health")->member("healthy")->integer() == 1);
    CHECK(summary->member("health")->member("silent")->integer() == 1);
    CHECK(summary->member("health")->member("stale")->integer() == 0);
    CHECK(summary->member("health")->member("never")->integer() == 2);  // admin, idle
    CHECK(summary->member("refusal_count")->integer() == 1);
    CHECK(summary->member("refusals")->items()[0].member("token")->string() == "amina");
    CHECK(code(c.call("GET", "/v1/devices?summary=true&pending=true")) == "invalid_value");

    CHECK(code(c.call("GET", "/v1/devices", "", amina)) == "forbidden");
    CHECK(code(c.call("GET", "/v1/devices?token=nobody")) == "not_found");
    CHECK(code(c.call("GET", "/v1/devices?pending=often")) == "invalid_value");
  });
}

TEST_CASE("console: a re-scope preview counts what would move and saves nothing") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    Console c(engine);
    households(engine, 4, 3);
    c.scoped_token("amina", "households: district = 'north'");
    const std::string before = c.call("GET", "/v1/tokens/amina").body;

    HttpResponse r = c.call("PUT", "/v1/tokens/amina?dry_run=true",
                            R"j({"scope": "households: size IN (0, 1, 5, 6)"})j");
    REQUIRE_MESSAGE(r.status == 200, r.body);
    JsonDoc doc = parse(r);
    std::optional<JsonNode> preview = doc.root().member("preview");
    REQUIRE(preview);
    // north: n-0..n-3 (sizes 0-3); the new scope holds sizes 0, 1, 5, 6:
    // n-0, n-1 stay, n-2 and n-3 leave, s-5 and s-6 enter.
    CHECK(preview->member("enter")->integer() == 2);
    CHECK(preview->member("leave")->integer() == 2);
    std::vector<JsonNode> tables = preview->member("tables")->items();
    REQUIRE(tables.size() == 1);
    CHECK(tables[0].member("stay")->integer() == 2);
    CHECK(doc.root().member("token")->member("scope")->string() ==
          "households: size IN (0, 1, 5, 6)");
    // Nothing saved.
    CHECK(c.call("GET", "/v1/tokens/amina").body == before);

    // Saving does what the preview said.
    HttpResponse saved =
        c.call("PUT", "/v1/tokens/amina", R"j({"scope": "households: size IN (0, 1, 5, 6)"})j");
    REQUIRE(saved.status == 200);
    CHECK(c.call("GET", "/v1/tokens/amina").body != before);

    // A token of table lists naming a table that does not exist yet: its
    // preview counts the tables that do.
    Token lists;
    lists.name = "lists";
    lists.read = {"households", "visits"};
    lists.write = {"households"};
    engine.tokens()->create_token(lists);
    HttpResponse from_lists = c.call("PUT", "/v1/tokens/lists?dry_run=true",
                                     R"({"scope": "households: district = 'north'"})");
    REQUIRE_MESSAGE(from_lists.status == 200, from_lists.body);
    JsonDoc lists_doc = parse(from_lists);
    CHECK(lists_doc.root().member("preview")->member("leave")->integer() == 3);  // the south ones
    CHECK(lists_doc.root().member("preview")->member("enter")->integer() == 0);

    CHECK(code(c.call("PUT", "/v1/tokens/admin?dry_run=true", R"({"scope": "households: *"})")) ==
          "invalid_value");
    CHECK(code(c.call("PUT", "/v1/tokens/nobody?dry_run=true", R"({"scope": "households: *"})")) ==
          "not_found");
    CHECK(code(c.call("PUT", "/v1/tokens/amina?dry_run=true",
                      R"({"scope": "households: nope = 1"})")) == "invalid_scope");
  });
}

}  // namespace outpost::test
