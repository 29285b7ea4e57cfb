// Engine conformance suite: replication reads (revs_diff, bulk_get), record
// and conflict listings with paging, local documents (DESIGN.md sections 4-7).
#include <doctest/doctest.h>

#include <algorithm>
#include <map>

#include "engine/backends.h"

namespace outpost::test {
namespace {

const Revision kNever = Revision::parse("2-0123456789abcdef0123456789abcdef");

BulkGetResult bulk_get_one(Engine& engine, const std::string& table, const std::string& id,
                           const Revision& rev, std::vector<Revision> known = {}) {
  auto results = engine.bulk_get({BulkGetQuery{table, id, rev, std::move(known)}});
  REQUIRE(results.size() == 1);
  return results[0];
}

// ----------------------------------------------------------------- revs_diff --

TEST_CASE("conformance: revs_diff reports the missing revisions and the leaves") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    create_table(engine, items_table());
    auto revs = chain(engine, "items", "a", 3);
    auto theirs = offline_chain("items", "a", revs[0], 1, "theirs");
    REQUIRE(write_one_replicated(engine, remote_of("items", "a", theirs, 0, {revs[0]})).ok());
    Revision tomb = remove(engine, "items", "a", theirs[0].revision);

    auto diff = engine.revs_diff({
        RevsDiffQuery{"items", "a", {revs[2], kNever, revs[0], tomb, theirs[0].revision}},
        RevsDiffQuery{"items", "nobody", {revs[0], kNever}},
        RevsDiffQuery{"items", "a", {}},
    });
    REQUIRE(diff.size() == 3);
    CHECK(diff[0].table == "items");
    CHECK(diff[0].id == "a");
    CHECK(strs(diff[0].missing) == std::vector<std::string>{kNever.str()});
    CHECK(sorted_strs(diff[0].leaves) == sorted_strs({revs[2], tomb}));
    CHECK(diff[1].id == "nobody");
    CHECK(sorted_strs(diff[1].missing) == sorted_strs({revs[0], kNever}));
    CHECK(diff[1].leaves.empty());
    CHECK(diff[2].missing.empty());
    CHECK(sorted_strs(diff[2].leaves) == sorted_strs({revs[2], tomb}));
  });
}

// ------------------------------------------------------------------ bulk_get --

TEST_CASE("conformance: bulk_get returns the body with ancestry cut at the first known revision") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    create_table(engine, items_table());
    auto revs = chain(engine, "items", "a", 5);  // r1..r5

    BulkGetResult full = bulk_get_one(engine, "items", "a", revs[4]);
    REQUIRE(full.revision.has_value());
    CHECK_FALSE(full.error.has_value());
    CHECK(full.revision->table == "items");
    CHECK(full.revision->id == "a");
    CHECK(full.revision->revision == revs[4]);
    CHECK_FALSE(full.revision->deleted);
    CHECK(full.revision->attributes == item("a-5", 5));
    CHECK(strs(full.revision->ancestry) == strs({revs[3], revs[2], revs[1], revs[0]}));

    auto cut = bulk_get_one(engine, "items", "a", revs[4], {revs[1]});
    REQUIRE(cut.revision.has_value());
    CHECK(strs(cut.revision->ancestry) == strs({revs[3], revs[2], revs[1]}));

    auto parent_known = bulk_get_one(engine, "items", "a", revs[4], {revs[3]});
    REQUIRE(parent_known.revision.has_value());
    CHECK(strs(parent_known.revision->ancestry) == strs({revs[3]}));

    // Several known: the ancestry ends at the nearest one.
    auto two_known = bulk_get_one(engine, "items", "a", revs[4], {revs[0], revs[2]});
    REQUIRE(two_known.revision.has_value());
    CHECK(strs(two_known.revision->ancestry) == strs({revs[3], revs[2]}));

    // Known revisions that are not ancestors do not cut anything.
    auto unrelated = bulk_get_one(engine, "items", "a", revs[4], {kNever});
    REQUIRE(unrelated.revision.has_value());
    CHECK(strs(unrelated.revision->ancestry) == strs({revs[3], revs[2], revs[1], revs[0]}));

    // A non-leaf revision with a body.
    auto inner = bulk_get_one(engine, "items", "a", revs[2]);
    REQUIRE(inner.revision.has_value());
    CHECK(inner.revision->attributes == item("a-3", 3));
    CHECK(strs(inner.revision->ancestry) == strs({revs[1], revs[0]}));

    // A root has no ancestry.
    auto root = bulk_get_one(engine, "items", "a", revs[0]);
    REQUIRE(root.revision.has_value());
    CHECK(root.revision->ancestry.empty());
  });
}

