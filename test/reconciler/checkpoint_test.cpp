// The Checkpoint value, its JSON form and the replication id.
#include "reconciler/checkpoint.h"

#include <doctest/doctest.h>

#include "utils/sha256.h"

namespace outpost::test {

TEST_CASE("reconciler: replication id is the SHA-256 of both db ids and the sorted filter") {
  const std::string id = replication_id("src", "dst", {"b", "a", "b", ""});
  CHECK(id.size() == 64);
  CHECK(id == sha256_hex("outpost/replication/1\nsrc\ndst\na,b"));
  CHECK(id == replication_id("src", "dst", {"a", "b"}));
  CHECK(id != replication_id("dst", "src", {"a", "b"}));
  CHECK(id != replication_id("src", "dst", {"a"}));
  CHECK(replication_id("src", "dst", {}) != replication_id("src", "dst", {"a"}));
}

TEST_CASE("reconciler: checkpoint JSON round trip and tolerant decoding") {
  Checkpoint c;
  c.last_seq = "42";
  c.updated_at = "2026-11-22T10:00:00.000000Z";
  c.source_db_id = "s";
  c.target_db_id = "t";
  c.tables = {"a", "b"};
  c.skipped = {{"t", "3"}};
  c.history = {"41", "40"};
  auto back = checkpoint_from_json(checkpoint_to_json(c));
  REQUIRE(back);
  CHECK(*back == c);
  CHECK(checkpoint_from_json(R"({"last_seq":"7","future":1})")->last_seq == "7");
  CHECK(!checkpoint_from_json("not json"));
  CHECK(!checkpoint_from_json(R"({"last_seq":7})"));
  CHECK(!checkpoint_from_json("[]"));
}

TEST_CASE("reconciler: resume point of two checkpoint copies") {
  auto copy = [](std::string last_seq, std::vector<std::string> history) {
    Checkpoint c;
    c.last_seq = std::move(last_seq);
    c.history = std::move(history);
    return c;
  };
  const Checkpoint target = copy("30", {"20", "10"});
  // The same position: the target's.
  CHECK(resume_point(target, copy("30", {"20"}))->last_seq == "30");
  // No source copy: nothing proves that the source's cursors still name the
  // same changes (a backup from before the first sync): the beginning.
  CHECK_FALSE(resume_point(target, std::nullopt));
  // The source's copy lags (its save was lost, or it was restored): the
  // source's, with its own history and skipped tables.
  Checkpoint lagging = copy("20", {"10"});
  lagging.skipped = {{"t", "15"}};
  std::optional<Checkpoint> at = resume_point(target, lagging);
  REQUIRE(at);
  CHECK(*at == lagging);
  // The target's copy lags (it was restored): the target's.
  CHECK(resume_point(copy("20", {"10"}), copy("30", {"20", "10"}))->last_seq == "20");
  // Nothing in common (an old backup, or another lineage): the beginning.
  CHECK_FALSE(resume_point(target, copy("5", {})));
  CHECK_FALSE(resume_point(copy("30", {}), copy("20", {})));
}

}  // namespace outpost::test
