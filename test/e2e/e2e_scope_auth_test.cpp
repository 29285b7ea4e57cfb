// End to end over real sockets: the hub never leaks across token scopes and
// enforces the write rule (DESIGN.md sections 9 and 14). A real
// `outpost serve` on SQLite and, with OUTPOST_TEST_PG, on PostgreSQL holds
// households and visits of districts A and B; token `a` is scoped to A,
// token `b` to B. Every read route is tried as `a`, and every answer is
// scanned for anything of B (ids, revisions, bodies, in cursors and error
// messages too); a guessed B id must answer exactly as an id that never
// existed. Writes follow the write rule: creates need a body in scope, other
// writes a revision whose body is in scope, and a forged branch captures
// nothing.
#include <doctest/doctest.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "api/engine.h"
#include "api/json.h"
#include "api/revision.h"
#include "client/http_engine.h"
#include "e2e/processes.h"
#include "engine/backends.h"
#include "server/http_helpers.h"
#include "utils/text.h"

namespace {

using namespace outpost;
using namespace outpost::test;
namespace fs = std::filesystem;

const std::string kA = "ay-district";
const std::string kB = "bee-district";
const std::string kScopeA =
    "households: district = 'ay-district'; visits: district = 'ay-district'";
const std::string kScopeB =
    "households: district = 'bee-district'; visits: district = 'bee-district'";

Table households_table() {
  return Table{"households",
               {col("district", ValueType::string), col("status", ValueType::string),
                col("name", ValueType::string)}};
}
Table visits_table() {
  return Table{"visits", {col("household", ValueType::string), col("district", ValueType::string)}};
}
// A table token `a` may not read at all.
Table staff_table() { return Table{"staff", {col("salary_band", ValueType::string)}}; }

Attributes hh(const std::string& district, const std::string& status, const std::string& name) {
  return Attributes{{"district", str(district)}, {"status", str(status)}, {"name", str(name)}};
}
Attributes visit(const std::string& household, const std::string& district) {
  return Attributes{{"household", str(household)}, {"district", str(district)}};
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  if (from.empty()) return text;
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

std::string q(const std::string& text) { return percent_encode(text); }

// ------------------------------------------------------------------ JSON --

rapidjson::Document parse_json(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.c_str(), text.size());
  INFO("body: " << text);
  REQUIRE_FALSE(doc.HasParseError());
  return doc;
}

std::string str_member(const rapidjson::Value& v, const char* key) {
  if (!v.IsObject() || !v.HasMember(key) || !v[key].IsString()) return {};
  return std::string(v[key].GetString(), v[key].GetStringLength());
}

// ------------------------------------------------------------- the hub --

struct Reply {
  int status = 0;
  std::string body;
  std::string headers;  // "name: value\n", for the leak scan
  std::string code() const {
    if (status < 400) return "";
    rapidjson::Document doc;
    doc.Parse(body.c_str(), body.size());
    return doc.HasParseError() ? "(not json)" : str_member(doc, "error");
  }
};

struct Exchange {
  std::string method, target, body;
  Reply reply;
};

class Hub {
 public:
  Hub(const fs::path& dir, const std::string& url) : process_(dir, ServeOptions{url}) {
    const std::string& u = process_.url();
    port_ = std::stoi(u.substr(u.rfind(':') + 1));
    admin_token_ = process_.admin_token();
    REQUIRE_FALSE(admin_token_.empty());
    HttpClientOptions options;
    options.token = admin_token_;
    admin_ = open_http_engine(u, options);
  }

  Engine& admin() { return *admin_; }
  const std::string& admin_token() const { return admin_token_; }

  Reply call(const std::string& token, const std::string& method, const std::string& target,
             const std::string& body = "") {
    std::optional<http::Response> r = http::fetch(port_, method, target, body, token);
    INFO(method << " " << target);
    REQUIRE(r.has_value());
    Reply reply{r->status, r->body, ""};
    for (const auto& [k, v] : r->headers) reply.headers += k + ": " + v + "\n";
    return reply;
  }

  // Creates a scoped token through POST /v1/tokens; returns its secret.
  std::string create_token(const std::string& name, const std::string& scope,
                           const std::string& write_scope) {
    std::string body = R"({"name":")" + name + R"(","scope":")" + scope + R"(","write_scope":")" +
                       write_scope + R"("})";
    Reply r = call(admin_token_, "POST", "/v1/tokens", body);
    INFO("POST /v1/tokens " << body << " -> " << r.status << " " << r.body);
    REQUIRE(r.status == 201);
    rapidjson::Document doc = parse_json(r.body);
    std::string secret = str_member(doc, "secret");
    REQUIRE_FALSE(secret.empty());
    return secret;
  }

 private:
  ServeProcess process_;
  int port_ = 0;
  std::string admin_token_;
  std::unique_ptr<HttpEngine> admin_;
};

// One token's requests, every exchange kept for the leak scan.
class Session {
 public:
  Session(Hub& hub, std::string token) : hub_(hub), token_(std::move(token)) {}
  Reply get(const std::string& target) { return send("GET", target, ""); }
  Reply post(const std::string& target, const std::string& body) {
    return send("POST", target, body);
  }
  Reply put(const std::string& target, const std::string& body) {
    return send("PUT", target, body);
  }
  Reply del(const std::string& target) { return send("DELETE", target, ""); }
  Reply send(const std::string& method, const std::string& target, const std::string& body) {
    Reply r = hub_.call(token_, method, target, body);
    log_.push_back({method, target, body, r});
    return r;
  }
  const std::vector<Exchange>& log() const { return log_; }
  void add(Exchange e) { log_.push_back(std::move(e)); }

 private:
  Hub& hub_;
  std::string token_;
  std::vector<Exchange> log_;
};

// Nothing of `secrets` in any answer (body or header) whose request did not
// hold it itself.
void check_no_leak(const std::vector<Exchange>& log, const std::set<std::string>& secrets) {
  size_t leaks = 0;
  for (const Exchange& e : log) {
    for (const std::string& s : secrets) {
      if (e.target.find(s) != std::string::npos || e.body.find(s) != std::string::npos) continue;
      const bool leaked =
          e.reply.body.find(s) != std::string::npos || e.reply.headers.find(s) != std::string::npos;
      if (!leaked) continue;
      ++leaks;
      INFO("LEAK of " << s << "\n  request: " << e.method << " " << e.target << " " << e.body
                      << "\n  answer " << e.reply.status << ": " << e.reply.body);
      CHECK_FALSE(leaked);
    }
  }
  CHECK(leaks == 0);
}

