// Engine conformance suite: the write rule of a writer's scope (DESIGN.md
// section 14, Engine::write_within and write_replicated_within). A create
// needs a body in the scope; any other write must build on a revision whose
// body is in it (a local edit: its parent; a replicated revision: itself or
// an ancestor held with its body). Every refusal is the same `forbidden`,
// whether or not the record exists.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "api/scope.h"
#include "engine/backends.h"

namespace outpost::test {
namespace {

Table households_table() {
  return Table{"households", {col("district", ValueType::string), col("name", ValueType::string)}};
}

Attributes hh(std::string_view district, std::string_view name = "n") {
  return Attributes{{"district", str(district)}, {"name", str(name)}};
}

WriteScope scope_a(Engine& engine, std::vector<std::string> earlier = {}) {
  WriteScope ws;
  ws.scope = parse_scope("households: district = 'A'", engine.list_tables());
  for (const std::string& text : earlier)
    ws.earlier.push_back(parse_scope(text, engine.list_tables()));
  return ws;
}

WriteResult write_in(Engine& engine, const WriteScope& ws, Edit edit) {
  edit.table = "households";
  std::vector<WriteResult> results = engine.write_within({edit}, ws);
  REQUIRE(results.size() == 1);
  return results[0];
}

WriteResult push_in(Engine& engine, const WriteScope& ws, RemoteRevision remote) {
  remote.table = "households";
  std::vector<WriteResult> results = engine.write_replicated_within({remote}, ws);
  REQUIRE(results.size() == 1);
  return results[0];
}

Edit put(const std::string& id, const Revision& parent, const Attributes& body) {
  return Edit{Edit::Kind::put, "households", id, parent, body};
}

// A revision made elsewhere on top of `parent`, with its ancestry.
RemoteRevision remote(const std::string& id, const std::vector<Revision>& ancestry,
                      const Attributes& body, bool deleted = false) {
  RemoteRevision r;
  r.table = "households";
  r.id = id;
  r.deleted = deleted;
  r.attributes = deleted ? Attributes{} : body;
  r.ancestry = ancestry;
  r.revision = compute_revision("households", id, ancestry.empty() ? Revision() : ancestry.front(),
                                deleted, r.attributes);
  return r;
}

std::string message_of(const WriteResult& result, const std::string& id) {
  REQUIRE(result.error);
  std::string text = result.error->what();
  for (size_t at; (at = text.find(id)) != std::string::npos;) text.replace(at, id.size(), "<id>");
  return text;
}

TEST_CASE("conformance: write scope: local edits build on a revision in the scope") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    create_table(engine, households_table());
    const WriteScope ws = scope_a(engine);
    Revision b1 = create(engine, "households", "bee", hh("B", "bee-secret"));

    // Creates: a new id with a body in the scope; never another body, never
    // an id that exists out of the scope, and both refusals read alike.
    WriteResult created = write_in(engine, ws, put("ant", {}, hh("A")));
    REQUIRE(created.ok());
    WriteResult outside = write_in(engine, ws, put("new-id", {}, hh("B")));
    CHECK(code_of(outside) == ErrorCode::forbidden);
    WriteResult taken = write_in(engine, ws, put("bee", {}, hh("A")));
    CHECK(code_of(taken) == ErrorCode::forbidden);
    CHECK(message_of(taken, "bee") == message_of(outside, "new-id"));
    CHECK(message_of(taken, "bee").find("bee-secret") == std::string::npos);

    // Edits, deletions and resolutions of an out-of-scope record.
    CHECK(code_of(write_in(engine, ws, put("bee", b1, hh("A")))) == ErrorCode::forbidden);
    CHECK(code_of(write_in(engine, ws, Edit{Edit::Kind::remove, "", "bee", b1, {}})) ==
          ErrorCode::forbidden);
    CHECK(code_of(write_in(engine, ws, Edit{Edit::Kind::resolve, "", "bee", b1, hh("A")})) ==
          ErrorCode::forbidden);
    // A stale or invented parent of an out-of-scope record: the same refusal.
    Revision invented = compute_revision("households", "bee", {}, false, hh("A", "x"));
    WriteResult stale = write_in(engine, ws, put("bee", invented, hh("A")));
    CHECK(code_of(stale) == ErrorCode::forbidden);
    CHECK(message_of(stale, "bee") == message_of(outside, "new-id"));
    CHECK(must_get(engine, "households", "bee").revision == b1);

