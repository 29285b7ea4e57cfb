// Engine conformance suite: replicated edits (new_edits = false) and the
// winner rule (DESIGN.md section 4).
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "engine/backends.h"

namespace outpost::test {
namespace {

std::vector<std::string> missing_of(Engine& engine, const std::string& table, const std::string& id,
                                    const std::vector<Revision>& revs) {
  auto diff = engine.revs_diff({RevsDiffQuery{table, id, revs}});
  REQUIRE(diff.size() == 1);
  return sorted_strs(diff[0].missing);
}

// The same revision id with another generation prefix.
Revision with_generation(const Revision& r, uint64_t gen) {
  return Revision::parse(std::to_string(gen) + "-" + std::string(r.hash()));
}

TEST_CASE(
    "conformance: a replicated revision grafts onto the known path; unseen ancestors are stubs") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    create_table(engine, items_table());
    auto local = chain(engine, "items", "a", 2);                       // r1, r2
    auto remote = offline_chain("items", "a", local[1], 3, "remote");  // r3, r4, r5
    // Ancestry down to and including the first revision the receiver knows.
    RemoteRevision rr = remote_of("items", "a", remote, 2, {local[1]});
    CHECK(strs(rr.ancestry) == strs({remote[1].revision, remote[0].revision, local[1]}));
    WriteResult res = write_one_replicated(engine, rr);
    REQUIRE(res.ok());
    CHECK(res.revision == remote[2].revision);
    CHECK(res.table == "items");
    CHECK(res.id == "a");

    Record got = must_get(engine, "items", "a");
    CHECK(got.revision == remote[2].revision);
    CHECK(got.attributes == remote[2].attributes);
    CHECK(conflicts_of(engine, "items", "a").empty());
    CHECK(leaves_of(engine, "items", "a") == std::vector<std::string>{remote[2].revision.str()});

    // r3 and r4 were never received with a body: stubs. get() has no body
    // for them, but the tree has them (revs_diff does not ask for them).
    GetOptions o;
    o.revision = remote[0].revision;
    CHECK_FALSE(engine.get("items", "a", o).has_value());
    o.revision = remote[1].revision;
    CHECK_FALSE(engine.get("items", "a", o).has_value());
    Revision unknown = Revision::parse("4-00000000000000000000000000000000");
    CHECK(missing_of(engine, "items", "a",
                     {remote[0].revision, remote[1].revision, remote[2].revision, local[0],
                      unknown}) == std::vector<std::string>{unknown.str()});
    // The whole path is there, nearest first.
    GetOptions anc;
    anc.ancestry = true;
    Record full = must_get(engine, "items", "a", anc);
    REQUIRE(full.ancestry.has_value());
    CHECK(strs(*full.ancestry) ==
          strs({remote[1].revision, remote[0].revision, local[1], local[0]}));
    // Local edits continue on the grafted leaf.
    Revision r6 = update(engine, "items", "a", remote[2].revision, item("local again", 6));
    CHECK(r6.generation() == 6);
  });
}

TEST_CASE("conformance: a replicated revision with full ancestry down to the root") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    create_table(engine, items_table());
    auto path = offline_chain("items", "n", Revision(), 4, "p");
    WriteResult res = write_one_replicated(engine, remote_of("items", "n", path, 3));
    REQUIRE(res.ok());
    Record got = must_get(engine, "items", "n");
    CHECK(got.revision == path[3].revision);
    CHECK(got.attributes == path[3].attributes);
    CHECK(missing_of(engine, "items", "n", {path[0].revision, path[1].revision}).empty());
    GetOptions o;
    o.revision = path[0].revision;
    CHECK_FALSE(engine.get("items", "n", o).has_value());  // a stub, even the root
    // A local update continues from it; a create is a conflict.
    CHECK(error_of([&] { create(engine, "items", "n", item("x")); }) == ErrorCode::conflict);
    CHECK(update(engine, "items", "n", path[3].revision, item("x")).generation() == 5);
  });
}

