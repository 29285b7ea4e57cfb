// What one database is known to hold, learned from its own change feed
// during a sync: for each record its feed listed, the leaves it listed.
//
// sync(a, b) runs its two directions side by side. The direction a→b
// learns what a holds from a's feed; the direction b→a then skips a record
// of b's feed whose leaves a is known to hold: it came from a, and offering
// it back would only echo (DESIGN.md section 7, "No echo"). Skipping is safe
// whatever the order, since a database never loses a revision it listed
// (a restored one is caught by the checkpoints, reconciler/checkpoint.h).
//
// Bounded: past kMaxRecords records, nothing more is learned, and what is
// not known is simply offered as before.
// Thread-safety: every member may be called from any thread.
#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "api/revision.h"

namespace outpost {

class EchoLedger {
 public:
  static constexpr size_t kMaxRecords = 2'000'000;

  // The database listed `leaves` for (table, id).
  void learn(const std::string& table, const std::string& id, const std::vector<Revision>& leaves);
  // Whether the database is known to hold every one of `leaves`.
  bool holds(const std::string& table, const std::string& id,
             const std::vector<Revision>& leaves) const;
  size_t size() const;

 private:
  static std::string key(const std::string& table, const std::string& id);

  mutable std::mutex mu_;
  std::unordered_map<std::string, std::vector<Revision>> known_;
};

}  // namespace outpost