// The same request for an existing out-of-scope id and for an id that never
// existed ("@ID@" in target and body stands for the id) answers the same,
// once the id is swapped.
void check_as_absent(Session& s, const std::string& method, const std::string& target,
                     const std::string& body, const std::string& hidden_id,
                     const std::string& absent_id) {
  Reply hidden =
      s.send(method, replace_all(target, "@ID@", hidden_id), replace_all(body, "@ID@", hidden_id));
  Reply absent =
      s.send(method, replace_all(target, "@ID@", absent_id), replace_all(body, "@ID@", absent_id));
  INFO(method << " " << target << " " << body << "\n  " << hidden_id << " -> " << hidden.status
              << " " << hidden.body << "\n  " << absent_id << " -> " << absent.status << " "
              << absent.body);
  CHECK(hidden.status == absent.status);
  CHECK(replace_all(hidden.body, hidden_id, absent_id) == absent.body);
}

// ------------------------------------------------------------ backends --

// Runs `body` once per hub backend (a SUBCASE each): SQLite always,
// PostgreSQL when OUTPOST_TEST_PG is set.
void on_hub_backends(const std::function<void(Hub& hub)>& body) {
  for (const TestBackend& backend : test_backends()) {
    SUBCASE(backend.name.c_str()) {
      const std::string& backend_name = backend.name;
      INFO("hub backend: " << backend_name);
      ScratchDir dir;
      std::unique_ptr<TestDatabase> pg;  // dropped after the server stops
      std::string url;
      if (backend.name == "sqlite") {
        url = "sqlite:" + (dir.path() / "hub.db").string();
      } else {
        pg = backend.create();
        REQUIRE(pg);
        url = pg->url();
      }
      Hub hub(dir.path(), url);
      body(hub);
    }
  }
}

// ---------------------------------------------------------------- world --

// A revision written straight into the hub by replication (an offline
// branch): parent = ancestry[0].
Revision push_branch(Engine& engine, const std::string& table, const std::string& id,
                     const std::vector<Revision>& ancestry, const Attributes& attributes,
                     bool deleted = false) {
  const Revision parent = ancestry.empty() ? Revision() : ancestry.front();
  const Attributes body = deleted ? Attributes{} : attributes;
  RemoteRevision r;
  r.table = table;
  r.id = id;
  r.revision = compute_revision(table, id, parent, deleted, body);
  r.deleted = deleted;
  r.attributes = body;
  r.ancestry = ancestry;
  std::vector<WriteResult> results = engine.write_replicated({r});
  REQUIRE(results.size() == 1);
  INFO(table << "/" << id << ": " << (results[0].error ? results[0].error->what() : "ok"));
  REQUIRE(results[0].ok());
  return r.revision;
}

// The hub's records, and what token `a` may and may not learn of them.
struct World {
  std::string a, b;                      // token secrets
  std::map<std::string, Revision> leaf;  // current winner (admin view) by id
  // Every id, revision and body value of district B that `a` must never
  // learn (ids of records once in A are not among them: `a` knew them).
  std::set<std::string> secrets;
  std::vector<std::string> hidden_ids;  // households never in A, now in B
  std::set<std::string> live_a;         // live households in A
  std::set<std::string> feed_a;         // households in A incl. deleted
  std::set<std::string> conflicted_a;   // households in A with conflicts

  void secret_rev(const Revision& r) { secrets.insert(r.str()); }
};

// The households and visits of both districts; tokens a, b.
World build_world(Hub& hub) {
  Engine& e = hub.admin();
  e.put_table(households_table());
  e.put_table(visits_table());
  e.put_table(staff_table());
  World w;
  w.secrets = {"bee-secret", kB, "salary_band", "top-secret-band", "staff", "st01"};
  auto put = [&](const std::string& id, const Revision& parent, const Attributes& attrs) {
    Revision r = put_record(e, "households", id, parent, attrs).revision;
    w.leaf[id] = r;
    return r;
  };

  // hh01: A.
  put("hh01", {}, hh(kA, "open", "ay-01"));
  // hh02: B.
  w.secret_rev(put("hh02", {}, hh(kB, "open", "bee-secret-02")));
  // hh03: A with a conflict (both branches A).
  Revision r03 = put("hh03", {}, hh(kA, "open", "ay-03"));
  put("hh03", r03, hh(kA, "open", "ay-03-main"));
  push_branch(e, "households", "hh03", {r03}, hh(kA, "open", "ay-03-branch"));
  // hh04: B with a conflict (both branches B).
  Revision r04 = put("hh04", {}, hh(kB, "open", "bee-secret-04"));
  w.secret_rev(r04);
  w.secret_rev(put("hh04", r04, hh(kB, "open", "bee-secret-04-main")));
  w.secret_rev(push_branch(e, "households", "hh04", {r04}, hh(kB, "open", "bee-secret-04-branch")));
  // hh05: A, deleted.
  Revision r05 = put("hh05", {}, hh(kA, "open", "ay-05"));
  w.leaf["hh05"] = delete_record(e, "households", "hh05", r05).revision;
  // hh06: B, deleted.
  Revision r06 = put("hh06", {}, hh(kB, "open", "bee-secret-06"));
  w.secret_rev(r06);
  w.leaf["hh06"] = delete_record(e, "households", "hh06", r06).revision;
  w.secret_rev(w.leaf["hh06"]);
  // hh07: A, moved to B (before `a` first reads).
  Revision r07 = put("hh07", {}, hh(kA, "open", "ay-07"));
  w.secret_rev(put("hh07", r07, hh(kB, "open", "bee-secret-07-moved")));
  // hh08: B, moved to A (its history is A's now).
  Revision r08 = put("hh08", {}, hh(kB, "open", "was-bee-08"));
  put("hh08", r08, hh(kA, "open", "ay-08"));
  // hh09: A, closed.
  put("hh09", {}, hh(kA, "closed", "ay-09"));
  // hh10: A (moved to B later).
  put("hh10", {}, hh(kA, "open", "ay-10"));
  // hh11: B, with a losing conflict branch whose body is in A: its winner
  // always was B here, but a database where that branch wins holds it in
  // A, so `a` may be told of its id in a removed entry (DESIGN.md section
  // 14: "once had a matching revision"); never of its B revisions or bodies.
  Revision r11 = put("hh11", {}, hh(kB, "open", "bee-secret-11"));
  w.secret_rev(r11);
  Revision r11b = put("hh11", r11, hh(kB, "open", "bee-secret-11-v2"));
  w.secret_rev(r11b);
  w.secret_rev(put("hh11", r11b, hh(kB, "open", "bee-secret-11-v3")));
  w.secret_rev(push_branch(e, "households", "hh11", {r11}, hh(kA, "open", "bee-secret-11-in-a")));
  // hh12: B (moved to A later).
  w.leaf["hh12"] = put("hh12", {}, hh(kB, "open", "was-bee-12"));

  // Visits.
  Revision v1 = put_record(e, "visits", "vv01", {}, visit("hh01", kA)).revision;
  w.leaf["vv01"] = v1;
  Revision v2 = put_record(e, "visits", "vv02", {}, visit("bee-secret-v02", kB)).revision;
  w.secret_rev(v2);
  w.leaf["vv02"] = v2;
  Revision v3 = put_record(e, "visits", "vv03", {}, visit("bee-secret-v03", kB)).revision;
  w.secret_rev(v3);
  w.leaf["vv03"] = v3;
  // Staff: unreadable for both scoped tokens.
  put_record(e, "staff", "st01", {}, Attributes{{"salary_band", str("top-secret-band")}});

  w.hidden_ids = {"hh02", "hh04", "hh06", "hh11"};
  for (const std::string& id : w.hidden_ids) {
    if (id != "hh11") w.secrets.insert(id);
  }
  w.secrets.insert("vv02");
  w.secrets.insert("vv03");
  w.live_a = {"hh01", "hh03", "hh08", "hh09", "hh10"};
  w.feed_a = {"hh01", "hh03", "hh05", "hh08", "hh09", "hh10"};
  w.conflicted_a = {"hh03"};

  w.a = hub.create_token("a", kScopeA, kScopeA);
  w.b = hub.create_token("b", kScopeB, kScopeB);
  return w;
}

