// Maintained counts (Engine::table_counts), scoped counts (count_in_scope,
// scope_change_counts) and revision trees (Engine::revision_tree), on every
// backend. The maintained counts are compared after each step with a real
// enumeration through list_records and list_conflicts, and check() must
// find nothing wrong (it compares them with T too).
#include <doctest/doctest.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "api/scope.h"
#include "engine/backends.h"
#include "reconciler/wrappers.h"

namespace outpost::test {
namespace {

Table other_table() { return Table{"other", {col("name", ValueType::string)}}; }

TableCounts counts_of(Engine& engine, const std::string& table) {
  for (const TableCounts& c : engine.table_counts()) {
    if (c.table == table) return c;
  }
  FAIL("table_counts() has no entry for " << table);
  return {};
}

// The counts found by reading every live record and every conflict, in
// small pages.
TableCounts enumerated(Engine& engine, const std::string& table) {
  TableCounts out{table, 0, 0};
  out.records = static_cast<int64_t>(all_records(engine, table, 7).size());
  std::string after;
  for (;;) {
    ConflictPage page = engine.list_conflicts(table, after, 5);
    out.conflicts += static_cast<int64_t>(page.entries.size());
    if (page.next.empty()) break;
    after = page.next;
  }
  return out;
}

void expect_counts(Engine& engine, const std::string& table, int64_t records, int64_t conflicts) {
  CAPTURE(table);
  TableCounts kept = counts_of(engine, table);
  CHECK(kept.records == records);
  CHECK(kept.conflicts == conflicts);
  TableCounts real = enumerated(engine, table);
  CHECK(real.records == records);
  CHECK(real.conflicts == conflicts);
  CHECK(engine.check() == std::vector<std::string>{});
}

// A replicated branch of `id` on top of `parent`: n revisions, the last a
// tombstone when `delete_tip`; returns the tip.
Revision branch(Engine& engine, const std::string& table, const std::string& id,
                const Revision& parent, int n, const std::string& tag, bool delete_tip = false,
                const std::vector<Revision>& below = {}) {
  std::vector<OfflineRev> chain = offline_chain(table, id, parent, n, tag, delete_tip);
  std::vector<Revision> path = below;
  if (!parent.empty() && (path.empty() || path.front() != parent))
    path.insert(path.begin(), parent);
  WriteResult r = write_one_replicated(engine, remote_of(table, id, chain, chain.size() - 1, path));
  REQUIRE_MESSAGE(r.ok(), (r.error ? r.error->what() : ""));
  return chain.back().revision;
}

ScopeClause clause(Engine& engine, const std::string& text) {
  Scope scope = parse_scope(text, engine.list_tables());
  REQUIRE(scope.clauses.size() == 1);
  return scope.clauses[0];
}

TEST_CASE("counts: every kind of write keeps table_counts exact") {
  run_on_backends([](Engine& engine, TestDatabase& db) {
    create_table(engine, items_table());
    create_table(engine, other_table());
    CHECK(engine.table_counts() ==
          std::vector<TableCounts>{{"items", 0, 0}, {"other", 0, 0}});  // name order

    Revision a1 = create(engine, "items", "a", item("a"));
    Revision b1 = create(engine, "items", "b", item("b"));
    Revision c1 = create(engine, "items", "c", item("c"));
    create(engine, "other", "o", {{"name", str("o")}});
    expect_counts(engine, "items", 3, 0);
    expect_counts(engine, "other", 1, 0);

    Revision a2 = update(engine, "items", "a", a1, item("a2"));
    expect_counts(engine, "items", 3, 0);
    Revision b2 = remove(engine, "items", "b", b1);
    expect_counts(engine, "items", 2, 0);
    create(engine, "items", "b", item("b again"));  // on the tombstone
    expect_counts(engine, "items", 3, 0);

    // A replicated edit on an older revision: a conflict.
    Revision c2 = update(engine, "items", "c", c1, item("c local"));
    Revision c_remote = branch(engine, "items", "c", c1, 1, "c-remote");
    expect_counts(engine, "items", 3, 1);
    // Replayed: nothing changes.
    branch(engine, "items", "c", c1, 1, "c-remote");
    expect_counts(engine, "items", 3, 1);
    // Resolved: tombstones on the other leaf.
    Revision winner = must_get(engine, "items", "c").revision;
    resolve_record(engine, "items", "c", winner, item("c resolved"));
    expect_counts(engine, "items", 3, 0);

    // A record deleted here comes back by a live branch from elsewhere:
    // live again, no conflict (a tombstone is not one).
    Revision e1 = create(engine, "items", "e", item("e"));
    remove(engine, "items", "e", e1);
    expect_counts(engine, "items", 3, 0);
    branch(engine, "items", "e", e1, 2, "e-remote");
    CHECK_FALSE(must_get(engine, "items", "e").deleted);
    expect_counts(engine, "items", 4, 0);

    // A new record arriving with two roots: live and conflicted at once.
    branch(engine, "items", "d", Revision(), 2, "d-one");
    branch(engine, "items", "d", Revision(), 1, "d-two");
    expect_counts(engine, "items", 5, 1);
    // Deleting its winner leaves the other leaf, alone: no conflict.
    Record d = must_get(engine, "items", "d");
    remove(engine, "items", "d", d.revision);
    CHECK_FALSE(must_get(engine, "items", "d").deleted);
    expect_counts(engine, "items", 5, 0);
    // A conflict arriving on a live record whose winner stays.
    branch(engine, "items", "a", a1, 1, "a-remote");
    expect_counts(engine, "items", 5, 1);

    // add_columns in the middle, then more writes.
    Table wider = items_table();
    wider.columns.push_back(col("extra", ValueType::int_));
    engine.put_table(wider);
    expect_counts(engine, "items", 5, 1);
    create(engine, "items", "f", {{"name", str("f")}, {"extra", num(7)}});
    expect_counts(engine, "items", 6, 1);
    branch(engine, "items", "f", Revision(), 1, "f-root");
    expect_counts(engine, "items", 6, 2);

    // Purges: a conflicted record, a deleted one, a plain one.
    Revision g1 = create(engine, "items", "g", item("g"));
    remove(engine, "items", "g", g1);
    expect_counts(engine, "items", 6, 2);
    PurgeResult purged = engine.purge(PurgeRequest{"items", {"a", "g", "e"}, "test", {}});
    CHECK(sorted(purged.purged) == std::vector<std::string>{"a", "e", "g"});
    expect_counts(engine, "items", 4, 1);
    expect_counts(engine, "other", 1, 0);

    // The same after reopening.
    db.reopen();
    expect_counts(db.engine(), "items", 4, 1);
    (void)a2, (void)b2, (void)c2, (void)c_remote;
  });
}

TEST_CASE("counts: property: random writes keep table_counts equal to an enumeration") {
  run_on_backends([](Engine& engine, TestDatabase& db) {
    const uint64_t seed = test_seed();
    INFO("seed (set OUTPOST_TEST_SEED to replay): ", seed);
    std::mt19937_64 rng(seed);
    auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
    create_table(engine, items_table());
    const int kIds = 16;
    const int kSteps = db.backend() == "postgres" ? 150 : 250;
    bool widened = false;
    for (int step = 0; step < kSteps; ++step) {
      CAPTURE(step);
      std::string id = "r" + std::to_string(pick(kIds));
      CAPTURE(id);
      std::optional<Record> rec = engine.get("items", id, GetOptions{{}, true, false, nullptr});
      size_t op = pick(10);
      std::string tag = "s" + std::to_string(step);
      if (!rec || rec->deleted) {
        if (op < 6) {
          create(engine, "items", id, item(tag, step));
        } else if (op < 8) {
          branch(engine, "items", id, Revision(), 1 + static_cast<int>(pick(2)), tag);
        } else if (rec && op == 8) {
          engine.purge(PurgeRequest{"items", {id}, "test", {}});
        } else {
          branch(engine, "items", id, Revision(), 1, tag, true);  // a root tombstone
        }
      } else if (op < 3) {
        update(engine, "items", id, rec->revision, item(tag, step));
      } else if (op < 5) {
        remove(engine, "items", id, rec->revision);
      } else if (op < 7) {
        // A branch from the winner's parent or from the winner.
        std::vector<Revision> ancestry =
            must_get(engine, "items", id, GetOptions{{}, false, true, nullptr}).ancestry.value();
        Revision base = ancestry.empty() || pick(2) ? rec->revision : ancestry.front();
        std::vector<Revision> below;
        if (base == rec->revision) {
          below.push_back(rec->revision);
          below.insert(below.end(), ancestry.begin(), ancestry.end());
        } else {
          below = ancestry;
        }
        branch(engine, "items", id, base, 1, tag, pick(4) == 0, below);
      } else if (op == 7 && !rec->conflicts->empty()) {
        resolve_record(engine, "items", id, rec->conflicts->front(), item(tag));
      } else if (op == 8) {
        engine.purge(PurgeRequest{"items", {id}, "test", {}});
      } else if (!widened && pick(4) == 0) {
        Table wider = items_table();
        wider.columns.push_back(col("extra", ValueType::int_));
        engine.put_table(wider);
        widened = true;
      } else if (!rec->conflicts->empty()) {
        remove(engine, "items", id, rec->conflicts->front());  // delete a conflict branch
      } else {
        update(engine, "items", id, rec->revision, item(tag));
      }
      TableCounts kept = counts_of(engine, "items");
      TableCounts real = enumerated(engine, "items");
      REQUIRE(kept.records == real.records);
      REQUIRE(kept.conflicts == real.conflicts);
    }
    CHECK(engine.check() == std::vector<std::string>{});
    TableCounts real = enumerated(engine, "items");
    CHECK(real.records > 0);  // the walk did something
  });
}

TEST_CASE("counts: check() reports maintained counts that drifted from the table") {
  run_on_backends([](Engine& engine, TestDatabase& db) {
    create_table(engine, items_table());
    create(engine, "items", "a", item("a"));
    REQUIRE(engine.check().empty());
    run_raw(db, db.backend() == "postgres"
                    ? "INSERT INTO \"_count_deltas\" VALUES('items', 2, 1)"
                    : "UPDATE \"_counts\" SET \"records\"=\"records\"+2, "
                      "\"conflicts\"=\"conflicts\"+1 WHERE \"table\"='items'");
    db.reopen();
    std::vector<std::string> problems = db.engine().check();
    REQUIRE(problems.size() == 1);
    CHECK(problems[0] ==
          "items: the maintained counts say 3 records and 1 conflicts, but the table holds 1 "
          "records and 0 conflicts");
  });
}

TEST_CASE("counts: a database from before maintained counts is counted once when opened") {
  run_on_backends([](Engine& engine, TestDatabase& db) {
    create_table(engine, items_table());
    create_table(engine, other_table());
    Revision a1 = create(engine, "items", "a", item("a"));
    update(engine, "items", "a", a1, item("a2"));
    branch(engine, "items", "a", a1, 1, "remote");
    Revision b1 = create(engine, "items", "b", item("b"));
    remove(engine, "items", "b", b1);
    create(engine, "items", "c", item("c"));
    expect_counts(engine, "items", 2, 1);
    const bool pg = db.backend() == "postgres";
    // What the previous schema version had: no counts, no triggers.
    std::string undo;
    for (const char* t : {"items", "other"}) {
      if (pg) {
        for (const char* trigger : {"_counts_inserted", "_counts_deleted", "_counts_flagged"}) {
          undo += "DROP TRIGGER \"" + std::string(trigger) + "\" ON \"" + t + "\"; ";
        }
      } else {
        for (const char* suffix : {"_counts_ins", "_counts_del", "_counts_upd"}) {
          undo += "DROP TRIGGER \"_" + std::string(t) + suffix + "\"; ";
        }
      }
    }
    undo += pg ? "DROP TABLE \"_count_deltas\"; DROP FUNCTION \"_counts_inserted\"(); "
                 "DROP FUNCTION \"_counts_deleted\"(); DROP FUNCTION \"_counts_flagged\"(); "
               : "DROP TABLE \"_counts\"; ";
    const std::string previous = pg ? "3" : "4";
    const std::string current = pg ? "4" : "5";
    CHECK(db.raw_query("SELECT \"value\" FROM \"_meta\" WHERE \"key\"='schema_version'")
              .at(0)
              .at(0) == std::optional<std::string>(current));
    run_raw(db, undo + "UPDATE \"_meta\" SET \"value\"='" + previous +
                    "' WHERE \"key\"='schema_version'");
    db.reopen();
    Engine& e = db.engine();
    CHECK(db.raw_query("SELECT \"value\" FROM \"_meta\" WHERE \"key\"='schema_version'")
              .at(0)
              .at(0) == std::optional<std::string>(current));
    CHECK(e.table_counts() == std::vector<TableCounts>{{"items", 2, 1}, {"other", 0, 0}});
    CHECK(e.check().empty());
    // And maintained from then on.
    create(e, "items", "d", item("d"));
    create(e, "other", "o", {{"name", str("o")}});
    expect_counts(e, "items", 3, 1);
    expect_counts(e, "other", 1, 0);
    // Migrating again (the version set back, the machinery left) counts anew.
    run_raw(db, "UPDATE \"_meta\" SET \"value\"='" + previous + "' WHERE \"key\"='schema_version'");
    db.reopen();
    CHECK(db.engine().table_counts() == std::vector<TableCounts>{{"items", 3, 1}, {"other", 1, 0}});
    CHECK(db.engine().check().empty());
  });
}

TEST_CASE("counts: count_in_scope and scope_change_counts") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    create_table(engine, items_table());
    for (int i = 1; i <= 10; ++i) create(engine, "items", "k" + std::to_string(i), item("x", i));
    create(engine, "items", "nosize", item("x"));
    Revision gone = create(engine, "items", "gone", item("x", 4));
    remove(engine, "items", "gone", gone);  // not live: counted nowhere
    // k4 conflicted, its winner still of size 4 (a generation above the branch).
    Revision k4 =
        update(engine, "items", "k4", must_get(engine, "items", "k4").revision, item("y", 4));
    branch(engine, "items", "k4", Revision(), 1, "k4-root");
    REQUIRE(must_get(engine, "items", "k4").attributes.at("size") == num(4));