TEST_CASE("conformance: a path that reaches no known node starts a new root") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    create_table(engine, items_table());
    auto local = chain(engine, "items", "a", 2);
    // An unrelated history whose ancestry was cut (revs_limit) before its root.
    auto other = offline_chain("items", "a", Revision(), 3, "other");
    RemoteRevision rr = remote_of("items", "a", other, 2);
    rr.ancestry.resize(1);  // [x2] only: x1 is not sent
    REQUIRE(write_one_replicated(engine, rr).ok());
    CHECK(leaves_of(engine, "items", "a") == sorted_strs({local[1], other[2].revision}));
    CHECK(must_get(engine, "items", "a").revision == other[2].revision);  // gen 3 > 2
    CHECK(conflicts_of(engine, "items", "a") == std::vector<std::string>{local[1].str()});
    auto page = engine.list_conflicts("items", "", 10);
    REQUIRE(page.entries.size() == 1);
    CHECK(page.entries[0].id == "a");
    // x1 was never sent: still missing; x2 is a stub root.
    CHECK(missing_of(engine, "items", "a", {other[0].revision, other[1].revision}) ==
          std::vector<std::string>{other[0].revision.str()});
    GetOptions anc;
    anc.ancestry = true;
    Record full = must_get(engine, "items", "a", anc);
    REQUIRE(full.ancestry.has_value());
    CHECK(strs(*full.ancestry) == strs({other[1].revision}));

    // A record never seen, received with a trimmed path: it exists, with stubs.
    auto fresh = offline_chain("items", "z", Revision(), 5, "z");
    RemoteRevision rz = remote_of("items", "z", fresh, 4);
    rz.ancestry.resize(2);
    REQUIRE(write_one_replicated(engine, rz).ok());
    CHECK(must_get(engine, "items", "z").revision == fresh[4].revision);
    CHECK(must_get(engine, "items", "z").attributes == fresh[4].attributes);
  });
}

TEST_CASE("conformance: a replicated tombstone deletes the record") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    create_table(engine, items_table());
    Revision r1 = create(engine, "items", "a", item("a"));
    auto del = offline_chain("items", "a", r1, 1, "d", /*delete_tip=*/true);
    REQUIRE(write_one_replicated(engine, remote_of("items", "a", del, 0, {r1})).ok());
    Record got = must_get(engine, "items", "a");
    CHECK(got.deleted);
    CHECK(got.revision == del[0].revision);
    CHECK(got.attributes.empty());
    CHECK(all_records(engine, "items").empty());
  });
}

TEST_CASE("conformance: a revision whose hash does not match its content is invalid_revision") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    create_table(engine, items_table());
    Table twin = items_table();
    twin.name = "twins";
    create_table(engine, twin);
    auto local = chain(engine, "items", "a", 2);
    auto remote = offline_chain("items", "a", local[1], 1, "remote");
    const RemoteRevision good = remote_of("items", "a", remote, 0, {local[1]});
    std::string before = dump(engine);

    std::vector<std::pair<std::string, RemoteRevision>> forged;
    {
      RemoteRevision r = good;
      r.attributes = item("tampered", 3);
      forged.emplace_back("attributes changed", r);
    }
    {
      RemoteRevision r = good;
      r.attributes.erase("size");
      forged.emplace_back("attribute dropped", r);
    }
    {
      RemoteRevision r = good;
      r.deleted = true;
      r.attributes.clear();
      forged.emplace_back("deleted flag flipped", r);
    }
    {
      RemoteRevision r = good;
      r.ancestry = {local[0]};  // claims another parent (same generation rules broken too)
      forged.emplace_back("other parent", r);
    }
    {
      RemoteRevision r = good;
      r.ancestry[0] = Revision::parse("2-00000000000000000000000000000000");
      forged.emplace_back("unknown parent of the right generation", r);
    }
    {
      RemoteRevision r = good;
      r.id = "b";
      forged.emplace_back("other id", r);
    }
    {
      RemoteRevision r = good;
      r.table = "twins";
      forged.emplace_back("other table", r);
    }
    {
      RemoteRevision r = good;
      std::string h(good.revision.hash());
      h[0] = h[0] == 'a' ? 'b' : 'a';
      r.revision = Revision::parse("3-" + h);
      forged.emplace_back("hash digit changed", r);
    }
    {
      // Re-sending a known revision with another body never overwrites it.
      RemoteRevision r;
      r.table = "items";
      r.id = "a";
      r.revision = local[1];
      r.attributes = item("overwrite", 2);
      r.ancestry = {local[0]};
      forged.emplace_back("known revision with another body", r);
    }
    for (const auto& [what, r] : forged) {
      CAPTURE(what);
      CHECK(code_of(write_one_replicated(engine, r)) == ErrorCode::invalid_revision);
    }
    CHECK(dump(engine) == before);
    CHECK(missing_of(engine, "items", "a", {good.revision}) ==
          std::vector<std::string>{good.revision.str()});
    GetOptions o;
    o.revision = local[1];
    CHECK(must_get(engine, "items", "a", o).attributes == item("a-2", 2));

    // In a batch, the forged document is refused and the good one commits.
    RemoteRevision bad = good;
    bad.attributes = item("tampered", 3);
    auto results = engine.write_replicated({bad, good});
    REQUIRE(results.size() == 2);
    CHECK(code_of(results[0]) == ErrorCode::invalid_revision);
    CHECK(results[0].id == "a");
    CHECK(results[1].ok());
    Record got = must_get(engine, "items", "a");
    CHECK(got.revision == good.revision);
    CHECK(got.attributes == good.attributes);
  });
}

