// Engine conformance suite: local edits (new_edits = true) and resolve
// (DESIGN.md section 4).
#include <doctest/doctest.h>

#include <set>

#include "engine/backends.h"

namespace outpost::test {
namespace {

const Revision kUnknownParent = Revision::parse("1-0123456789abcdef0123456789abcdef");

Edit edit(Edit::Kind kind, const std::string& table, const std::string& id, const Revision& parent,
          Attributes attributes = {}) {
  Edit e;
  e.kind = kind;
  e.table = table;
  e.id = id;
  e.parent = parent;
  e.attributes = std::move(attributes);
  return e;
}

// r1 = local create; a2 = local update of r1; b2 = a replicated sibling of a2.
struct Conflict {
  Revision r1, a2, b2;
};
Conflict make_conflict(Engine& engine, const std::string& id) {
  Conflict c;
  c.r1 = create(engine, "items", id, item("base", 1));
  c.a2 = update(engine, "items", id, c.r1, item("local", 2));
  auto remote = offline_chain("items", id, c.r1, 1, "remote");
  auto res = write_one_replicated(engine, remote_of("items", id, remote, 0, {c.r1}));
  REQUIRE(res.ok());
  c.b2 = remote[0].revision;
  REQUIRE(c.b2 == res.revision);
  REQUIRE(c.a2 != c.b2);
  REQUIRE(leaves_of(engine, "items", id) == sorted_strs({c.a2, c.b2}));
  return c;
}

TEST_CASE("conformance: create gives generation 1 and the computed revision") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    create_table(engine, items_table());
    Attributes a = item("Amina Okello", 6);
    WriteResult res = put_record(engine, "items", "h-001", Revision(), a);
    CHECK(res.ok());
    CHECK(res.table == "items");
    CHECK(res.id == "h-001");
    CHECK(res.revision.generation() == 1);
    CHECK(res.revision == compute_revision("items", "h-001", Revision(), false, a));

    Record got = must_get(engine, "items", "h-001");
    CHECK(got.table == "items");
    CHECK(got.id == "h-001");
    CHECK(got.revision == res.revision);
    CHECK_FALSE(got.deleted);
    CHECK(got.attributes == a);
    CHECK_FALSE(engine.get("items", "h-002").has_value());

    // An update: generation 2, parent in the hash.
    Attributes b = item("Amina Okello", 7);
    Revision r2 = update(engine, "items", "h-001", res.revision, b);
    CHECK(r2.generation() == 2);
    CHECK(r2 == compute_revision("items", "h-001", res.revision, false, b));
    CHECK(must_get(engine, "items", "h-001").attributes == b);
    // The old revision stays readable by revision.
    GetOptions o;
    o.revision = res.revision;
    Record old = must_get(engine, "items", "h-001", o);
    CHECK(old.revision == res.revision);
    CHECK(old.attributes == a);
  });
}

TEST_CASE("conformance: create on an existing record is conflict") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    create_table(engine, items_table());
    Revision r1 = create(engine, "items", "a", item("first"));
    std::string before = dump(engine);
    CHECK(error_of([&] { create(engine, "items", "a", item("second")); }) == ErrorCode::conflict);
    CHECK(code_of(write_one(engine, edit(Edit::Kind::put, "items", "a", {}, item("second")))) ==
          ErrorCode::conflict);
    CHECK(must_get(engine, "items", "a").revision == r1);
    CHECK(dump(engine) == before);
  });
}

TEST_CASE("conformance: create after deletion builds on the winning tombstone") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    create_table(engine, items_table());
    Revision r1 = create(engine, "items", "a", item("first"));
    Revision d2 = remove(engine, "items", "a", r1);
    CHECK(d2.generation() == 2);
    Attributes again = item("again");
    Revision r3 = create(engine, "items", "a", again);
    CHECK(r3.generation() == 3);
    CHECK(r3 == compute_revision("items", "a", d2, false, again));
    Record got = must_get(engine, "items", "a");
    CHECK(got.revision == r3);
    CHECK_FALSE(got.deleted);
    CHECK(got.attributes == again);
    CHECK(leaves_of(engine, "items", "a") == std::vector<std::string>{r3.str()});

    // Two deleted branches: the new revision's parent is the winning
    // tombstone (the higher generation).
    Revision b1 = create(engine, "items", "b", item("b"));
    Revision bd = remove(engine, "items", "b", b1);  // gen 2
    auto other = offline_chain("items", "b", Revision(), 3, "other", /*delete_tip=*/true);
    REQUIRE(write_one_replicated(engine, remote_of("items", "b", other, 2)).ok());
    CHECK(leaves_of(engine, "items", "b") == sorted_strs({bd, other[2].revision}));
    Record dead = must_get(engine, "items", "b");
    CHECK(dead.deleted);
    CHECK(dead.revision == other[2].revision);  // gen 3 beats gen 2
    Revision b4 = create(engine, "items", "b", item("reborn"));
    CHECK(b4 == compute_revision("items", "b", other[2].revision, false, item("reborn")));
    CHECK(b4.generation() == 4);
    CHECK(must_get(engine, "items", "b").revision == b4);
  });
}