// Absent ids: the same length as the hidden ones, never written.
std::string absent_of(const std::string& id) { return "qq" + id.substr(2); }

// Every page of a list route, following `next` (checked against `allowed`).
std::vector<std::string> list_all_ids(Session& s, const std::string& base, size_t limit,
                                      const std::set<std::string>& allowed_cursor_ids) {
  std::vector<std::string> ids;
  std::string after;
  for (int pages = 0; pages < 100; ++pages) {
    const std::string sep = base.find('?') == std::string::npos ? "?" : "&";
    Reply r = s.get(base + sep + "limit=" + std::to_string(limit) +
                    (after.empty() ? "" : "&after=" + q(after)));
    INFO(base << " -> " << r.body);
    REQUIRE(r.status == 200);
    rapidjson::Document doc = parse_json(r.body);
    const char* key = doc.HasMember("records") ? "records" : "conflicts";
    if (doc.HasMember("entries")) key = "entries";
    REQUIRE(doc.HasMember(key));
    for (const auto& rec : doc[key].GetArray()) ids.push_back(str_member(rec, "id"));
    std::string next = str_member(doc, "next");
    if (next.empty()) break;
    // The cursor names a record this token may read ("table/id" for conflicts).
    std::string next_id = next.substr(next.rfind('/') + 1);
    CHECK_MESSAGE(allowed_cursor_ids.contains(next_id), "cursor " << next);
    after = next;
  }
  return ids;
}

struct FeedEntry {
  std::string table, id, revision;
  bool removed = false;
};

// The feed from `since`, page by page, until a page comes back empty.
std::vector<FeedEntry> read_feed(Session& s, std::string& since, const std::string& extra,
                                 size_t limit) {
  std::vector<FeedEntry> out;
  for (int pages = 0; pages < 200; ++pages) {
    Reply r = s.get("/v1/changes?limit=" + std::to_string(limit) + "&since=" + q(since) + extra);
    INFO("changes since " << since << extra << " -> " << r.body);
    REQUIRE(r.status == 200);
    rapidjson::Document doc = parse_json(r.body);
    REQUIRE(doc.HasMember("results"));
    size_t n = 0;
    for (const auto& c : doc["results"].GetArray()) {
      FeedEntry e{str_member(c, "table"), str_member(c, "id"), str_member(c, "revision"),
                  c.HasMember("removed") && c["removed"].IsTrue()};
      out.push_back(e);
      ++n;
    }
    since = str_member(doc, "last_seq");
    REQUIRE_FALSE(since.empty());
    if (n == 0) break;
  }
  return out;
}

std::string feed_text(const std::vector<FeedEntry>& entries) {
  std::string out;
  for (const FeedEntry& e : entries) {
    out += e.table + "/" + e.id + (e.removed ? " removed" : " " + e.revision) + "\n";
  }
  return out;
}

std::set<std::string> ids_of(const std::vector<FeedEntry>& entries, const std::string& table,
                             bool removed) {
  std::set<std::string> out;
  for (const FeedEntry& e : entries) {
    if (e.table == table && e.removed == removed) out.insert(e.id);
  }
  return out;
}

std::string revs_diff_body(const std::string& table, const std::string& id,
                           const std::vector<std::string>& revs) {
  std::string body = R"({")" + table + R"(":{")" + id + R"(":[)";
  for (size_t i = 0; i < revs.size(); ++i) body += (i ? "," : "") + ("\"" + revs[i] + "\"");
  return body + "]}}";
}

std::string bulk_get_body(const std::string& table, const std::string& id, const std::string& rev,
                          const std::vector<std::string>& known = {}) {
  std::string body = R"({"docs":[{"table":")" + table + R"(","id":")" + id + "\"";
  if (!rev.empty()) body += R"(,"rev":")" + rev + "\"";
  if (!known.empty()) {
    body += R"(,"known":[)";
    for (size_t i = 0; i < known.size(); ++i) body += (i ? "," : "") + ("\"" + known[i] + "\"");
    body += "]";
  }
  return body + "}]}";
}

std::string record_path(const std::string& id, const std::string& table = "households") {
  return "/v1/tables/" + table + "/records/" + id;
}

std::string put_body(const Revision& parent, const Attributes& attrs) {
  std::string body = "{";
  if (!parent.empty()) body += R"("revision":")" + parent.str() + "\",";
  return body + R"("attributes":)" + attributes_to_json(attrs) + "}";
}

// The admin's full view of a record: winner, body, conflicts, leaves.
std::string admin_view(Hub& hub, const std::string& id, const std::string& table = "households") {
  Reply r = hub.call(hub.admin_token(), "GET", record_path(id, table) + "?conflicts=true");
  Reply leaves = hub.call(hub.admin_token(), "POST", "/v1/revs_diff",
                          revs_diff_body(table, id, {"1-00000000000000000000000000000000"}));
  return std::to_string(r.status) + " " + r.body + " leaves " + leaves.body;
}

}  // namespace

// ------------------------------------------------------------------ tests --