TEST_CASE("conformance: generations must agree with the ancestry") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    create_table(engine, items_table());
    Revision r1 = create(engine, "items", "a", item("a"));
    std::string before = dump(engine);
    auto next = offline_chain("items", "a", r1, 1, "n");  // a valid gen-2 child of r1
    auto root = offline_chain("items", "b", Revision(), 1, "b");
    auto path = offline_chain("items", "c", Revision(), 4, "c");

    std::vector<std::pair<std::string, RemoteRevision>> bad;
    {
      RemoteRevision r = remote_of("items", "a", next, 0, {r1});
      r.revision = with_generation(r.revision, 5);  // hash still matches body + parent
      bad.emplace_back("generation 5 on a gen-1 parent", r);
    }
    {
      RemoteRevision r = remote_of("items", "a", next, 0, {r1});
      r.revision = with_generation(r.revision, 1);
      bad.emplace_back("generation 1 with a parent", r);
    }
    {
      RemoteRevision r = remote_of("items", "b", root, 0);
      r.revision = with_generation(r.revision, 3);  // no ancestry: must be gen 1
      bad.emplace_back("generation 3 without ancestry", r);
    }
    {
      RemoteRevision r = remote_of("items", "c", path, 3);
      r.ancestry[1] = with_generation(r.ancestry[1], 7);
      bad.emplace_back("ancestry generations not consecutive", r);
    }
    {
      RemoteRevision r = remote_of("items", "c", path, 3);
      r.ancestry.erase(r.ancestry.begin() + 1);  // [c3, c1]: skips a generation
      bad.emplace_back("ancestry skips a generation", r);
    }
    {
      RemoteRevision r = remote_of("items", "c", path, 3);
      r.ancestry.push_back(Revision::parse("1-11111111111111111111111111111111"));
      bad.emplace_back("ancestry continues below a root", r);
    }
    for (const auto& [what, r] : bad) {
      CAPTURE(what);
      CHECK(code_of(write_one_replicated(engine, r)) == ErrorCode::invalid_revision);
    }
    CHECK_FALSE(engine.get("items", "b").has_value());
    CHECK_FALSE(engine.get("items", "c").has_value());
    CHECK(dump(engine) == before);
  });
}

TEST_CASE("conformance: re-sending a revision already held is a no-op success") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    create_table(engine, items_table());
    auto local = chain(engine, "items", "a", 2);
    auto remote = offline_chain("items", "a", local[1], 2, "remote");
    RemoteRevision rr = remote_of("items", "a", remote, 1, {local[1]});
    REQUIRE(write_one_replicated(engine, rr).ok());
    std::string seq = engine.update_seq();
    std::vector<std::string> leaves = leaves_of(engine, "items", "a");

    WriteResult again = write_one_replicated(engine, rr);
    CHECK(again.ok());
    CHECK(again.revision == rr.revision);
    // The stub ancestor and a locally written revision, sent with their bodies.
    WriteResult stub = write_one_replicated(engine, remote_of("items", "a", remote, 0, {local[1]}));
    CHECK(stub.ok());
    CHECK(stub.revision == remote[0].revision);
    RemoteRevision own;
    own.table = "items";
    own.id = "a";
    own.revision = local[1];
    own.attributes = item("a-2", 2);
    own.ancestry = {local[0]};
    CHECK(write_one_replicated(engine, own).ok());

    CHECK(leaves_of(engine, "items", "a") == leaves);
    CHECK(must_get(engine, "items", "a").revision == rr.revision);
    CHECK(conflicts_of(engine, "items", "a").empty());
    WARN_MESSAGE(engine.update_seq() == seq,
                 "re-sending known revisions moved update_seq (allowed, but costs feed traffic)");
  });
}

// ------------------------------------------------------------ winner rule --

