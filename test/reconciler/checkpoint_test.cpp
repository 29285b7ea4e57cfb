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
  auto back = checkpoint_from_json(checkpoint_to_json(c));
  REQUIRE(back);
  CHECK(*back == c);
  CHECK(checkpoint_from_json(R"({"last_seq":"7","future":1})")->last_seq == "7");
  CHECK(!checkpoint_from_json("not json"));
  CHECK(!checkpoint_from_json(R"({"last_seq":7})"));
  CHECK(!checkpoint_from_json("[]"));
}

}  // namespace outpost::test