TEST_CASE("e2e scope auth: token a learns nothing of district B through any read route") {
  on_hub_backends([](Hub& hub) {
    World w = build_world(hub);
    Session a(hub, w.a);
    std::set<std::string> known_a = w.feed_a;  // ids `a` may see in cursors

    // GET /v1: a's own scope only.
    {
      Reply r = a.get("/v1");
      REQUIRE(r.status == 200);
      rapidjson::Document doc = parse_json(r.body);
      REQUIRE(doc.HasMember("token"));
      CHECK(str_member(doc["token"], "name") == "a");
      CHECK(str_member(doc["token"], "scope").find(kA) != std::string::npos);
      CHECK(str_member(doc["token"], "write_scope").find(kA) != std::string::npos);
      CHECK_FALSE(str_member(doc["token"], "scope_fingerprint").empty());
    }
    // Tables: the readable ones only.
    {
      Reply r = a.get("/v1/tables");
      REQUIRE(r.status == 200);
      CHECK(r.body.find("households") != std::string::npos);
      CHECK(r.body.find("visits") != std::string::npos);
      a.get("/v1/tables/households");
      a.get("/v1/tables/staff");
      a.get("/v1/tables/staff/records");
      a.get(record_path("st01", "staff"));
      // Admin routes refuse; /metrics holds nothing of B either.
      CHECK(a.get("/v1/tokens").code() == "forbidden");
      CHECK(a.get("/v1/tokens/b").code() == "forbidden");
      CHECK(a.get("/v1/peers").code() == "forbidden");
      a.get("/metrics");
    }

    // Lists, every page size, following `next`.
    for (size_t limit : {1, 2, 3, 1000}) {
      std::vector<std::string> ids =
          list_all_ids(a, "/v1/tables/households/records", limit, w.live_a);
      CHECK(std::set<std::string>(ids.begin(), ids.end()) == w.live_a);
      CHECK(ids.size() == w.live_a.size());
      std::vector<std::string> visits =
          list_all_ids(a, "/v1/tables/visits/records", limit, {"vv01"});
      CHECK(visits == std::vector<std::string>{"vv01"});
    }
    // after= a hidden id pages on as after an absent one would.
    for (const std::string& id : w.hidden_ids) {
      a.get("/v1/tables/households/records?limit=1&after=" + id);
    }

    // One record, each way.
    for (const std::string& id : w.live_a) {
      for (const char* query :
           {"", "?conflicts=true", "?ancestry=true", "?conflicts=true&ancestry=true"}) {
        Reply r = a.get(record_path(id) + query);
        CHECK(r.status == 200);
      }
      a.get(record_path(id) + "?rev=" + w.leaf[id].str() + "&ancestry=true");
    }
    a.get(record_path("hh05"));
    a.get(record_path("hh05") + "?rev=" + w.leaf["hh05"].str());

    // Conflicts: hh03 only, paged.
    for (size_t limit : {1, 2, 1000}) {
      std::vector<std::string> all = list_all_ids(a, "/v1/conflicts", limit, w.conflicted_a);
      CHECK(std::set<std::string>(all.begin(), all.end()) == w.conflicted_a);
      std::vector<std::string> some =
          list_all_ids(a, "/v1/conflicts?table=households", limit, w.conflicted_a);
      CHECK(std::set<std::string>(some.begin(), some.end()) == w.conflicted_a);
      CHECK(list_all_ids(a, "/v1/conflicts?table=visits", limit, {}).empty());
    }
    a.get("/v1/conflicts?table=staff");

    // The feed from the beginning, whole and one entry at a time.
    std::string since_all;
    std::string since;
    for (size_t limit : {1, 2, 10000}) {
      since = "";
      std::vector<FeedEntry> feed = read_feed(a, since, "", limit);
      CHECK(ids_of(feed, "households", false) == w.feed_a);
      CHECK(ids_of(feed, "households", true).empty());
      CHECK(ids_of(feed, "visits", false) == std::set<std::string>{"vv01"});
      CHECK(ids_of(feed, "staff", false).empty());
      since_all = since;
    }
    {
      std::string s2;
      std::vector<FeedEntry> feed = read_feed(a, s2, "&tables=households", 1);
      CHECK(ids_of(feed, "households", false) == w.feed_a);
      CHECK(a.get("/v1/changes?tables=staff").code() == "forbidden");
      CHECK(a.get("/v1/changes?tables=visits,staff").code() == "forbidden");
    }
    const std::string mark = since_all;

    // B-side edits by the admin, and two moves.
    Engine& e = hub.admin();
    w.secret_rev(
        put_record(e, "households", "hh02", w.leaf["hh02"], hh(kB, "open", "bee-secret-02-v2"))
            .revision);
    w.secret_rev(push_branch(e, "households", "hh04", {w.leaf["hh04"]},
                             hh(kB, "open", "bee-secret-04-branch2")));
    w.secret_rev(delete_record(e, "visits", "vv03", w.leaf["vv03"]).revision);
    Revision r14 =
        put_record(e, "households", "hh14", {}, hh(kB, "open", "bee-secret-14")).revision;
    w.secret_rev(r14);
    w.secrets.insert("hh14");
    w.leaf["hh14"] = r14;
    w.hidden_ids.push_back("hh14");
    // hh11 (B, with a losing A branch) changes on its B side.
    {
      Record r11 = must_get(e, "households", "hh11");
      w.secret_rev(
          put_record(e, "households", "hh11", r11.revision, hh(kB, "open", "bee-secret-11-v4"))
              .revision);
    }
    // hh07 (moved to B before) changes again: `a` knew it, a removed entry is fine.
    {
      Record r07 = must_get(e, "households", "hh07");
      w.secret_rev(
          put_record(e, "households", "hh07", r07.revision, hh(kB, "open", "bee-secret-07-v3"))
              .revision);
    }
    w.secret_rev(
        put_record(e, "households", "hh10", w.leaf["hh10"], hh(kB, "open", "bee-secret-10-moved"))
            .revision);
    Revision r12 =
        put_record(e, "households", "hh12", w.leaf["hh12"], hh(kA, "open", "ay-12")).revision;
    w.leaf["hh12"] = r12;
    known_a.insert("hh12");

    // Incremental: hh10 and hh07 removed, hh12 arrived, nothing else.
    for (size_t limit : {1, 3, 10000}) {
      since = mark;
      std::vector<FeedEntry> feed = read_feed(a, since, "", limit);
      INFO("incremental feed since " << mark << " (limit " << limit << "):\n" << feed_text(feed));
      CHECK(ids_of(feed, "households", false) == std::set<std::string>{"hh12"});
      std::set<std::string> removed = ids_of(feed, "households", true);
      CHECK(removed.contains("hh10"));
      // hh11 may be named (a revision of it had a body in A), nothing else.
      for (const std::string& id : removed) {
        CHECK_MESSAGE((id == "hh10" || id == "hh07" || id == "hh11"), "removed entry for " << id);
      }
      CHECK(ids_of(feed, "visits", false).empty());
      CHECK(ids_of(feed, "visits", true).empty());
      for (const FeedEntry& f : feed) {
        if (f.removed) CHECK(f.revision.empty());
      }
    }
    // From the beginning again: the new state, no removed entries.
    {
      std::string s0;
      std::vector<FeedEntry> feed = read_feed(a, s0, "", 2);
      std::set<std::string> expected = w.feed_a;
      expected.erase("hh10");
      expected.insert("hh12");
      CHECK(ids_of(feed, "households", false) == expected);
      CHECK(ids_of(feed, "households", true).empty());
      since = s0;
    }

    // Long-poll: nothing of B wakes it with anything; a B edit meanwhile
    // delivers nothing of B.
    {
      Reply r = a.get("/v1/changes?feed=longpoll&timeout_ms=200&since=" + q(since));
      CHECK(r.status == 200);
      rapidjson::Document doc = parse_json(r.body);
      CHECK(doc["results"].GetArray().Size() == 0);
      Reply polled;
      std::thread poller([&] {
        polled =
            hub.call(w.a, "GET", "/v1/changes?feed=longpoll&timeout_ms=1500&since=" + q(since));
      });
      Record r02 = must_get(e, "households", "hh02");
      Revision v3 =
          put_record(e, "households", "hh02", r02.revision, hh(kB, "open", "bee-secret-02-v3"))
              .revision;
      poller.join();
      w.secret_rev(v3);
      a.add({"GET", "/v1/changes?feed=longpoll&timeout_ms=1500&since=" + q(since), "", polled});
      CHECK(polled.status == 200);
      rapidjson::Document pd = parse_json(polled.body);
      CHECK(pd["results"].GetArray().Size() == 0);
      a.get("/v1/changes?feed=longpoll&timeout_ms=100&since=" + q(str_member(pd, "last_seq")));
    }

    // Guessed ids: each hidden id answers as an id that never existed.
    for (const std::string& id : w.hidden_ids) {
      const std::string absent = absent_of(id);
      Record full = must_get(e, "households", id);
      const std::string rev = full.revision.str();
      const std::string first =
          "1-" + full.revision.str().substr(full.revision.str().find('-') + 1);
      for (const std::string& query :
           {std::string(""), std::string("?conflicts=true"), std::string("?ancestry=true"),
            "?rev=" + rev, "?rev=" + rev + "&conflicts=true&ancestry=true"}) {
        check_as_absent(a, "GET", "/v1/tables/households/records/@ID@" + query, "", id, absent);
      }
      check_as_absent(a, "POST", "/v1/revs_diff",
                      revs_diff_body("households", "@ID@", {rev, first}), id, absent);
      check_as_absent(a, "POST", "/v1/bulk_get", bulk_get_body("households", "@ID@", rev), id,
                      absent);
      check_as_absent(a, "POST", "/v1/bulk_get", bulk_get_body("households", "@ID@", ""), id,
                      absent);
      check_as_absent(a, "POST", "/v1/bulk_get", bulk_get_body("households", "@ID@", rev, {first}),
                      id, absent);
      a.get("/v1/conflicts?limit=1&after=households%2F" + id);
    }
    for (const std::string& id : {"vv02", "vv03"}) {
      check_as_absent(a, "GET", "/v1/tables/visits/records/@ID@", "", id, absent_of(id));
      check_as_absent(a, "POST", "/v1/revs_diff", revs_diff_body("visits", "@ID@", {}), id,
                      absent_of(id));
      check_as_absent(a, "POST", "/v1/bulk_get", bulk_get_body("visits", "@ID@", ""), id,
                      absent_of(id));
    }
    // B revisions asked of A records answer as invented revisions do.
    {
      const std::string b_rev = must_get(e, "households", "hh02").revision.str();
      const std::string fake = b_rev.substr(0, b_rev.find('-') + 1) + std::string(32, 'a');
      Reply real_rev = a.get(record_path("hh01") + "?rev=" + b_rev);
      Reply fake_rev = a.get(record_path("hh01") + "?rev=" + fake);
      CHECK(real_rev.status == fake_rev.status);
      CHECK(replace_all(real_rev.body, b_rev, fake) == fake_rev.body);
      Reply d1 = a.post("/v1/revs_diff", revs_diff_body("households", "hh01", {b_rev}));
      Reply d2 = a.post("/v1/revs_diff", revs_diff_body("households", "hh01", {fake}));
      CHECK(replace_all(d1.body, b_rev, fake) == d2.body);
      Reply g1 = a.post("/v1/bulk_get", bulk_get_body("households", "hh01", b_rev));
      Reply g2 = a.post("/v1/bulk_get", bulk_get_body("households", "hh01", fake));
      CHECK(g1.status == g2.status);
      CHECK(replace_all(g1.body, b_rev, fake) == g2.body);
      // Revisions of B records in the known list of an A record.
      a.post("/v1/bulk_get", bulk_get_body("households", "hh01", w.leaf["hh01"].str(), {b_rev}));
    }
    // A forged scan cursor naming a hidden id.
    a.get("/v1/changes?limit=2&since=" + q("scan/" + mark + "/households/hh02"));

    // Sanity: the data is there for b.
    {
      Reply r = hub.call(w.b, "GET", record_path("hh02"));
      CHECK(r.status == 200);
      CHECK(r.body.find("bee-secret-02") != std::string::npos);
    }
    check_no_leak(a.log(), w.secrets);
  });
}

