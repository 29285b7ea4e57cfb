// Engine conformance suite: the change feed and update_seq (DESIGN.md
// section 6). Cursors are opaque: the tests only hand them back.
#include <doctest/doctest.h>

#include <chrono>
#include <future>
#include <thread>

#include "engine/backends.h"

namespace outpost::test {
namespace {

using Clock = std::chrono::steady_clock;

std::vector<std::string> ids_of(const std::vector<Change>& changes) {
  std::vector<std::string> ids;
  for (const auto& c : changes) ids.push_back(c.table + "/" + c.id);
  return ids;
}

ChangesPage changes_since(Engine& engine, const std::string& since, size_t limit = 10000,
                          std::vector<std::string> tables = {}, int timeout_ms = 0) {
  ChangesRequest req;
  req.since = since;
  req.limit = limit;
  req.tables = std::move(tables);
  req.timeout_ms = timeout_ms;
  return engine.changes(req);
}

TEST_CASE("conformance: the feed lists each changed record once, at its latest position") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    create_table(engine, items_table());
    Revision a1 = create(engine, "items", "a", item("a"));
    Revision b1 = create(engine, "items", "b", item("b"));
    Revision c1 = create(engine, "items", "c", item("c"));
    Revision a2 = update(engine, "items", "a", a1, item("a2"));
    Revision b2 = remove(engine, "items", "b", b1);

    auto feed = all_changes(engine);
    CHECK(ids_of(feed) == std::vector<std::string>{"items/c", "items/a", "items/b"});
    REQUIRE(feed.size() == 3);
    CHECK(feed[0].revision == c1);
    CHECK_FALSE(feed[0].deleted);
    CHECK(strs(feed[0].leaves) == std::vector<std::string>{c1.str()});
    CHECK(feed[1].table == "items");
    CHECK(feed[1].id == "a");
    CHECK(feed[1].revision == a2);
    CHECK(strs(feed[1].leaves) == std::vector<std::string>{a2.str()});
    CHECK(feed[2].revision == b2);
    CHECK(feed[2].deleted);
    CHECK(strs(feed[2].leaves) == std::vector<std::string>{b2.str()});
    for (const auto& c : feed) CHECK_FALSE(c.seq.empty());
    CHECK(feed[0].seq != feed[1].seq);
    CHECK(feed[1].seq != feed[2].seq);

    // since = an entry's seq returns only what comes after it.
    auto after_first = changes_since(engine, feed[0].seq);
    CHECK(ids_of(after_first.results) == std::vector<std::string>{"items/a", "items/b"});
    auto after_all = changes_since(engine, feed[2].seq);
    CHECK(after_all.results.empty());
    // "0" and "" both mean the beginning.
    CHECK(ids_of(changes_since(engine, "0").results) == ids_of(feed));
    CHECK(ids_of(changes_since(engine, "").results) == ids_of(feed));
  });
}

TEST_CASE("conformance: conflicts show up in the feed's leaves") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    create_table(engine, items_table());
    Revision r1 = create(engine, "items", "a", item("a"));
    Revision r2 = update(engine, "items", "a", r1, item("mine"));
    auto theirs = offline_chain("items", "a", r1, 1, "theirs");
    REQUIRE(write_one_replicated(engine, remote_of("items", "a", theirs, 0, {r1})).ok());
    auto feed = all_changes(engine);
    REQUIRE(feed.size() == 1);
    CHECK(sorted_strs(feed[0].leaves) == sorted_strs({r2, theirs[0].revision}));
    CHECK(feed[0].revision == std::max(r2, theirs[0].revision));
  });
}