TEST_CASE("conformance: bulk_get of tombstones, stubs and unknown revisions") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    create_table(engine, items_table());
    Revision r1 = create(engine, "items", "a", item("a"));
    Revision d2 = remove(engine, "items", "a", r1);
    auto tomb = bulk_get_one(engine, "items", "a", d2);
    REQUIRE(tomb.revision.has_value());
    CHECK(tomb.revision->deleted);
    CHECK(tomb.revision->attributes.empty());
    CHECK(strs(tomb.revision->ancestry) == strs({r1}));

    auto path = offline_chain("items", "s", Revision(), 3, "s");
    REQUIRE(write_one_replicated(engine, remote_of("items", "s", path, 2)).ok());
    auto stub = bulk_get_one(engine, "items", "s", path[1].revision);
    CHECK_FALSE(stub.revision.has_value());
    CHECK(stub.error.has_value());

    auto unknown = bulk_get_one(engine, "items", "a", kNever);
    CHECK_FALSE(unknown.revision.has_value());
    REQUIRE(unknown.error.has_value());
    CHECK(unknown.error->code() == ErrorCode::not_found);
    auto nobody = bulk_get_one(engine, "items", "nobody", r1);
    CHECK_FALSE(nobody.revision.has_value());
    CHECK(nobody.error.has_value());

    // The tip of a stubbed path is served with its ancestry.
    auto tip = bulk_get_one(engine, "items", "s", path[2].revision);
    REQUIRE(tip.revision.has_value());
    CHECK(strs(tip.revision->ancestry) == strs({path[1].revision, path[0].revision}));
    // Results come back in query order, one per query.
    auto many =
        engine.bulk_get({BulkGetQuery{"items", "a", kNever, {}}, BulkGetQuery{"items", "a", d2, {}},
                         BulkGetQuery{"items", "s", path[2].revision, {}}});
    REQUIRE(many.size() == 3);
    CHECK_FALSE(many[0].revision.has_value());
    REQUIRE(many[1].revision.has_value());
    CHECK(many[1].revision->revision == d2);
    REQUIRE(many[2].revision.has_value());
    CHECK(many[2].revision->revision == path[2].revision);
  });
}