TEST_CASE("conformance: equal generations: the greater hash wins, in any arrival order") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    create_table(engine, items_table());
    for (int order = 0; order < 2; ++order) {
      std::string id = "w" + std::to_string(order);
      CAPTURE(id);
      auto x = offline_chain("items", id, Revision(), 1, "x");
      auto y = offline_chain("items", id, Revision(), 1, "y");
      auto results = order == 0 ? engine.write_replicated(
                                      {remote_of("items", id, x, 0), remote_of("items", id, y, 0)})
                                : engine.write_replicated({remote_of("items", id, y, 0)});
      if (order == 1) {
        REQUIRE(write_one_replicated(engine, remote_of("items", id, x, 0)).ok());
      }
      for (const auto& r : results) REQUIRE(r.ok());
      const OfflineRev& win = x[0].revision.hash() > y[0].revision.hash() ? x[0] : y[0];
      const OfflineRev& lose = x[0].revision.hash() > y[0].revision.hash() ? y[0] : x[0];
      Record got = must_get(engine, "items", id);
      CHECK(got.revision == win.revision);
      CHECK(got.attributes == win.attributes);
      CHECK(conflicts_of(engine, "items", id) == std::vector<std::string>{lose.revision.str()});
    }
    // A local create against a replicated root of the same generation.
    Revision mine = create(engine, "items", "m", item("mine"));
    auto theirs = offline_chain("items", "m", Revision(), 1, "theirs");
    REQUIRE(write_one_replicated(engine, remote_of("items", "m", theirs, 0)).ok());
    Revision expect = mine.hash() > theirs[0].revision.hash() ? mine : theirs[0].revision;
    CHECK(must_get(engine, "items", "m").revision == expect);
    // The live table row (T) holds the winner.
    for (const auto& r : all_records(engine, "items")) {
      CAPTURE(r.id);
      Record g = must_get(engine, "items", r.id);
      CHECK(r.revision == g.revision);
      CHECK(r.attributes == g.attributes);
    }
    // Two identical edits made on two devices converge without a conflict.
    Revision same = create(engine, "items", "same", item("identical"));
    RemoteRevision twin;
    twin.table = "items";
    twin.id = "same";
    twin.attributes = item("identical");
    twin.revision = compute_revision("items", "same", Revision(), false, twin.attributes);
    CHECK(twin.revision == same);
    REQUIRE(write_one_replicated(engine, twin).ok());
    CHECK(conflicts_of(engine, "items", "same").empty());
  });
}

TEST_CASE("conformance: a live leaf beats a deleted one of higher generation") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    create_table(engine, items_table());
    // Local: 3 revisions then a tombstone (gen 4); remote: a live root (gen 1).
    auto local = chain(engine, "items", "a", 3);
    Revision tomb = remove(engine, "items", "a", local[2]);
    auto live = offline_chain("items", "a", Revision(), 1, "live");
    REQUIRE(write_one_replicated(engine, remote_of("items", "a", live, 0)).ok());
    Record got = must_get(engine, "items", "a");
    CHECK_FALSE(got.deleted);
    CHECK(got.revision == live[0].revision);
    CHECK(got.attributes == live[0].attributes);
    CHECK(conflicts_of(engine, "items", "a").empty());  // a tombstone is no conflict
    CHECK(leaves_of(engine, "items", "a") == sorted_strs({tomb, live[0].revision}));
    CHECK(engine.list_conflicts("", "", 10).entries.empty());
    auto rows = all_records(engine, "items");
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].revision == live[0].revision);
    CHECK(rows[0].attributes == live[0].attributes);

    // The other arrival order: the deleted long branch arrives second.
    auto shortlive = offline_chain("items", "b", Revision(), 1, "live");
    auto longdead = offline_chain("items", "b", Revision(), 6, "dead", /*delete_tip=*/true);
    REQUIRE(write_one_replicated(engine, remote_of("items", "b", shortlive, 0)).ok());
    REQUIRE(write_one_replicated(engine, remote_of("items", "b", longdead, 5)).ok());
    CHECK(must_get(engine, "items", "b").revision == shortlive[0].revision);
    CHECK_FALSE(must_get(engine, "items", "b").deleted);

    // All leaves deleted: the record is deleted, the higher tombstone wins.
    Revision gone = remove(engine, "items", "b", shortlive[0].revision);
    Record dead = must_get(engine, "items", "b");
    CHECK(dead.deleted);
    CHECK(dead.revision == longdead[5].revision);
    CHECK(gone.generation() == 2);
    CHECK(all_records(engine, "items").size() == 1);
  });
}