TEST_CASE("e2e scope auth: a create on an existing B id is forbidden and reveals nothing more") {
  on_hub_backends([](Hub& hub) {
    World w = build_world(hub);
    Session a(hub, w.a);
    const std::string before02 = admin_view(hub, "hh02");
    const std::string before06 = admin_view(hub, "hh06");
    // hh02 (live) and hh06 (deleted) exist in B; qq02 never existed.
    for (const std::string& id : {"hh02", "hh06"}) {
      const std::string absent = absent_of(id);
      Reply taken = a.put(record_path(id), put_body({}, hh(kA, "open", "ay-create")));
      Reply b_body = a.put(record_path(absent), put_body({}, hh(kB, "open", "ay-create")));
      INFO(id << ": " << taken.status << " " << taken.body << "\n"
              << absent << ": " << b_body.status << " " << b_body.body);
      CHECK(taken.status == 403);
      CHECK(taken.code() == "forbidden");
      CHECK(b_body.status == 403);
      CHECK(replace_all(taken.body, id, absent) == b_body.body);
      // The same in a batch.
      const std::string batch = R"({"new_edits":true,"docs":[{"table":"households","id":"@ID@",)"
                                R"("attributes":)" +
                                attributes_to_json(hh(kA, "open", "ay-create")) + "}]}";
      const std::string batch_b = R"({"new_edits":true,"docs":[{"table":"households","id":"@ID@",)"
                                  R"("attributes":)" +
                                  attributes_to_json(hh(kB, "open", "ay-create")) + "}]}";
      Reply t2 = a.post("/v1/bulk_docs", replace_all(batch, "@ID@", id));
      Reply b2 = a.post("/v1/bulk_docs", replace_all(batch_b, "@ID@", absent));
      INFO(t2.body << "\n" << b2.body);
      CHECK(t2.status == 200);
      CHECK(t2.body.find("forbidden") != std::string::npos);
      CHECK(replace_all(t2.body, id, absent) == b2.body);
    }
    // POST with a generated id and a B body: forbidden too.
    Reply gen =
        a.post("/v1/tables/households/records", put_body({}, hh(kB, "open", "ay-generated")));
    CHECK(gen.status == 403);
    CHECK(gen.code() == "forbidden");
    // A create in A still works.
    Reply ok = a.put(record_path("hh30"), put_body({}, hh(kA, "open", "ay-30")));
    CHECK(ok.status == 200);
    // Nothing changed on B's side.
    CHECK(admin_view(hub, "hh02") == before02);
    CHECK(admin_view(hub, "hh06") == before06);
    CHECK(hub.call(hub.admin_token(), "GET", record_path("qq02")).status == 404);
    check_no_leak(a.log(), w.secrets);
  });
}