TEST_CASE("conformance: batched reads answer in query order across tables, repeats included") {
  // The engine reads a batch per table in one go; answers must still line
  // up with the queries.
  run_on_backends([](Engine& engine, TestDatabase&) {
    create_table(engine, items_table());
    create_table(engine, Table{"notes", {col("text", ValueType::string)}});
    auto a = chain(engine, "items", "a", 2);
    Revision n = create(engine, "notes", "a", Attributes{{"text", str("same id, other table")}});
    Revision b = create(engine, "items", "b", item("b"));

    auto diff = engine.revs_diff({
        RevsDiffQuery{"notes", "a", {n, kNever}},
        RevsDiffQuery{"items", "a", {a[1]}},
        RevsDiffQuery{"items", "b", {kNever}},
        RevsDiffQuery{"items", "a", {a[0], kNever}},
        RevsDiffQuery{"nowhere", "a", {n}},
    });
    REQUIRE(diff.size() == 5);
    CHECK(strs(diff[0].missing) == std::vector<std::string>{kNever.str()});
    CHECK(strs(diff[0].leaves) == std::vector<std::string>{n.str()});
    CHECK(diff[1].missing.empty());
    CHECK(strs(diff[1].leaves) == std::vector<std::string>{a[1].str()});
    CHECK(strs(diff[2].missing) == std::vector<std::string>{kNever.str()});
    CHECK(strs(diff[2].leaves) == std::vector<std::string>{b.str()});
    CHECK(strs(diff[3].missing) == std::vector<std::string>{kNever.str()});
    CHECK(strs(diff[3].leaves) == std::vector<std::string>{a[1].str()});
    CHECK(diff[4].table == "nowhere");
    CHECK(strs(diff[4].missing) == std::vector<std::string>{n.str()});

    auto got = engine.bulk_get({
        BulkGetQuery{"items", "b", b, {}},
        BulkGetQuery{"notes", "a", n, {}},
        BulkGetQuery{"items", "a", a[1], {}},
        BulkGetQuery{"items", "a", kNever, {}},
        BulkGetQuery{"items", "b", b, {}},
        BulkGetQuery{"nowhere", "a", n, {}},
    });
    REQUIRE(got.size() == 6);
    REQUIRE(got[0].revision);
    CHECK(got[0].revision->id == "b");
    CHECK(got[0].revision->attributes == item("b"));
    REQUIRE(got[1].revision);
    CHECK(got[1].revision->table == "notes");
    CHECK(got[1].revision->attributes.at("text") == str("same id, other table"));
    CHECK(got[1].revision->ancestry.empty());
    REQUIRE(got[2].revision);
    CHECK(got[2].revision->revision == a[1]);
    CHECK(strs(got[2].revision->ancestry) == std::vector<std::string>{a[0].str()});
    REQUIRE(got[3].error);
    CHECK(got[3].error->code() == ErrorCode::not_found);
    REQUIRE(got[4].revision);
    CHECK(got[4].revision->attributes == item("b"));
    REQUIRE(got[5].error);
    CHECK(got[5].error->code() == ErrorCode::unknown_table);
  });
}

TEST_CASE("conformance: what bulk_get serves, write_replicated accepts on another database") {
  run_on_backends([](Engine& source, TestDatabase& db) {
    std::unique_ptr<TestDatabase> target_db;
    for (const auto& b : test_backends())
      if (b.name == db.backend()) target_db = b.create();
    REQUIRE(target_db);
    Engine& target = target_db->engine();
    create_table(source, items_table());
    create_table(target, items_table());

    // Source history: a chain, a conflict, a deletion.
    auto revs = chain(source, "items", "a", 4);
    auto side = offline_chain("items", "a", revs[1], 1, "side");
    REQUIRE(write_one_replicated(source, remote_of("items", "a", side, 0, {revs[1]})).ok());
    Revision b1 = create(source, "items", "b", item("b"));
    Revision b2 = remove(source, "items", "b", b1);
    // The target already has a prefix of "a".
    auto prefix = bulk_get_one(source, "items", "a", revs[1]);
    REQUIRE(prefix.revision.has_value());
    REQUIRE(write_one_replicated(target, *prefix.revision).ok());

    // One replication round by hand.
    std::vector<RevsDiffQuery> queries;
    for (const auto& c : all_changes(source)) queries.push_back({c.table, c.id, c.leaves});
    auto diff = target.revs_diff(queries);
    REQUIRE(diff.size() == queries.size());
    std::vector<BulkGetQuery> gets;
    for (const auto& d : diff)
      for (const auto& m : d.missing) {
        std::vector<Revision> known = d.leaves;
        gets.push_back({d.table, d.id, m, known});
      }
    CHECK(gets.size() == 3);  // a's two leaves and b's tombstone
    auto fetched = source.bulk_get(gets);
    std::vector<RemoteRevision> docs;
    for (const auto& f : fetched) {
      REQUIRE(f.revision.has_value());
      docs.push_back(*f.revision);
    }
    // "a"'s main leaf ancestry stops at the target's known revs[1].
    for (const auto& d : docs)
      if (d.revision == revs[3]) CHECK(strs(d.ancestry) == strs({revs[2], revs[1]}));
    for (const auto& r : target.write_replicated(docs)) CHECK(r.ok());

    for (const char* id : {"a", "b"}) {
      CAPTURE(id);
      Record s = must_get(source, "items", id);
      Record t = must_get(target, "items", id);
      CHECK(t.revision == s.revision);
      CHECK(t.deleted == s.deleted);
      CHECK(t.attributes == s.attributes);
      CHECK(leaves_of(target, "items", id) == leaves_of(source, "items", id));
      CHECK(conflicts_of(target, "items", id) == conflicts_of(source, "items", id));
    }
    CHECK(must_get(target, "items", "b").revision == b2);
    // Nothing more to fetch.
    for (const auto& d : target.revs_diff(queries)) CHECK(d.missing.empty());
  });
}

