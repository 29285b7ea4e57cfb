// A source that misbehaves cannot keep a run going forever (FeedGuard), and a
// one-shot run retries an unreachable peer for its retry budget
// (ReplicationOptions::retry_for), saying so before each wait.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>

#include "reconciler/feed_guard.h"
#include "reconciler/peers.h"
#include "reconciler/replicator.h"
#include "reconciler/wrappers.h"

namespace outpost::test {

namespace {

Change entry(const std::string& id, const std::string& seq) {
  Change c;
  c.seq = seq;
  c.table = "items";
  c.id = id;
  c.revision = Revision::parse("1-" + std::string(32, 'a'));
  c.leaves = {c.revision};
  return c;
}

ChangesPage page_of(std::vector<Change> entries, std::string last_seq) {
  ChangesPage page;
  page.results = std::move(entries);
  page.last_seq = std::move(last_seq);
  return page;
}

void fill(Engine& engine, int n) {
  engine.put_table(items_table());
  std::vector<Edit> edits;
  for (int i = 0; i < n; ++i) {
    Edit e;
    e.table = "items";
    e.id = "r" + std::to_string(i);
    e.attributes = item("v" + std::to_string(i), i);
    edits.push_back(std::move(e));
  }
  for (const auto& r : engine.write(edits)) REQUIRE(r.ok());
}

// A source whose feed, from the first page on, answers `page` whatever it
// is asked.
class StuckFeed final : public ForwardingEngine {
 public:
  StuckFeed(Engine& inner, std::function<ChangesPage(const ChangesRequest&)> answer)
      : ForwardingEngine(inner), answer_(std::move(answer)) {}
  ChangesPage changes(const ChangesRequest& request) override {
    ++pages;
    return answer_(request);
  }
  std::atomic<int> pages{0};

 private:
  std::function<ChangesPage(const ChangesRequest&)> answer_;
};

// A peer that is never reachable: every call throws unavailable.
class Unreachable final : public ForwardingEngine {
 public:
  using ForwardingEngine::ForwardingEngine;
  std::atomic<int> calls{0};

 protected:
  void before(const char*) override {
    ++calls;
    throw Error(ErrorCode::unavailable, "cannot connect: Connection refused");
  }
};

}  // namespace

TEST_CASE("feed guard: a page must move the cursor, and pages of repeats stop the run") {
  FeedGuard guard;
  CHECK_NOTHROW(guard.check("", page_of({}, ""), "feed"));  // the end: nothing to say
  CHECK_NOTHROW(guard.check("", page_of({entry("a", "1"), entry("b", "2")}, "2"), "feed"));
  CHECK_THROWS_AS(guard.check("2", page_of({entry("c", "2")}, "2"), "feed"), Error);
  CHECK_THROWS_AS(guard.check("2", page_of({entry("c", "2")}, ""), "feed"), Error);

  FeedGuard repeats;
  repeats.check("", page_of({entry("a", "1")}, "1"), "feed");
  // The same entry with new cursors: allowed twice, then refused.
  repeats.check("1", page_of({entry("a", "2")}, "2"), "feed");
  repeats.check("2", page_of({entry("a", "3")}, "3"), "feed");
  try {
    repeats.check("3", page_of({entry("a", "4")}, "4"), "the source's change feed");
    FAIL("a feed repeating itself was not stopped");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::internal);
    CHECK(std::string(e.what()).find("repeated") != std::string::npos);
  }

  // A page with anything new resets the count; a changed record (new
  // revision) is new.
  FeedGuard fresh;
  fresh.check("", page_of({entry("a", "1")}, "1"), "feed");
  fresh.check("1", page_of({entry("a", "2")}, "2"), "feed");
  fresh.check("2", page_of({entry("a", "3"), entry("b", "3")}, "3"), "feed");
  Change changed = entry("a", "4");
  changed.revision = Revision::parse("2-" + std::string(32, 'b'));
  fresh.check("3", page_of({changed}, "4"), "feed");
  fresh.check("4", page_of({entry("b", "5")}, "5"), "feed");
  CHECK_NOTHROW(fresh.check("5", page_of({entry("b", "6")}, "6"), "feed"));
}

TEST_CASE("feed guard: a record out of the scope, listed as removed at each change, is no repeat") {
  FeedGuard guard;
  Change removed;
  removed.table = "items";
  removed.id = "t1";
  removed.removed = true;
  for (int i = 1; i <= 10; ++i) {
    removed.seq = std::to_string(i);
    CHECK_NOTHROW(guard.check(std::to_string(i - 1), page_of({removed}, removed.seq), "feed"));
  }
}