TEST_CASE("conformance: update or delete from a non-leaf or unknown parent is conflict") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    create_table(engine, items_table());
    auto revs = chain(engine, "items", "a", 3);
    std::string before = dump(engine);

    CHECK(error_of([&] { update(engine, "items", "a", revs[0], item("stale")); }) ==
          ErrorCode::conflict);
    CHECK(error_of([&] { update(engine, "items", "a", revs[1], item("stale")); }) ==
          ErrorCode::conflict);
    CHECK(error_of([&] { remove(engine, "items", "a", revs[0]); }) == ErrorCode::conflict);
    CHECK(error_of([&] { update(engine, "items", "a", kUnknownParent, item("x")); }) ==
          ErrorCode::conflict);
    Revision unknown3 = Revision::parse("3-ffffffffffffffffffffffffffffffff");
    CHECK(error_of([&] { update(engine, "items", "a", unknown3, item("x")); }) ==
          ErrorCode::conflict);
    CHECK(error_of([&] { remove(engine, "items", "a", kUnknownParent); }) == ErrorCode::conflict);
    // A parent on a record that does not exist.
    CHECK(error_of([&] { update(engine, "items", "nope", kUnknownParent, item("x")); }) ==
          ErrorCode::conflict);
    CHECK(code_of(write_one(engine, edit(Edit::Kind::put, "items", "a", revs[0], item("s")))) ==
          ErrorCode::conflict);

    CHECK(must_get(engine, "items", "a").revision == revs[2]);
    CHECK(leaves_of(engine, "items", "a") == std::vector<std::string>{revs[2].str()});
    CHECK_FALSE(engine.get("items", "nope").has_value());
    CHECK(dump(engine) == before);
  });
}

TEST_CASE("conformance: delete makes a tombstone") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    create_table(engine, items_table());
    auto revs = chain(engine, "items", "a", 2);
    create(engine, "items", "b", item("b"));
    WriteResult res = write_one(engine, edit(Edit::Kind::remove, "items", "a", revs[1]));
    REQUIRE(res.ok());
    CHECK(res.revision.generation() == 3);
    CHECK(res.revision == compute_revision("items", "a", revs[1], true, {}));

    Record got = must_get(engine, "items", "a");
    CHECK(got.deleted);
    CHECK(got.revision == res.revision);
    CHECK(got.attributes.empty());
    CHECK(leaves_of(engine, "items", "a") == std::vector<std::string>{res.revision.str()});
    // Not listed as a live record; still in the feed, as deleted.
    auto live = all_records(engine, "items");
    REQUIRE(live.size() == 1);
    CHECK(live[0].id == "b");
    bool found = false;
    for (const auto& c : all_changes(engine))
      if (c.id == "a") {
        found = true;
        CHECK(c.deleted);
        CHECK(c.revision == res.revision);
      }
    CHECK(found);
    // The body before the deletion is still readable by revision.
    GetOptions o;
    o.revision = revs[1];
    CHECK(must_get(engine, "items", "a", o).attributes == item("a-2", 2));
    // Updating the tombstone's ancestor is a conflict.
    CHECK(error_of([&] { update(engine, "items", "a", revs[1], item("x")); }) ==
          ErrorCode::conflict);
  });
}

TEST_CASE("conformance: replaying an edit returns the same revision and adds nothing") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    create_table(engine, items_table());
    create(engine, "items", "other", item("o"));
    Attributes a = item("same", 1);
    Revision r1 = create(engine, "items", "a", a);
    std::string seq_after_create = engine.update_seq();
    // Replaying the create is not a conflict: the computed revision exists.
    CHECK(create(engine, "items", "a", a) == r1);
    WARN_MESSAGE(engine.update_seq() == seq_after_create,
                 "a replayed edit moved update_seq (allowed, but it costs feed traffic)");
    CHECK(leaves_of(engine, "items", "a") == std::vector<std::string>{r1.str()});

    Attributes b = item("same", 2);
    Revision r2 = update(engine, "items", "a", r1, b);
    CHECK(update(engine, "items", "a", r1, b) == r2);  // r1 is no longer a leaf
    CHECK(update(engine, "items", "a", r1, b) == r2);
    Revision d3 = remove(engine, "items", "a", r2);
    CHECK(remove(engine, "items", "a", r2) == d3);
    // The same edit twice in one batch.
    auto batch = engine.write({edit(Edit::Kind::put, "items", "c", {}, item("c")),
                               edit(Edit::Kind::put, "items", "c", {}, item("c"))});
    REQUIRE(batch.size() == 2);
    CHECK(batch[0].ok());
    CHECK(batch[1].ok());
    CHECK(batch[0].revision == batch[1].revision);

    CHECK(leaves_of(engine, "items", "a") == std::vector<std::string>{d3.str()});
    CHECK(leaves_of(engine, "items", "c") == std::vector<std::string>{batch[0].revision.str()});
    CHECK(must_get(engine, "items", "a").revision == d3);
    CHECK(conflicts_of(engine, "items", "c").empty());
    int entries = 0;
    for (const auto& c : all_changes(engine)) entries += c.id == "a";
    CHECK(entries == 1);
  });
}