TEST_CASE("conformance: generation 10 beats generation 9 (numeric, not text, order)") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    create_table(engine, items_table());
    // Locally built 10 revisions vs a replicated branch of 9.
    auto ten = chain(engine, "items", "a", 10);
    REQUIRE(ten.back().generation() == 10);
    auto nine = offline_chain("items", "a", Revision(), 9, "nine");
    REQUIRE(write_one_replicated(engine, remote_of("items", "a", nine, 8)).ok());
    CHECK(must_get(engine, "items", "a").revision == ten.back());
    CHECK(must_get(engine, "items", "a").attributes == item("a-10", 10));
    CHECK(conflicts_of(engine, "items", "a") == std::vector<std::string>{nine[8].revision.str()});

    // Both replicated, the shorter one last.
    auto t10 = offline_chain("items", "b", Revision(), 10, "ten");
    auto t9 = offline_chain("items", "b", Revision(), 9, "nine");
    REQUIRE(write_one_replicated(engine, remote_of("items", "b", t10, 9)).ok());
    REQUIRE(write_one_replicated(engine, remote_of("items", "b", t9, 8)).ok());
    CHECK(must_get(engine, "items", "b").revision == t10[9].revision);
    auto rows = all_records(engine, "items");
    REQUIRE(rows.size() == 2);
    CHECK(rows[1].revision == t10[9].revision);
    CHECK(rows[1].attributes == t10[9].attributes);
    for (const auto& c : all_changes(engine))
      if (c.id == "b") CHECK(c.revision == t10[9].revision);
    auto page = engine.list_conflicts("items", "", 10);
    REQUIRE(page.entries.size() == 2);
    CHECK(page.entries[1].winner == t10[9].revision);
    CHECK(sorted_strs(page.entries[1].conflicts) == std::vector<std::string>{t9[8].revision.str()});

    // 99 vs 100 too.
    auto h100 = offline_chain("items", "c", Revision(), 100, "h");
    auto h99 = offline_chain("items", "c", Revision(), 99, "g");
    REQUIRE(write_one_replicated(engine, remote_of("items", "c", h99, 98)).ok());
    REQUIRE(write_one_replicated(engine, remote_of("items", "c", h100, 99)).ok());
    CHECK(must_get(engine, "items", "c").revision == h100[99].revision);
  });
}

TEST_CASE("conformance: conflicts are the live leaves other than the winner") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    create_table(engine, items_table());
    Revision r1 = create(engine, "items", "a", item("base"));
    std::vector<Revision> live;
    for (const char* tag : {"p", "q", "r"}) {
      auto branch = offline_chain("items", "a", r1, 2, tag);
      REQUIRE(write_one_replicated(engine, remote_of("items", "a", branch, 1, {r1})).ok());
      live.push_back(branch[1].revision);
    }
    auto dead = offline_chain("items", "a", r1, 4, "dead", /*delete_tip=*/true);
    REQUIRE(write_one_replicated(engine, remote_of("items", "a", dead, 3, {r1})).ok());
    std::sort(live.begin(), live.end());
    Revision winner = live.back();
    GetOptions o;
    o.conflicts = true;
    Record got = must_get(engine, "items", "a", o);
    CHECK(got.revision == winner);
    REQUIRE(got.conflicts.has_value());
    CHECK(sorted_strs(*got.conflicts) == sorted_strs({live[0], live[1]}));
    // Without conflicts=true nothing is filled in.
    CHECK_FALSE(must_get(engine, "items", "a").conflicts.has_value());
    auto page = engine.list_conflicts("", "", 10);
    REQUIRE(page.entries.size() == 1);
    CHECK(page.entries[0].table == "items");
    CHECK(page.entries[0].id == "a");
    CHECK(page.entries[0].winner == winner);
    CHECK(sorted_strs(page.entries[0].conflicts) == sorted_strs({live[0], live[1]}));
    CHECK(leaves_of(engine, "items", "a") ==
          sorted_strs({live[0], live[1], live[2], dead[3].revision}));
  });
}

// ------------------------------------------------------- property: trees --

struct Node {
  OfflineRev rev;
  int parent = -1;
  bool has_child = false;
};

// Expected winner among leaves: live first, then generation, then hash.
bool beats(const Node& a, const Node& b) {
  if (a.rev.deleted != b.rev.deleted) return !a.rev.deleted;
  if (a.rev.revision.generation() != b.rev.revision.generation())
    return a.rev.revision.generation() > b.rev.revision.generation();
  return a.rev.revision.hash() > b.rev.revision.hash();
}