TEST_CASE("replication: a source feed that never advances or repeats forever ends the run") {
  auto peers = make_peers(2, /*mixed=*/false);
  fill(*peers[0], 3);
  SUBCASE("the cursor stays where it was") {
    StuckFeed source(*peers[0], [](const ChangesRequest& r) {
      ChangesPage page = page_of({}, r.since);
      for (int i = 0; i < 3; ++i) page.results.push_back(entry("r" + std::to_string(i), r.since));
      return page;
    });
    ReplicationReport report = replicate(source, *peers[1], test_options());
    REQUIRE(report.fatal);
    CHECK(report.fatal->code() == ErrorCode::internal);
    CHECK(std::string(report.fatal->what()).find("same cursor") != std::string::npos);
    CHECK(source.pages <= 2);
  }
  SUBCASE("the same entries under ever-new cursors") {
    std::atomic<int> n{0};
    StuckFeed source(*peers[0], [&](const ChangesRequest&) {
      const std::string seq = std::to_string(++n);
      return page_of({entry("r0", seq), entry("r1", seq)}, seq);
    });
    ReplicationReport report = replicate(source, *peers[1], test_options());
    REQUIRE(report.fatal);
    CHECK(report.fatal->code() == ErrorCode::internal);
    CHECK(std::string(report.fatal->what()).find("repeated") != std::string::npos);
    CHECK(source.pages <= FeedGuard::kRepeatingPagesAllowed + 2);
  }
  // Nothing the feed claimed was written without its revision's body.
  CHECK((*peers[1]).check().empty());
}

TEST_CASE("replication: a one-shot run retries an unreachable peer for its retry budget") {
  auto peers = make_peers(2, /*mixed=*/false);
  fill(*peers[0], 2);
  Unreachable target(*peers[1]);
  ReplicationOptions options = test_options();
  options.max_attempts = INT_MAX;
  options.retry_base = std::chrono::milliseconds(5);
  options.retry_cap = std::chrono::milliseconds(20);
  std::vector<RetryNotice> notices;
  std::mutex mu;
  options.on_retry = [&](const RetryNotice& r) {
    std::lock_guard lock(mu);
    notices.push_back(r);
  };
  SUBCASE("for retry_for, then unavailable") {
    options.retry_for = std::chrono::milliseconds(300);
    const auto start = std::chrono::steady_clock::now();
    ReplicationReport report = replicate(*peers[0], target, options);
    const auto took = std::chrono::steady_clock::now() - start;
    REQUIRE(report.fatal);
    CHECK(report.fatal->code() == ErrorCode::unavailable);
    // It kept trying for the whole budget (a lower bound, less the
    // milliseconds the waits are rounded down to: never flaky).
    CHECK(took >= std::chrono::milliseconds(290));
    REQUIRE(notices.size() >= 2);
    for (size_t i = 0; i < notices.size(); ++i) {
      CHECK(notices[i].remaining);
      CHECK(*notices[i].remaining <= options.retry_for);
      CHECK(notices[i].wait <= options.retry_cap);
      CHECK(notices[i].message.find("Connection refused") != std::string::npos);
    }
    CHECK(report.retries == notices.size());
  }
  SUBCASE("no budget: no retry") {
    options.retry_for = std::chrono::milliseconds(0);
    ReplicationReport report = replicate(*peers[0], target, options);
    REQUIRE(report.fatal);
    CHECK(report.fatal->code() == ErrorCode::unavailable);
    CHECK(notices.empty());
    CHECK(report.retries == 0);
  }
  SUBCASE("max_attempts still caps it") {
    options.retry_for = std::chrono::hours(1);
    options.max_attempts = 3;
    ReplicationReport report = replicate(*peers[0], target, options);
    REQUIRE(report.fatal);
    CHECK(notices.size() == 2);
  }
}

TEST_CASE("replication: a peer back within the retry budget costs a pause, not the run") {
  auto peers = make_peers(2, /*mixed=*/false);
  fill(*peers[0], 5);
  FaultyEngine target(*peers[1]);
  ReplicationOptions options = test_options();
  options.max_attempts = INT_MAX;
  options.retry_for = std::chrono::seconds(30);
  int retries = 0;
  options.on_retry = [&](const RetryNotice&) { ++retries; };
  target.fail_call(3);
  ReplicationReport report = replicate(*peers[0], target, options);
  require_ok(report);
  CHECK(retries >= 1);
  CHECK(report.revisions_written == 5);
}

}  // namespace outpost::test