    ScopeClause low = clause(engine, "items: size IN (1, 2, 3, 4, 5)");
    ScopeClause mid = clause(engine, "items: size IN (4, 5, 6, 7, 8)");
    ScopeClause all = clause(engine, "items: *");
    ScopeClause none = clause(engine, "items: size IS NULL");
    ScopeClause two = clause(engine, "items: size IN (4, 5, 6, 7, 8) AND _id IN ('k5', 'k6')");

    CHECK(engine.count_in_scope("items", low) == TableCounts{"items", 5, 1});
    CHECK(engine.count_in_scope("items", all) == TableCounts{"items", 11, 1});
    CHECK(engine.count_in_scope("items", none) == TableCounts{"items", 1, 0});
    CHECK(engine.count_in_scope("items", two) == TableCounts{"items", 2, 0});

    CHECK(engine.scope_change_counts("items", &low, &mid) == ScopeChangeCounts{3, 3, 2});
    CHECK(engine.scope_change_counts("items", &mid, &low) == ScopeChangeCounts{3, 3, 2});
    CHECK(engine.scope_change_counts("items", nullptr, &low) == ScopeChangeCounts{5, 0, 0});
    CHECK(engine.scope_change_counts("items", &low, nullptr) == ScopeChangeCounts{0, 5, 0});
    CHECK(engine.scope_change_counts("items", nullptr, nullptr) == ScopeChangeCounts{0, 0, 0});
    CHECK(engine.scope_change_counts("items", nullptr, &all) == ScopeChangeCounts{11, 0, 0});
    CHECK(engine.scope_change_counts("items", &all, nullptr) == ScopeChangeCounts{0, 11, 0});
    CHECK(engine.scope_change_counts("items", &all, &all) == ScopeChangeCounts{0, 0, 11});
    CHECK(engine.scope_change_counts("items", &all, &low) == ScopeChangeCounts{0, 6, 5});
    CHECK(engine.scope_change_counts("items", &low, &all) == ScopeChangeCounts{6, 0, 5});
    // A null size matches no IN list, on either side.
    CHECK(engine.scope_change_counts("items", &none, &low) == ScopeChangeCounts{5, 1, 0});
    CHECK(engine.scope_change_counts("items", &two, &mid) == ScopeChangeCounts{3, 0, 2});
    CHECK(engine.scope_change_counts("items", &low, &low) == ScopeChangeCounts{0, 0, 5});
    CHECK(error_of([&] { engine.scope_change_counts("nowhere", &all, nullptr); }) ==
          ErrorCode::unknown_table);
    CHECK(error_of([&] { engine.count_in_scope("nowhere", all); }) == ErrorCode::unknown_table);
    (void)k4;
  });
}