TEST_CASE("e2e scope auth: writes to B are forbidden; a move to B is allowed and leaves a's view") {
  on_hub_backends([](Hub& hub) {
    World w = build_world(hub);
    Session a(hub, w.a);
    Engine& e = hub.admin();
    const std::string before02 = admin_view(hub, "hh02");
    const std::string before04 = admin_view(hub, "hh04");
    const Revision b02 = w.leaf["hh02"];
    const Revision b04 = must_get(e, "households", "hh04").revision;

    // PUT on the B leaf (A body and B body), DELETE, resolve: forbidden.
    for (const Attributes& body : {hh(kA, "open", "ay-capture"), hh(kB, "open", "bee-edit")}) {
      Reply r = a.put(record_path("hh02"), put_body(b02, body));
      CHECK(r.status == 403);
      CHECK(r.code() == "forbidden");
    }
    {
      Reply r = a.del(record_path("hh02") + "?revision=" + b02.str());
      CHECK(r.status == 403);
      CHECK(r.code() == "forbidden");
      Reply d4 = a.del(record_path("hh04") + "?revision=" + b04.str());
      CHECK(d4.code() == "forbidden");
      Reply res = a.post(record_path("hh04") + "/resolve", put_body(b04, hh(kA, "open", "ay-res")));
      CHECK(res.status == 403);
      CHECK(res.code() == "forbidden");
      // The same refusal text as a create refused for a B body (id swapped).
      Reply created = a.put(record_path("qq02"), put_body({}, hh(kB, "open", "x")));
      CHECK(replace_all(r.body, "hh02", "qq02") == created.body);
      // A stale (non-leaf) or no parent on a B record: forbidden as well.
      Reply none = a.put(record_path("hh02"), put_body({}, hh(kA, "open", "ay-capture")));
      CHECK(none.code() == "forbidden");
      Reply deleted = a.put(record_path("hh06"), put_body(w.leaf["hh06"], hh(kA, "open", "ay-r")));
      CHECK(deleted.code() == "forbidden");
      // In a batch: the B edit refused, the A edit beside it applied.
      const std::string batch =
          R"({"new_edits":true,"docs":[{"table":"households","id":"hh02","revision":")" +
          b02.str() + R"(","attributes":)" + attributes_to_json(hh(kA, "open", "ay-capture")) +
          R"(},{"table":"households","id":"hh01","revision":")" + w.leaf["hh01"].str() +
          R"(","attributes":)" + attributes_to_json(hh(kA, "open", "ay-01-v2")) + "}]}";
      Reply br = a.post("/v1/bulk_docs", batch);
      REQUIRE(br.status == 200);
      std::vector<WriteResult> results = write_results_from_json(br.body);
      REQUIRE(results.size() == 2);
      CHECK(code_of(results[0]) == ErrorCode::forbidden);
      CHECK(results[1].ok());
      w.leaf["hh01"] = results[1].revision;
      // A visit of B, by id, in the other table.
      Reply v = a.del(record_path("vv02", "visits") + "?revision=" + w.leaf["vv02"].str());
      CHECK(v.code() == "forbidden");
    }
    CHECK(admin_view(hub, "hh02") == before02);
    CHECK(admin_view(hub, "hh04") == before04);

    // Moving an A record to B: allowed; then a reads it as absent, b reads it.
    {
      Reply moved =
          a.put(record_path("hh01"), put_body(w.leaf["hh01"], hh(kB, "open", "bee-moved")));
      INFO(moved.body);
      REQUIRE(moved.status == 200);
      rapidjson::Document doc = parse_json(moved.body);
      const Revision after_move = Revision::parse(str_member(doc, "revision"));
      for (const std::string& query :
           {std::string(""), std::string("?conflicts=true"), "?rev=" + after_move.str()}) {
        check_as_absent(a, "GET", "/v1/tables/households/records/@ID@" + query, "", "hh01", "qq01");
      }
      Reply b_sees = hub.call(w.b, "GET", record_path("hh01"));
      CHECK(b_sees.status == 200);
      CHECK(b_sees.body.find("bee-moved") != std::string::npos);
      // It left a's lists; the feed says removed.
      std::vector<std::string> ids = list_all_ids(a, "/v1/tables/households/records", 1000, {});
      CHECK(std::find(ids.begin(), ids.end(), "hh01") == ids.end());
      // And a may no longer write it.
      Reply again = a.put(record_path("hh01"), put_body(after_move, hh(kA, "open", "ay-back")));
      CHECK(again.code() == "forbidden");
      CHECK(must_get(e, "households", "hh01").revision == after_move);
    }

    // An edit made on a device before its record moved to B still arrives,
    // as a conflict.
    {
      Reply created = a.put(record_path("hh20"), put_body({}, hh(kA, "open", "ay-20")));
      REQUIRE(created.status == 200);
      const Revision r1 = Revision::parse(str_member(parse_json(created.body), "revision"));
      // The device edits twice offline.
      const Attributes d2 = hh(kA, "open", "ay-20-device-1");
      const Attributes d3 = hh(kA, "closed", "ay-20-device-2");
      const Revision dev2 = compute_revision("households", "hh20", r1, false, d2);
      const Revision dev3 = compute_revision("households", "hh20", dev2, false, d3);
      // Meanwhile the hub moves it to B (the admin).
      const Revision moved =
          put_record(e, "households", "hh20", r1, hh(kB, "open", "bee-secret-20")).revision;
      RemoteRevision push;
      push.table = "households";
      push.id = "hh20";
      push.revision = dev3;
      push.attributes = d3;
      push.ancestry = {dev2, r1};
      Reply pushed = a.post("/v1/bulk_docs", bulk_docs_request_to_json(std::vector{push}));
      INFO(pushed.body);
      REQUIRE(pushed.status == 200);
      std::vector<WriteResult> results = write_results_from_json(pushed.body);
      REQUIRE(results.size() == 1);
      CHECK(results[0].ok());
      GetOptions options;
      options.conflicts = true;
      Record held = must_get(e, "households", "hh20", options);
      std::set<std::string> leaves{held.revision.str()};
      for (const Revision& c : held.conflicts.value_or(std::vector<Revision>{})) {
        leaves.insert(c.str());
      }
      CHECK(leaves == std::set<std::string>{moved.str(), dev3.str()});
      // gen 3 beats gen 2: the device's A edit wins, so hh20 is in A again.
      CHECK(held.revision == dev3);
    }
    // The same with the move made by a itself and a single offline edit.
    {
      Reply created = a.put(record_path("hh21"), put_body({}, hh(kA, "open", "ay-21")));
      REQUIRE(created.status == 200);
      const Revision r1 = Revision::parse(str_member(parse_json(created.body), "revision"));
      const Attributes d2 = hh(kA, "open", "ay-21-device");
      const Revision dev2 = compute_revision("households", "hh21", r1, false, d2);
      Reply moved = a.put(record_path("hh21"), put_body(r1, hh(kB, "open", "bee-secret-21")));
      REQUIRE(moved.status == 200);
      const Revision moved_rev = Revision::parse(str_member(parse_json(moved.body), "revision"));
      RemoteRevision push;
      push.table = "households";
      push.id = "hh21";
      push.revision = dev2;
      push.attributes = d2;
      push.ancestry = {r1};
      Reply pushed = a.post("/v1/bulk_docs", bulk_docs_request_to_json(std::vector{push}));
      std::vector<WriteResult> results = write_results_from_json(pushed.body);
      REQUIRE(results.size() == 1);
      CHECK(results[0].ok());
      Reply view = hub.call(hub.admin_token(), "GET", record_path("hh21") + "?conflicts=true");
      INFO(view.body);
      REQUIRE(view.status == 200);
      rapidjson::Document doc = parse_json(view.body);
      std::set<std::string> leaves{str_member(doc, "revision")};
      if (doc.HasMember("conflicts")) {
        for (const auto& c : doc["conflicts"].GetArray()) leaves.insert(c.GetString());
      }
      CHECK(leaves == std::set<std::string>{moved_rev.str(), dev2.str()});
    }
    check_no_leak(a.log(), w.secrets);
  });
}