// ------------------------------------------------------------- list_records --

TEST_CASE("conformance: list_records pages live records in id order") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    create_table(engine, items_table());
    Table other = items_table();
    other.name = "other";
    create_table(engine, other);
    std::vector<std::string> ids = {"b", "a", "B",  "Z9", "é", "a b", "a/b", "a-b",
                                    "0", "~", "aa", "ab", "z", "😀",   "Ω"};
    for (int i = 0; i < 12; ++i) ids.push_back("n" + std::to_string(i));
    for (const auto& id : ids) create(engine, "items", id, item("v-" + id));
    create(engine, "other", "a", item("other"));
    // Deleted records are not listed.
    Revision gone = create(engine, "items", "gone", item("gone"));
    remove(engine, "items", "gone", gone);
    Revision back = create(engine, "items", "n3-deleted", item("x"));
    remove(engine, "items", "n3-deleted", back);

    std::vector<std::string> expected = sorted(ids);  // bytewise order
    for (size_t page_size : {size_t{1}, size_t{4}, size_t{5}, size_t{27}, size_t{100}}) {
      CAPTURE(page_size);
      std::vector<std::string> seen;
      std::string after;
      size_t pages = 0;
      for (int guard = 0; guard < 100; ++guard) {
        RecordPage page = engine.list_records("items", after, page_size);
        ++pages;
        CHECK(page.records.size() <= page_size);
        for (const auto& r : page.records) {
          seen.push_back(r.id);
          CHECK(r.table == "items");
          CHECK(r.attributes == item("v-" + r.id));
          CHECK_FALSE(r.deleted);
          CHECK(r.revision == compute_revision("items", r.id, Revision(), false, r.attributes));
        }
        if (page.next.empty()) break;
        CHECK(page.next == page.records.back().id);
        after = page.next;
      }
      CHECK(seen == expected);
      CHECK(pages >= (expected.size() + page_size - 1) / page_size);
    }
    // After an id that is not present.
    RecordPage rest = engine.list_records("items", "n", 100);
    std::vector<std::string> tail;
    for (const auto& r : rest.records) tail.push_back(r.id);
    std::vector<std::string> expected_tail;
    for (const auto& id : expected)
      if (id > std::string("n")) expected_tail.push_back(id);
    CHECK(tail == expected_tail);
    CHECK(all_records(engine, "other").size() == 1);
  });
}

// ----------------------------------------------------------- list_conflicts --