TEST_CASE("conformance: an empty id gets a generated UUID v4") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    create_table(engine, items_table());
    auto results = engine.write({edit(Edit::Kind::put, "items", "", {}, item("anon")),
                                 edit(Edit::Kind::put, "items", "", {}, item("anon"))});
    REQUIRE(results.size() == 2);
    std::set<std::string> ids;
    for (const auto& r : results) {
      CAPTURE(r.id);
      REQUIRE(r.ok());
      CHECK(is_uuid_v4(r.id));
      CHECK(r.table == "items");
      CHECK(r.revision == compute_revision("items", r.id, Revision(), false, item("anon")));
      CHECK(must_get(engine, "items", r.id).attributes == item("anon"));
      ids.insert(r.id);
    }
    CHECK(ids.size() == 2);
    CHECK(all_records(engine, "items").size() == 2);
  });
}

TEST_CASE("conformance: a batch commits its valid edits and reports the invalid ones") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    create_table(engine, items_table());
    auto revs = chain(engine, "items", "x", 2);
    auto results = engine.write({
        edit(Edit::Kind::put, "items", "a", {}, item("a")),
        edit(Edit::Kind::put, "items", "bad1", {}, {{"nope", str("v")}}),
        edit(Edit::Kind::put, "items", "b", {}, item("b")),
        edit(Edit::Kind::put, "items", "x", revs[0], item("stale")),
        edit(Edit::Kind::put, "ghosts", "g", {}, item("g")),
        edit(Edit::Kind::put, "items", "bad2", {}, {{"size", str("seven")}}),
        edit(Edit::Kind::remove, "items", "x", revs[1]),
    });
    REQUIRE(results.size() == 7);
    CHECK(results[0].ok());
    CHECK(code_of(results[1]) == ErrorCode::unknown_column);
    CHECK(results[2].ok());
    CHECK(code_of(results[3]) == ErrorCode::conflict);
    CHECK(code_of(results[4]) == ErrorCode::unknown_table);
    CHECK(code_of(results[5]) == ErrorCode::invalid_value);
    CHECK(results[6].ok());
    const char* ids[] = {"a", "bad1", "b", "x", "g", "bad2", "x"};
    for (size_t i = 0; i < results.size(); ++i) {
      CAPTURE(i);
      CHECK(results[i].id == ids[i]);
      if (results[i].error) CHECK_FALSE(results[i].error->message().empty());
    }
    CHECK(results[4].table == "ghosts");

    CHECK(must_get(engine, "items", "a").revision == results[0].revision);
    CHECK(must_get(engine, "items", "b").revision == results[2].revision);
    CHECK(must_get(engine, "items", "x").deleted);
    CHECK_FALSE(engine.get("items", "bad1").has_value());
    CHECK_FALSE(engine.get("items", "bad2").has_value());
    std::vector<std::string> changed;
    for (const auto& c : all_changes(engine)) changed.push_back(c.id);
    CHECK(sorted(changed) == std::vector<std::string>{"a", "b", "x"});
  });
}

TEST_CASE("conformance: a conflict branch can be edited") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    create_table(engine, items_table());
    Conflict c = make_conflict(engine, "k");
    Revision winner2 = std::max(c.a2, c.b2);
    Revision loser2 = std::min(c.a2, c.b2);
    CHECK(must_get(engine, "items", "k").revision == winner2);
    CHECK(conflicts_of(engine, "items", "k") == std::vector<std::string>{loser2.str()});

    // Edit the losing branch: it becomes gen 3 and wins.
    Revision l3 = update(engine, "items", "k", loser2, item("loser edited", 3));
    CHECK(l3 == compute_revision("items", "k", loser2, false, item("loser edited", 3)));
    CHECK(must_get(engine, "items", "k").revision == l3);
    CHECK(must_get(engine, "items", "k").attributes == item("loser edited", 3));
    CHECK(conflicts_of(engine, "items", "k") == std::vector<std::string>{winner2.str()});
    CHECK(leaves_of(engine, "items", "k") == sorted_strs({l3, winner2}));

    // Delete the other branch: the conflict is gone.
    Revision w3 = remove(engine, "items", "k", winner2);
    CHECK(w3 == compute_revision("items", "k", winner2, true, {}));
    CHECK(conflicts_of(engine, "items", "k").empty());
    CHECK(must_get(engine, "items", "k").revision == l3);
    CHECK(engine.list_conflicts("", "", 10).entries.empty());
  });
}