TEST_CASE("e2e scope auth: a forged branch cannot capture a B record") {
  on_hub_backends([](Hub& hub) {
    World w = build_world(hub);
    Session a(hub, w.a);
    Engine& e = hub.admin();
    std::map<std::string, std::string> before;
    for (const std::string& id : {"hh02", "hh04", "hh06", "hh11"}) before[id] = admin_view(hub, id);
    std::string feed_mark;
    read_feed(a, feed_mark, "", 10000);

    auto push_one = [&](const RemoteRevision& r) {
      Reply pushed = a.post("/v1/bulk_docs", bulk_docs_request_to_json(std::vector{r}));
      INFO(pushed.body);
      REQUIRE(pushed.status == 200);
      std::vector<WriteResult> results = write_results_from_json(pushed.body);
      REQUIRE(results.size() == 1);
      return results[0];
    };
    const Attributes a_body = hh(kA, "open", "ay-forged");
    WriteResult refused_root;
    for (const std::string& id : {"hh02", "hh04", "hh06", "hh11"}) {
      INFO("forging " << id);
      // A new root with an A body.
      RemoteRevision root;
      root.table = "households";
      root.id = id;
      root.revision = compute_revision("households", id, Revision(), false, a_body);
      root.attributes = a_body;
      WriteResult r1 = push_one(root);
      CHECK(code_of(r1) == ErrorCode::forbidden);
      // The same forged root for an id that never existed is allowed; so
      // compare with a B-bodied root there instead (both refused alike).
      RemoteRevision absent_root = root;
      absent_root.id = absent_of(id);
      absent_root.attributes = hh(kB, "open", "ay-forged");
      absent_root.revision =
          compute_revision("households", absent_root.id, Revision(), false, absent_root.attributes);
      WriteResult r1b = push_one(absent_root);
      CHECK(code_of(r1b) == ErrorCode::forbidden);
      if (r1.error && r1b.error) {
        CHECK(replace_all(r1.error->what(), id, absent_root.id) == std::string(r1b.error->what()));
      }
      // A long branch: invented ancestors above a real B revision.
      const Revision real_root = [&] {
        Reply anc = hub.call(hub.admin_token(), "GET", record_path(id) + "?ancestry=true");
        rapidjson::Document doc = parse_json(anc.body);
        std::string last = str_member(doc, "revision");
        if (doc.HasMember("ancestry")) {
          for (const auto& x : doc["ancestry"].GetArray()) last = x.GetString();
        }
        return Revision::parse(last);
      }();
      const Revision inv2 =
          compute_revision("households", id, real_root, false, hh(kA, "open", "invented-2"));
      const Revision inv3 =
          compute_revision("households", id, inv2, false, hh(kA, "open", "invented-3"));
      RemoteRevision deep;
      deep.table = "households";
      deep.id = id;
      deep.revision = compute_revision("households", id, inv3, false, a_body);
      deep.attributes = a_body;
      deep.ancestry = {inv3, inv2, real_root};
      CHECK(code_of(push_one(deep)) == ErrorCode::forbidden);
      // A very long invented path (past the one-by-one lookups).
      RemoteRevision longer = deep;
      std::vector<Revision> path{real_root};
      Revision parent = real_root;
      for (int i = 0; i < 30; ++i) {
        parent = compute_revision("households", id, parent, false,
                                  hh(kA, "open", "invented-long-" + std::to_string(i)));
        path.insert(path.begin(), parent);
      }
      longer.revision = compute_revision("households", id, parent, false, a_body);
      longer.ancestry = path;
      CHECK(code_of(push_one(longer)) == ErrorCode::forbidden);
      // A forged deletion of the B leaf that claims an A parent body.
      const Revision leaf = must_get(e, "households", id).revision;
      RemoteRevision del;
      del.table = "households";
      del.id = id;
      del.deleted = true;
      del.revision = compute_revision("households", id, leaf, true, Attributes{});
      del.ancestry = {leaf};
      del.parent_attributes = a_body;
      CHECK(code_of(push_one(del)) == ErrorCode::forbidden);
      // A local edit claiming an invented parent.
      Reply local = a.put(record_path(id), put_body(inv3, a_body));
      CHECK(local.code() == "forbidden");
    }
    // A legitimate push beside forged ones in one batch.
    {
      RemoteRevision forged;
      forged.table = "households";
      forged.id = "hh02";
      forged.attributes = hh(kA, "open", "ay-forged-batch");
      forged.revision =
          compute_revision("households", "hh02", Revision(), false, forged.attributes);
      RemoteRevision fine;
      fine.table = "households";
      fine.id = "hh40";
      fine.attributes = hh(kA, "open", "ay-40");
      fine.revision = compute_revision("households", "hh40", Revision(), false, fine.attributes);
      Reply pushed = a.post("/v1/bulk_docs", bulk_docs_request_to_json(std::vector{forged, fine}));
      std::vector<WriteResult> results = write_results_from_json(pushed.body);
      REQUIRE(results.size() == 2);
      CHECK(code_of(results[0]) == ErrorCode::forbidden);
      CHECK(results[1].ok());
    }

    // The admin sees the B records unchanged.
    for (const auto& [id, view] : before) {
      INFO(id);
      CHECK(admin_view(hub, id) == view);
    }
    // And a never sees them, nor their branches.
    std::string since = feed_mark;
    std::vector<FeedEntry> incremental = read_feed(a, since, "", 10000);
    for (const FeedEntry& f : incremental) CHECK(f.id != "hh02");
    std::string from_start;
    std::vector<FeedEntry> all = read_feed(a, from_start, "", 10000);
    std::set<std::string> expected = w.feed_a;
    expected.insert("hh40");
    CHECK(ids_of(all, "households", false) == expected);
    for (const std::string& id : {"hh02", "hh04", "hh06", "hh11"}) {
      check_as_absent(a, "GET", "/v1/tables/households/records/@ID@?conflicts=true", "", id,
                      absent_of(id));
      check_as_absent(a, "POST", "/v1/revs_diff", revs_diff_body("households", "@ID@", {}), id,
                      absent_of(id));
    }
    std::vector<std::string> conflicts = list_all_ids(a, "/v1/conflicts", 1000, w.conflicted_a);
    CHECK(std::set<std::string>(conflicts.begin(), conflicts.end()) == w.conflicted_a);
    check_no_leak(a.log(), w.secrets);
  });
}