TEST_CASE("conformance: limit pages the feed and last_seq continues it") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    create_table(engine, items_table());
    std::vector<std::string> expected;
    for (int i = 0; i < 7; ++i) {
      std::string id = "r" + std::to_string(i);
      create(engine, "items", id, item(id));
      expected.push_back("items/" + id);
    }
    auto one = changes_since(engine, "", 1);
    REQUIRE(one.results.size() == 1);
    CHECK(one.last_seq == one.results[0].seq);

    std::vector<std::string> seen;
    std::string since;
    for (int guard = 0; guard < 20; ++guard) {
      auto page = changes_since(engine, since, 3);
      CHECK(page.results.size() <= 3);
      if (page.results.empty()) {
        // An empty page hands back a cursor that is still usable.
        CHECK(changes_since(engine, page.last_seq).results.empty());
        break;
      }
      for (const auto& c : page.results) seen.push_back(c.table + "/" + c.id);
      CHECK(page.last_seq == page.results.back().seq);
      since = page.last_seq;
    }
    CHECK(seen == expected);

    // The last page's last_seq: nothing after it until the next write.
    auto full = changes_since(engine, "");
    CHECK(changes_since(engine, full.last_seq).results.empty());
    CHECK(changes_since(engine, changes_since(engine, full.last_seq).last_seq).results.empty());
    create(engine, "items", "late", item("late"));
    auto later = changes_since(engine, full.last_seq);
    CHECK(ids_of(later.results) == std::vector<std::string>{"items/late"});
  });
}

TEST_CASE("conformance: the feed filters by table") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    create_table(engine, items_table());
    create_table(engine, typed_table());
    Table third = items_table();
    third.name = "third";
    create_table(engine, third);
    create(engine, "items", "i1", item("i1"));
    create(engine, "typed", "t1", {{"s", str("t1")}});
    create(engine, "third", "x1", item("x1"));
    create(engine, "items", "i2", item("i2"));
    create(engine, "typed", "t2", {{"s", str("t2")}});

    CHECK(ids_of(changes_since(engine, "", 100, {"items"}).results) ==
          std::vector<std::string>{"items/i1", "items/i2"});
    CHECK(ids_of(changes_since(engine, "", 100, {"typed", "third"}).results) ==
          std::vector<std::string>{"typed/t1", "third/x1", "typed/t2"});
    CHECK(ids_of(changes_since(engine, "", 100).results).size() == 5);
    // Filter and limit together, then continue from last_seq.
    auto p1 = changes_since(engine, "", 1, {"typed"});
    CHECK(ids_of(p1.results) == std::vector<std::string>{"typed/t1"});
    auto p2 = changes_since(engine, p1.last_seq, 10, {"typed"});
    CHECK(ids_of(p2.results) == std::vector<std::string>{"typed/t2"});
    // The same id in two tables is two records.
    create(engine, "third", "i1", item("third's i1"));
    CHECK(ids_of(changes_since(engine, p2.last_seq, 10, {"items"}).results).empty());
    CHECK(ids_of(changes_since(engine, p2.last_seq).results) ==
          std::vector<std::string>{"third/i1"});
  });
}

TEST_CASE("conformance: update_seq advances with every write and is a feed cursor") {
  run_on_backends([](Engine& engine, TestDatabase& db) {
    create_table(engine, items_table());
    std::string s0 = engine.update_seq();
    Revision r1 = create(engine, "items", "a", item("a"));
    std::string s1 = engine.update_seq();
    CHECK(s1 != s0);
    CHECK(changes_since(engine, s1).results.empty());
    auto since0 = changes_since(engine, s0);
    CHECK(ids_of(since0.results) == std::vector<std::string>{"items/a"});

    update(engine, "items", "a", r1, item("b"));
    std::string s2 = engine.update_seq();
    CHECK(s2 != s1);
    CHECK(ids_of(changes_since(engine, s1).results) == std::vector<std::string>{"items/a"});

    auto remote = offline_chain("items", "r", Revision(), 1, "r");
    REQUIRE(write_one_replicated(engine, remote_of("items", "r", remote, 0)).ok());
    std::string s3 = engine.update_seq();
    CHECK(s3 != s2);
    CHECK(ids_of(changes_since(engine, s2).results) == std::vector<std::string>{"items/r"});

    // A failed write moves nothing.
    CHECK(error_of([&] { create(engine, "items", "a", item("dup")); }) == ErrorCode::conflict);
    CHECK(engine.update_seq() == s3);

    // Cursors survive a reopen; sequence values are never reused.
    db.reopen();
    CHECK(db.engine().update_seq() == s3);
    CHECK(changes_since(db.engine(), s3).results.empty());
    create(db.engine(), "items", "after", item("after"));
    CHECK(ids_of(changes_since(db.engine(), s3).results) ==
          std::vector<std::string>{"items/after"});
    CHECK(db.engine().update_seq() != s3);
  });
}

