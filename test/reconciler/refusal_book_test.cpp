// The refusals of one run: loaded, added, taken out for the retry pass,
// saved when changed, and the cap on new ones.
#include "reconciler/refusal_book.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "api/error.h"

namespace outpost::test {

namespace {

Refusal refusal(std::string table, std::string id, char hex = 'a',
                ErrorCode code = ErrorCode::forbidden) {
  return Refusal{std::move(table),
                 std::move(id),
                 "1-" + std::string(32, hex),
                 code,
                 "no",
                 "2026-12-05T00:00:00.000000Z"};
}

std::vector<Refusal> decoded(const std::optional<std::string>& json) {
  REQUIRE(json.has_value());
  auto list = refusals_from_json(*json);
  REQUIRE(list.has_value());
  return *list;
}

auto every_table = [](const std::string&) { return true; };

}  // namespace

TEST_CASE("reconciler: refusal book saves only when changed") {
  RefusalBook book;
  CHECK(!book.to_save(true).has_value());
  book.load({refusal("t", "a"), refusal("t", "b")});
  CHECK(book.size() == 2);
  // Loading is not a change.
  CHECK(!book.to_save(true).has_value());
  book.add(refusal("t", "c"));
  std::vector<Refusal> saved = decoded(book.to_save(true));
  CHECK(saved.size() == 3);
  CHECK(!book.to_save(true).has_value());
  // A failed save is tried again.
  book.add(refusal("t", "d"));
  REQUIRE(book.to_save(true).has_value());
  book.save_failed();
  CHECK(decoded(book.to_save(true)).size() == 4);
}

TEST_CASE("reconciler: refusal book replaces an entry for the same revision") {
  RefusalBook book;
  book.load({refusal("t", "a", 'a', ErrorCode::forbidden)});
  book.add(refusal("t", "a", 'a', ErrorCode::too_large));
  book.add(refusal("t", "a", 'b', ErrorCode::too_large));
  CHECK(book.size() == 2);
  std::vector<Refusal> saved = decoded(book.to_save(true));
  REQUIRE(saved.size() == 2);
  CHECK(saved[0].code == ErrorCode::too_large);
}

TEST_CASE("reconciler: refusal book hands out untried entries of ready tables once") {
  RefusalBook book;
  book.load({refusal("ready", "a"), refusal("ready", "b"), refusal("closed", "c")});
  book.add(refusal("ready", "b"));  // tried by this run already
  std::vector<Refusal> taken =
      book.take_untried([](const std::string& table) { return table == "ready"; });
  REQUIRE(taken.size() == 1);
  CHECK(taken[0].id == "a");
  // Taken out of the list (the retry records it again if it fails again).
  CHECK(book.size() == 2);
  CHECK(book.take_untried(every_table).size() == 1);  // "closed", now ready
  CHECK(book.take_untried(every_table).empty());
  // Taking entries out changes the list.
  std::vector<Refusal> saved = decoded(book.to_save(false));
  REQUIRE(saved.size() == 1);
  CHECK(saved[0].id == "b");
}

TEST_CASE("reconciler: refusal book stops a checkpoint after too many new refusals") {
  RefusalBook book;
  std::vector<Refusal> old;
  for (size_t i = 0; i < 5; ++i) old.push_back(refusal("t", "old" + std::to_string(i)));
  book.load(old);
  // Refused again: not new.
  for (const Refusal& r : old) book.add(r);
  for (size_t i = 0; i < kMaxRefusals; ++i) book.add(refusal("t", "n" + std::to_string(i)));
  CHECK(book.to_save(true).has_value());  // exactly kMaxRefusals new ones: fine
  book.add(refusal("t", "one-more"));
  CHECK_THROWS_AS(book.to_save(true), Error);
  // After the retry pass the list is saved whatever its size.
  CHECK(decoded(book.to_save(false)).size() == kMaxRefusals + 6);
}

}  // namespace outpost::test