TEST_CASE("e2e scope auth: scope= narrows a token's scope and never widens it") {
  on_hub_backends([](Hub& hub) {
    World w = build_world(hub);
    Session a(hub, w.a);
    const std::string to_b =
        "households: district = 'bee-district'; visits: district = 'bee-district'";
    const std::string everything = "households: *; visits: *";
    const std::string open_only = "households: status = 'open'";

    // Widening to B: nothing at all.
    for (const std::string& scope : {to_b, std::string("households: district = 'bee-district'")}) {
      const std::string s = "&scope=" + q(scope);
      std::string since;
      std::vector<FeedEntry> feed = read_feed(a, since, s, 1000);
      CHECK(feed.empty());
      CHECK(list_all_ids(a, "/v1/tables/households/records?scope=" + q(scope), 1000, {}).empty());
      CHECK(list_all_ids(a, "/v1/conflicts?scope=" + q(scope), 1000, {}).empty());
      CHECK(list_all_ids(a, "/v1/conflicts?table=households&scope=" + q(scope), 1000, {}).empty());
      for (const std::string& id : w.hidden_ids) {
        check_as_absent(a, "GET", "/v1/tables/households/records/@ID@?scope=" + q(scope), "", id,
                        absent_of(id));
        check_as_absent(a, "POST", "/v1/revs_diff?scope=" + q(scope),
                        revs_diff_body("households", "@ID@", {w.leaf[id].str()}), id,
                        absent_of(id));
        check_as_absent(a, "POST", "/v1/bulk_get?scope=" + q(scope),
                        bulk_get_body("households", "@ID@", ""), id, absent_of(id));
      }
      // A records are outside the asked scope: not found either.
      CHECK(a.get(record_path("hh01") + "?scope=" + q(scope)).status == 404);
    }
    // Asking for everything: still A only.
    {
      std::string since;
      std::vector<FeedEntry> feed = read_feed(a, since, "&scope=" + q(everything), 2);
      CHECK(ids_of(feed, "households", false) == w.feed_a);
      CHECK(ids_of(feed, "visits", false) == std::set<std::string>{"vv01"});
      std::vector<std::string> ids =
          list_all_ids(a, "/v1/tables/households/records?scope=" + q(everything), 1, w.live_a);
      CHECK(std::set<std::string>(ids.begin(), ids.end()) == w.live_a);
      for (const std::string& id : w.hidden_ids) {
        check_as_absent(a, "GET", "/v1/tables/households/records/@ID@?scope=" + q(everything), "",
                        id, absent_of(id));
      }
    }
    // Narrowing within A works.
    {
      std::string since;
      std::vector<FeedEntry> feed = read_feed(a, since, "&scope=" + q(open_only), 1);
      std::set<std::string> open = w.feed_a;
      open.erase("hh09");  // closed
      CHECK(ids_of(feed, "households", false) == open);
      CHECK(ids_of(feed, "visits", false).empty());
      CHECK(a.get(record_path("hh09") + "?scope=" + q(open_only)).status == 404);
      CHECK(a.get(record_path("hh01") + "?scope=" + q(open_only)).status == 200);
    }
    // A scope naming a table a may not read: invalid_scope, and the answer
    // names none of its columns; the same as for a table that does not exist.
    {
      Reply staff = a.get("/v1/changes?scope=" + q("staff: *"));
      Reply nosuch = a.get("/v1/changes?scope=" + q("stuff: *"));
      INFO(staff.body << "\n" << nosuch.body);
      CHECK(staff.status == 400);
      CHECK(staff.code() == "invalid_scope");
      CHECK(replace_all(staff.body, "staff", "stuff") == nosuch.body);
      Reply col = a.get("/v1/tables/households/records?scope=" + q("staff: salary_band = 'x'"));
      CHECK(col.code() == "invalid_scope");
      Reply col2 = a.get("/v1/tables/households/records?scope=" + q("stuff: salary_band = 'x'"));
      CHECK(replace_all(col.body, "staff", "stuff") == col2.body);
      Reply get = a.get(record_path("hh01") + "?scope=" + q("staff: *"));
      CHECK(get.code() == "invalid_scope");
      Reply diff = a.post("/v1/revs_diff?scope=" + q("staff: *"), "{}");
      CHECK(diff.code() == "invalid_scope");
      // A column of a readable table a's scope does not name is fine to name.
      Reply narrowed = a.get("/v1/changes?scope=" + q("households: name = 'bee-secret-02'"));
      CHECK(narrowed.status == 200);
      CHECK(parse_json(narrowed.body)["results"].GetArray().Size() == 0);
    }
    check_no_leak(a.log(), w.secrets);
  });
}