TEST_CASE("conformance: list_conflicts pages conflicted records across tables") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    create_table(engine, items_table());
    Table other = items_table();
    other.name = "other";
    create_table(engine, other);
    auto conflicted = [&](const std::string& table, const std::string& id) {
      Revision mine = create(engine, table, id, item("mine"));
      auto theirs = offline_chain(table, id, Revision(), 1, "theirs");
      REQUIRE(write_one_replicated(engine, remote_of(table, id, theirs, 0)).ok());
      return std::make_pair(std::max(mine, theirs[0].revision), std::min(mine, theirs[0].revision));
    };
    std::map<std::string, std::pair<Revision, Revision>> expected;
    for (const char* id : {"c1", "c2", "c3", "c4"})
      expected["items/" + std::string(id)] = conflicted("items", id);
    for (const char* id : {"c1", "d1"})
      expected["other/" + std::string(id)] = conflicted("other", id);
    create(engine, "items", "plain", item("plain"));
    // A conflict that was resolved is no longer listed.
    auto resolved = conflicted("items", "resolved");
    resolve_record(engine, "items", "resolved", resolved.first, item("fixed"));

    for (size_t page_size : {size_t{1}, size_t{2}, size_t{4}, size_t{100}}) {
      CAPTURE(page_size);
      std::vector<std::string> seen;
      std::string after;
      for (int guard = 0; guard < 100; ++guard) {
        ConflictPage page = engine.list_conflicts("", after, page_size);
        CHECK(page.entries.size() <= page_size);
        for (const auto& e : page.entries) {
          std::string key = e.table + "/" + e.id;
          CAPTURE(key);
          seen.push_back(key);
          REQUIRE(expected.count(key) == 1);
          CHECK(e.winner == expected[key].first);
          CHECK(strs(e.conflicts) == strs({expected[key].second}));
        }
        if (page.next.empty()) break;
        after = page.next;
      }
      CHECK(sorted(seen) == std::vector<std::string>{"items/c1", "items/c2", "items/c3", "items/c4",
                                                     "other/c1", "other/d1"});
      CHECK(seen.size() == 6);  // no entry twice
    }
    // Filtered by table, paged.
    std::vector<std::string> only;
    std::string after;
    for (int guard = 0; guard < 100; ++guard) {
      ConflictPage page = engine.list_conflicts("other", after, 1);
      for (const auto& e : page.entries) only.push_back(e.table + "/" + e.id);
      if (page.next.empty()) break;
      after = page.next;
    }
    CHECK(sorted(only) == std::vector<std::string>{"other/c1", "other/d1"});
  });
}

// ------------------------------------------------------------ local documents --

TEST_CASE("conformance: local documents are stored, overwritten and not replicated") {
  run_on_backends([](Engine& engine, TestDatabase& db) {
    create_table(engine, items_table());
    create(engine, "items", "a", item("a"));
    std::string seq = engine.update_seq();
    auto feed = all_changes(engine);

    CHECK_FALSE(engine.get_local("checkpoint-1").has_value());
    std::string doc1 = R"({"last_seq":"41","updated_at":"2026-11-22T10:00:00.000000Z"})";
    engine.put_local("checkpoint-1", doc1);
    CHECK(engine.get_local("checkpoint-1") == std::optional<std::string>(doc1));
    std::string doc2 = R"({"last_seq":"42","note":"ünïcode \"quoted\""})";
    engine.put_local("checkpoint-1", doc2);
    CHECK(engine.get_local("checkpoint-1") == std::optional<std::string>(doc2));
    // Ids are free-form (replication ids are hex digests).
    std::string hex_id(64, 'f');
    engine.put_local(hex_id, "{}");
    engine.put_local("with/slash and space", "[1,2,3]");
    CHECK(engine.get_local(hex_id) == std::optional<std::string>("{}"));
    CHECK(engine.get_local("with/slash and space") == std::optional<std::string>("[1,2,3]"));
    CHECK_FALSE(engine.get_local("checkpoint-2").has_value());

    // Not in the feed, not a record.
    CHECK(engine.update_seq() == seq);
    CHECK(all_changes(engine).size() == feed.size());
    CHECK(all_records(engine, "items").size() == 1);

    // Listed whole, in id order.
    using Local = std::vector<std::pair<std::string, std::string>>;
    CHECK(engine.list_local() ==
          Local{{"checkpoint-1", doc2}, {hex_id, "{}"}, {"with/slash and space", "[1,2,3]"}});

    db.reopen();
    CHECK(db.engine().get_local("checkpoint-1") == std::optional<std::string>(doc2));
    CHECK(db.engine().list_local().size() == 3);
  });
}

}  // namespace
}  // namespace outpost::test