    // In the scope: edits go through; a stale parent gets its precise error.
    Revision a1 = created.revision;
    WriteResult a2 = write_in(engine, ws, put("ant", a1, hh("A", "edited")));
    REQUIRE(a2.ok());
    CHECK(code_of(write_in(engine, ws, put("ant", invented, hh("A")))) == ErrorCode::conflict);

    // A retried edit in the scope answers the same revision.
    WriteResult again = write_in(engine, ws, put("ant", a1, hh("A", "edited")));
    REQUIRE(again.ok());
    CHECK(again.revision == a2.revision);

    // Moving a record out is allowed (it builds on an in-scope revision);
    // after that, the record is out of reach. The same request again is
    // refused: answering it would confirm a guess of where the record went.
    WriteResult moved = write_in(engine, ws, put("ant", a2.revision, hh("B", "handed over")));
    REQUIRE(moved.ok());
    WriteResult retried = write_in(engine, ws, put("ant", a2.revision, hh("B", "handed over")));
    CHECK(code_of(retried) == ErrorCode::forbidden);
    WriteResult guessed = write_in(engine, ws, put("ant", a2.revision, hh("C", "handed over")));
    CHECK(message_of(retried, "ant") == message_of(guessed, "ant"));
    CHECK(code_of(write_in(engine, ws, put("ant", moved.revision, hh("A")))) ==
          ErrorCode::forbidden);

    // An edit of an id that does not exist reads like one out of the scope.
    WriteResult nothing = write_in(engine, ws, put("nobody", invented, hh("A")));
    CHECK(code_of(nothing) == ErrorCode::forbidden);
    CHECK(message_of(nothing, "nobody") == message_of(outside, "new-id"));

    // A deleted record is judged by its last body: recreated when that was
    // in the scope, never when it was not.
    WriteResult c1 = write_in(engine, ws, put("cat", {}, hh("A")));
    REQUIRE(c1.ok());
    REQUIRE(write_in(engine, ws, Edit{Edit::Kind::remove, "", "cat", c1.revision, {}}).ok());
    CHECK(write_in(engine, ws, put("cat", {}, hh("A", "again"))).ok());
    Revision d1 = create(engine, "households", "dog", hh("B"));
    remove(engine, "households", "dog", d1);
    CHECK(code_of(write_in(engine, ws, put("dog", {}, hh("A")))) == ErrorCode::forbidden);

    // A record out of the scope with a conflict branch in it: the branch
    // may be edited, but the record not resolved (that picks its winner).
    Revision e1 = create(engine, "households", "elk", hh("B"));
    Revision e2 = update(engine, "households", "elk", e1, hh("B", "winner"));
    RemoteRevision branch = remote("elk", {e1}, hh("A", "a branch"));
    REQUIRE(engine.write_replicated({branch}).at(0).ok());
    REQUIRE(must_get(engine, "households", "elk").revision == e2);
    CHECK(code_of(write_in(engine, ws,
                           Edit{Edit::Kind::resolve, "", "elk", branch.revision,
                                hh("A", "resolved")})) == ErrorCode::forbidden);
    CHECK(write_in(engine, ws, put("elk", branch.revision, hh("A", "branch edited"))).ok());
  });
}

