// A change feed read from a peer must move: the replicator hands every page
// to a FeedGuard, which stops a run that would otherwise loop forever on a
// faulty or hostile source. A feed lists each changed record once, at its
// latest position (DESIGN.md section 6), so within one run
//   - a page with entries must end at a cursor other than the one it was
//     read from, and
//   - an entry identical to one already read (same table, id, revision,
//     leaves) comes back only when the source repeats itself (a removed
//     entry, for a record out of a scope, is listed again at each of the
//     record's changes, so it never counts as a repeat).
// A page made only of such repeats is allowed (kRepeatingPagesAllowed - 1)
// times in a row; the next one throws. Repeats are looked for among the
// last kRemembered entries read (a bounded window: a few MiB).
//
// Thread-safety: one FeedGuard per feed reader.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <unordered_set>

#include "api/record.h"

namespace outpost {

class FeedGuard {
 public:
  static constexpr size_t kRemembered = 100000;
  static constexpr int kRepeatingPagesAllowed = 3;

  // Checks `page`, read from `since`; throws Error(internal) naming the
  // cursor when the feed does not move. `what` names the source in the
  // message ("the source's change feed").
  void check(const std::string& since, const ChangesPage& page, const std::string& what);

 private:
  void remember(uint64_t fingerprint);

  std::unordered_set<uint64_t> seen_;
  std::deque<uint64_t> order_;  // seen_ in the order remembered, oldest first
  int repeating_pages_ = 0;
};

}  // namespace outpost