TEST_CASE("revision tree: a record with a conflict, a tombstone branch and stubs") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    create_table(engine, items_table());
    Revision r1 = create(engine, "items", "r", item("one"));
    Revision r2 = update(engine, "items", "r", r1, item("two"));
    // From elsewhere: a branch from r1 that ends in a tombstone, and a live one.
    std::vector<OfflineRev> dead = offline_chain("items", "r", r1, 2, "dead", true);
    REQUIRE(write_one_replicated(engine, remote_of("items", "r", dead, 1, {r1})).ok());
    std::vector<OfflineRev> live = offline_chain("items", "r", r1, 1, "live");
    REQUIRE(write_one_replicated(engine, remote_of("items", "r", live, 0, {r1})).ok());

    std::vector<RevisionNode> tree = engine.revision_tree("items", "r");
    REQUIRE(tree.size() == 5);
    for (size_t i = 1; i < tree.size(); ++i) CHECK(tree[i - 1].revision < tree[i].revision);
    std::map<std::string, RevisionNode> by_rev;
    for (const RevisionNode& n : tree) by_rev[n.revision.str()] = n;
    Record got = must_get(engine, "items", "r", GetOptions{{}, true, false, nullptr});
    int winners = 0;
    for (const RevisionNode& n : tree) winners += n.winner ? 1 : 0;
    CHECK(winners == 1);
    CHECK(by_rev.at(got.revision.str()).winner);
    REQUIRE(got.conflicts->size() == 1);
    CHECK_FALSE(by_rev.at(got.conflicts->front().str()).winner);

    const RevisionNode& root = by_rev.at(r1.str());
    CHECK(root.parent.empty());
    CHECK_FALSE(root.leaf);
    CHECK_FALSE(root.deleted);
    CHECK(by_rev.at(r2.str()).parent == r1);
    CHECK(by_rev.at(r2.str()).leaf);
    CHECK(by_rev.at(dead[0].revision.str()).parent == r1);
    CHECK_FALSE(by_rev.at(dead[0].revision.str()).leaf);
    const RevisionNode& tomb = by_rev.at(dead[1].revision.str());
    CHECK(tomb.deleted);
    CHECK(tomb.leaf);
    CHECK_FALSE(tomb.winner);  // a live leaf beats it, though its generation is higher
    CHECK(tomb.parent == dead[0].revision);
    CHECK(by_rev.at(live[0].revision.str()).leaf);
    // The tombstone's parent came only as its ancestry: a stub.
    for (const RevisionNode& n : tree) CHECK(n.stub == (n.revision == dead[0].revision));

    // A revision received without its ancestors' bodies: stubs.
    std::vector<OfflineRev> far = offline_chain("items", "s", Revision(), 3, "far");
    REQUIRE(write_one_replicated(engine, remote_of("items", "s", far, 2)).ok());
    std::vector<RevisionNode> s = engine.revision_tree("items", "s");
    REQUIRE(s.size() == 3);
    CHECK(s[0].revision == far[0].revision);
    CHECK(s[0].stub);
    CHECK(s[1].stub);
    CHECK_FALSE(s[2].stub);
    CHECK(s[2].winner);
    CHECK(s[2].leaf);
    CHECK(s[1].parent == far[0].revision);

    // A deleted record still has its tree; its winner is the tombstone.
    Revision x1 = create(engine, "items", "x", item("x"));
    Revision x2 = remove(engine, "items", "x", x1);
    std::vector<RevisionNode> x = engine.revision_tree("items", "x");
    REQUIRE(x.size() == 2);
    CHECK(x[1].revision == x2);
    CHECK(x[1].winner);
    CHECK(x[1].deleted);

    // Absent, out of scope, unknown table.
    try {
      engine.revision_tree("items", "nope");
      FAIL("revision_tree of an absent record returned");
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::not_found);
      CHECK(std::string(e.what()) == "there is no record \"nope\" in table \"items\"");
    }
    Scope size_two = parse_scope("items: size IS NULL AND name = 'x'", engine.list_tables());
    CHECK(error_of([&] { engine.revision_tree("items", "r", &size_two); }) == ErrorCode::not_found);
    CHECK(engine.revision_tree("items", "x", &size_two).size() == 2);  // judged by its last body
    Scope other = parse_scope("items: *", engine.list_tables());
    CHECK(engine.revision_tree("items", "r", &other).size() == 5);
    create_table(engine, other_table());
    Scope elsewhere = parse_scope("other: *", engine.list_tables());
    CHECK(error_of([&] { engine.revision_tree("items", "r", &elsewhere); }) ==
          ErrorCode::not_found);
    CHECK(error_of([&] { engine.revision_tree("nowhere", "r"); }) == ErrorCode::unknown_table);
  });
}

TEST_CASE("counts: engines that cannot count say so") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    ForwardingEngine remote(engine);  // inherits the Engine defaults
    ScopeClause all{"items", {}};
    CHECK(error_of([&] { remote.table_counts(); }) == ErrorCode::internal);
    CHECK(error_of([&] { remote.count_in_scope("items", all); }) == ErrorCode::internal);
    CHECK(error_of([&] { remote.scope_change_counts("items", &all, nullptr); }) ==
          ErrorCode::internal);
    CHECK(error_of([&] { remote.revision_tree("items", "a"); }) == ErrorCode::internal);
  });
}

}  // namespace
}  // namespace outpost::test