TEST_CASE("conformance: write scope: replicated revisions need a held ancestor in the scope") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    create_table(engine, households_table());
    const WriteScope ws = scope_a(engine);

    // A record this database does not hold: judged by its body.
    CHECK(push_in(engine, ws, remote("new-a", {}, hh("A"))).ok());
    CHECK(code_of(push_in(engine, ws, remote("new-b", {}, hh("B")))) == ErrorCode::forbidden);
    // A deletion of an unknown record, judged by the body it deletes.
    RemoteRevision root = remote("gone", {}, hh("A"));
    RemoteRevision deletion = remote("gone", {root.revision}, {}, true);
    deletion.parent_attributes = hh("A");
    CHECK(push_in(engine, ws, deletion).ok());
    RemoteRevision bare = remote("gone-b", {root.revision}, {}, true);
    CHECK(code_of(push_in(engine, ws, bare)) == ErrorCode::forbidden);

    // An edit made before the record moved away still arrives, as a conflict.
    Revision a1 = create(engine, "households", "moving", hh("A"));
    Revision b2 = update(engine, "households", "moving", a1, hh("B", "moved"));
    RemoteRevision offline = remote("moving", {a1}, hh("A", "edited offline"));
    REQUIRE(push_in(engine, ws, offline).ok());
    std::vector<std::string> leaves = leaves_of(engine, "households", "moving");
    CHECK(leaves == sorted({b2.str(), offline.revision.str()}));
    // Pushed again (a retry): nothing changes.
    CHECK(push_in(engine, ws, offline).ok());

    // Forged branches for a record held out of the scope: a new root with an
    // in-scope body, invented ancestors, the record's own out-of-scope
    // revisions: all refused alike.
    Revision bee = create(engine, "households", "bee", hh("B", "bee-secret"));
    const std::string before = dump(engine);
    RemoteRevision forged_root = remote("bee", {}, hh("A"));
    WriteResult refused = push_in(engine, ws, forged_root);
    CHECK(code_of(refused) == ErrorCode::forbidden);
    Revision invented = compute_revision("households", "bee", {}, false, hh("A", "made up"));
    CHECK(code_of(push_in(engine, ws, remote("bee", {invented}, hh("A")))) == ErrorCode::forbidden);
    CHECK(code_of(push_in(engine, ws, remote("bee", {invented, bee}, hh("A")))) ==
          ErrorCode::forbidden);
    CHECK(code_of(push_in(engine, ws, remote("bee", {bee}, hh("A")))) == ErrorCode::forbidden);
    CHECK(dump(engine) == before);
    WriteResult unknown = push_in(engine, ws, remote("never", {}, hh("B")));
    CHECK(message_of(refused, "bee") == message_of(unknown, "never"));

    // An in-scope ancestor deep in a long offline history counts too.
    Revision deep = create(engine, "households", "deep", hh("A"));
    Revision moved = update(engine, "households", "deep", deep, hh("B"));
    std::vector<Revision> path{deep};
    Attributes body = hh("A", "offline 0");
    for (int i = 1; i <= 40; ++i) {
      Revision next = compute_revision("households", "deep", path.front(), false, body);
      path.insert(path.begin(), next);
      body = hh("A", "offline " + std::to_string(i));
    }
    // The pusher holds the whole path; this database holds only `deep` of it.
    CHECK(push_in(engine, ws, remote("deep", path, body)).ok());
    CHECK(leaves_of(engine, "households", "deep").size() == 2);
    (void)moved;
  });
}

TEST_CASE("conformance: write scope: earlier scopes count for replicated revisions only") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    create_table(engine, households_table());
    // The token moved from district C to A; C's grace has not ended.
    WriteScope ws = scope_a(engine, {"households: district = 'C'"});
    Revision c1 = create(engine, "households", "cee", hh("C"));
    CHECK(push_in(engine, ws, remote("cee", {c1}, hh("C", "edited before the move"))).ok());
    CHECK(code_of(write_in(engine, ws, put("cee", c1, hh("C", "edited after")))) ==
          ErrorCode::forbidden);
    CHECK(push_in(engine, ws, remote("new-c", {}, hh("C"))).ok());
    CHECK(code_of(write_in(engine, ws, put("new-c2", {}, hh("C")))) == ErrorCode::forbidden);
    // Without the earlier scope, the replicated edit is refused.
    WriteScope now_only = scope_a(engine);
    CHECK(code_of(push_in(engine, now_only, remote("cee", {c1}, hh("C", "late")))) ==
          ErrorCode::forbidden);
  });
}

TEST_CASE("conformance: write scope: a batch refuses per document and commits the rest") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    create_table(engine, households_table());
    const WriteScope ws = scope_a(engine);
    Revision bee = create(engine, "households", "bee", hh("B"));
    std::vector<Edit> edits{put("a1", {}, hh("A")), put("b1", {}, hh("B")),
                            put("bee", bee, hh("A")), put("a2", {}, hh("A"))};
    std::vector<WriteResult> results = engine.write_within(edits, ws);
    REQUIRE(results.size() == 4);
    CHECK(results[0].ok());
    CHECK(code_of(results[1]) == ErrorCode::forbidden);
    CHECK(code_of(results[2]) == ErrorCode::forbidden);
    CHECK(results[3].ok());
    CHECK(must_get(engine, "households", "a2").revision == results[3].revision);
    CHECK(!engine.get("households", "b1"));

    std::vector<RemoteRevision> pushed{remote("r1", {}, hh("A")), remote("r2", {}, hh("B")),
                                       remote("bee", {bee}, hh("A"))};
    for (RemoteRevision& r : pushed) r.table = "households";
    std::vector<WriteResult> replicated = engine.write_replicated_within(pushed, ws);
    REQUIRE(replicated.size() == 3);
    CHECK(replicated[0].ok());
    CHECK(code_of(replicated[1]) == ErrorCode::forbidden);
    CHECK(code_of(replicated[2]) == ErrorCode::forbidden);
    CHECK(engine.get("households", "r1"));
  });
}

}  // namespace
}  // namespace outpost::test