TEST_CASE(
    "conformance: property: random trees in random arrival order converge to the winner rule") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    create_table(engine, items_table());
    const uint64_t seed = test_seed();
    INFO("seed (set OUTPOST_TEST_SEED to replay): ", seed);
    std::mt19937_64 rng(seed);
    auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };

    const int kRecords = 12;
    std::map<std::string, std::vector<Node>> trees;
    std::vector<RemoteRevision> sends;
    for (int k = 0; k < kRecords; ++k) {
      std::string id = "p" + std::to_string(k);
      std::vector<Node>& nodes = trees[id];
      std::set<std::string> seen;
      int roots = 1 + static_cast<int>(pick(3));
      int total = roots + 2 + static_cast<int>(pick(12));
      for (int i = 0; i < total; ++i) {
        Node n;
        n.parent = i < roots ? -1 : static_cast<int>(pick(nodes.size()));
        Revision parent = n.parent < 0 ? Revision() : nodes[n.parent].rev.revision;
        n.rev.parent = parent;
        n.rev.deleted = n.parent >= 0 && pick(4) == 0;
        if (!n.rev.deleted) n.rev.attributes = item("v" + std::to_string(pick(5)), i);
        n.rev.revision = compute_revision("items", id, parent, n.rev.deleted, n.rev.attributes);
        if (!seen.insert(n.rev.revision.str()).second) continue;
        if (n.parent >= 0) nodes[n.parent].has_child = true;
        nodes.push_back(std::move(n));
      }
      // Every leaf with its full ancestry; some inner nodes too.
      for (size_t i = 0; i < nodes.size(); ++i) {
        if (nodes[i].has_child && pick(3) != 0) continue;
        RemoteRevision rr;
        rr.table = "items";
        rr.id = id;
        rr.revision = nodes[i].rev.revision;
        rr.deleted = nodes[i].rev.deleted;
        rr.attributes = nodes[i].rev.attributes;
        for (int p = nodes[i].parent; p >= 0; p = nodes[p].parent)
          rr.ancestry.push_back(nodes[p].rev.revision);
        sends.push_back(std::move(rr));
      }
    }
    std::shuffle(sends.begin(), sends.end(), rng);
    // In random batches.
    for (size_t i = 0; i < sends.size();) {
      size_t n = std::min(sends.size() - i, 1 + pick(5));
      std::vector<RemoteRevision> batch(sends.begin() + i, sends.begin() + i + n);
      auto results = engine.write_replicated(batch);
      REQUIRE(results.size() == n);
      for (size_t j = 0; j < n; ++j) {
        CAPTURE(batch[j].id);
        CAPTURE(batch[j].revision);
        CHECK(results[j].ok());
        CHECK(results[j].revision == batch[j].revision);
      }
      i += n;
    }

    std::map<std::string, Attributes> expected_rows;
    for (const auto& [id, nodes] : trees) {
      CAPTURE(id);
      std::vector<const Node*> leaves;
      for (const auto& n : nodes)
        if (!n.has_child) leaves.push_back(&n);
      const Node* win = leaves[0];
      for (const Node* l : leaves)
        if (beats(*l, *win)) win = l;
      std::vector<std::string> leaf_revs, conflicts;
      for (const Node* l : leaves) {
        leaf_revs.push_back(l->rev.revision.str());
        if (l != win && !l->rev.deleted) conflicts.push_back(l->rev.revision.str());
      }
      Record got = must_get(engine, "items", id);
      CHECK(got.revision == win->rev.revision);
      CHECK(got.deleted == win->rev.deleted);
      CHECK(got.attributes == win->rev.attributes);
      CHECK(leaves_of(engine, "items", id) == sorted(leaf_revs));
      CHECK(conflicts_of(engine, "items", id) == sorted(conflicts));
      if (!win->rev.deleted) expected_rows[id] = win->rev.attributes;
    }
    std::map<std::string, Attributes> rows;
    for (const auto& r : all_records(engine, "items")) rows[r.id] = r.attributes;
    CHECK(rows.size() == expected_rows.size());
    CHECK((rows == expected_rows));
    for (const auto& c : all_changes(engine)) {
      CAPTURE(c.id);
      CHECK(c.revision == must_get(engine, "items", c.id).revision);
    }
  });
}

}  // namespace
}  // namespace outpost::test