TEST_CASE("conformance: resolve keeps one leaf and tombstones the other live leaves") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    create_table(engine, items_table());
    Conflict c = make_conflict(engine, "k");
    // A third live branch and a deleted fourth one, both from r1.
    auto third = offline_chain("items", "k", c.r1, 2, "third");
    REQUIRE(write_one_replicated(engine, remote_of("items", "k", third, 1, {c.r1})).ok());
    auto dead = offline_chain("items", "k", c.r1, 2, "dead", /*delete_tip=*/true);
    REQUIRE(write_one_replicated(engine, remote_of("items", "k", dead, 1, {c.r1})).ok());
    REQUIRE(conflicts_of(engine, "items", "k").size() == 2);

    Attributes merged = item("merged", 9);
    WriteResult res = resolve_record(engine, "items", "k", c.b2, merged);
    REQUIRE(res.ok());
    Revision r3 = compute_revision("items", "k", c.b2, false, merged);
    CHECK(res.revision == r3);
    Revision tomb_a = compute_revision("items", "k", c.a2, true, {});
    Revision tomb_third = compute_revision("items", "k", third[1].revision, true, {});
    CHECK(leaves_of(engine, "items", "k") ==
          sorted_strs({r3, tomb_a, tomb_third, dead[1].revision}));
    Record got = must_get(engine, "items", "k");
    CHECK(got.revision == r3);
    CHECK(got.attributes == merged);
    CHECK(conflicts_of(engine, "items", "k").empty());
    CHECK(engine.list_conflicts("items", "", 10).entries.empty());
    // The tombstones are readable.
    GetOptions o;
    o.revision = tomb_a;
    Record t = must_get(engine, "items", "k", o);
    CHECK(t.deleted);
    CHECK(t.attributes.empty());
    // The feed shows the record once, with its winner and every leaf.
    int entries = 0;
    for (const auto& ch : all_changes(engine))
      if (ch.id == "k") {
        ++entries;
        CHECK(ch.revision == r3);
        CHECK(sorted_strs(ch.leaves) == leaves_of(engine, "items", "k"));
      }
    CHECK(entries == 1);
  });
}

TEST_CASE("conformance: resolve through write() and on the winning leaf") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    create_table(engine, items_table());
    Conflict c = make_conflict(engine, "k");
    Revision winner2 = std::max(c.a2, c.b2);
    Revision loser2 = std::min(c.a2, c.b2);
    WriteResult res =
        write_one(engine, edit(Edit::Kind::resolve, "items", "k", winner2, item("keep")));
    REQUIRE(res.ok());
    CHECK(res.revision == compute_revision("items", "k", winner2, false, item("keep")));
    CHECK(leaves_of(engine, "items", "k") ==
          sorted_strs({res.revision, compute_revision("items", "k", loser2, true, {})}));
    CHECK(conflicts_of(engine, "items", "k").empty());

    // Resolve on a record without conflicts is a plain update of that leaf.
    Revision n1 = create(engine, "items", "n", item("n"));
    Revision n2 = resolve_record(engine, "items", "n", n1, item("n2")).revision;
    CHECK(n2 == compute_revision("items", "n", n1, false, item("n2")));
    CHECK(leaves_of(engine, "items", "n") == std::vector<std::string>{n2.str()});
  });
}

TEST_CASE("conformance: resolve on a non-leaf is conflict and changes nothing") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    create_table(engine, items_table());
    Conflict c = make_conflict(engine, "k");
    std::string before = dump(engine);
    CHECK(error_of([&] { resolve_record(engine, "items", "k", c.r1, item("x")); }) ==
          ErrorCode::conflict);
    CHECK(error_of([&] { resolve_record(engine, "items", "k", kUnknownParent, item("x")); }) ==
          ErrorCode::conflict);
    CHECK(code_of(write_one(engine, edit(Edit::Kind::resolve, "items", "k", c.r1, item("x")))) ==
          ErrorCode::conflict);
    CHECK(leaves_of(engine, "items", "k") == sorted_strs({c.a2, c.b2}));
    CHECK(dump(engine) == before);
  });
}

}  // namespace
}  // namespace outpost::test