TEST_CASE("conformance: a long-poll wakes up on a write from another thread") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    create_table(engine, items_table());
    create(engine, "items", "before", item("before"));
    std::string since = engine.update_seq();

    auto start = Clock::now();
    auto waiter = std::async(std::launch::async, [&engine, since] {
      ChangesRequest req;
      req.since = since;
      req.timeout_ms = 2000;
      ChangesPage page = engine.changes(req);
      return std::make_pair(page, Clock::now());
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    Revision r = create(engine, "items", "woke", item("woke"));
    REQUIRE(waiter.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    auto [page, done] = waiter.get();
    auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(done - start).count();
    CAPTURE(elapsed);
    REQUIRE(page.results.size() == 1);
    CHECK(page.results[0].id == "woke");
    CHECK(page.results[0].revision == r);
    CHECK(elapsed < 2000);  // woke before the timeout ran out
  });
}

TEST_CASE("conformance: a long-poll with nothing written returns empty after the timeout") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    create_table(engine, items_table());
    create(engine, "items", "before", item("before"));
    ChangesRequest req;
    req.since = engine.update_seq();
    req.timeout_ms = 400;
    auto start = Clock::now();
    ChangesPage page = engine.changes(req);
    auto elapsed =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
    CAPTURE(elapsed);
    CHECK(page.results.empty());
    CHECK(elapsed >= 200);   // it did wait
    CHECK(elapsed < 10000);  // and came back
    // The cursor it returned is still good.
    create(engine, "items", "next", item("next"));
    CHECK(ids_of(changes_since(engine, page.last_seq).results) ==
          std::vector<std::string>{"items/next"});

    // A long-poll with changes already there returns them at once.
    req.since = "";
    req.timeout_ms = 5000;
    start = Clock::now();
    CHECK(engine.changes(req).results.size() == 2);
    CHECK(Clock::now() - start < std::chrono::milliseconds(4000));
  });
}

TEST_CASE("conformance: a filtered long-poll ignores writes to other tables") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    create_table(engine, items_table());
    Table other = items_table();
    other.name = "other";
    create_table(engine, other);
    std::string since = engine.update_seq();
    auto waiter = std::async(std::launch::async, [&engine, since] {
      ChangesRequest req;
      req.since = since;
      req.tables = {"items"};
      req.timeout_ms = 600;
      return engine.changes(req);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    create(engine, "other", "o", item("o"));
    REQUIRE(waiter.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    CHECK(waiter.get().results.empty());
  });
}

TEST_CASE("conformance: a batch write puts every record in the feed") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    create_table(engine, items_table());
    std::vector<Edit> edits;
    for (int i = 0; i < 5; ++i) {
      Edit e;
      e.table = "items";
      e.id = "b" + std::to_string(i);
      e.attributes = item(e.id);
      edits.push_back(e);
    }
    auto results = engine.write(edits);
    REQUIRE(results.size() == 5);
    auto feed = all_changes(engine);
    CHECK(sorted(ids_of(feed)) ==
          std::vector<std::string>{"items/b0", "items/b1", "items/b2", "items/b3", "items/b4"});
    for (size_t i = 0; i < feed.size(); ++i)
      for (size_t j = i + 1; j < feed.size(); ++j) CHECK(feed[i].seq != feed[j].seq);
  });
}

}  // namespace
}  // namespace outpost::test

namespace outpost::test {
namespace {

TEST_CASE("conformance: a long-poll returns at once when its stop token is requested") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    create_table(engine, items_table());
    std::stop_source stop;
    ChangesRequest request;
    request.since = engine.update_seq();
    request.timeout_ms = 600000;  // ten minutes: only the stop ends it
    request.stop = stop.get_token();
    auto waiting = std::async(std::launch::async, [&] { return engine.changes(request); });
    stop.request_stop();
    // Generous bound: the wait ends on the stop, not on its timeout.
    REQUIRE(waiting.wait_for(std::chrono::seconds(60)) == std::future_status::ready);
    ChangesPage page = waiting.get();
    CHECK(page.results.empty());
    // A stop requested before the call: it answers at once as well.
    CHECK(engine.changes(request).results.empty());
  });
}

}  // namespace
}  // namespace outpost::test
