#include "reconciler/echo_ledger.h"

#include <algorithm>

namespace outpost {

std::string EchoLedger::key(const std::string& table, const std::string& id) {
  std::string k = table;
  k += '\0';
  k += id;
  return k;
}

void EchoLedger::learn(const std::string& table, const std::string& id,
                       const std::vector<Revision>& leaves) {
  if (leaves.empty()) return;
  std::lock_guard lock(mu_);
  auto it = known_.find(key(table, id));
  if (it == known_.end()) {
    if (known_.size() >= kMaxRecords) return;
    known_.emplace(key(table, id), leaves);
    return;
  }
  // A revision once listed stays held (a newer leaf only grows on it).
  for (const Revision& r : leaves) {
    if (std::find(it->second.begin(), it->second.end(), r) == it->second.end()) {
      it->second.push_back(r);
    }
  }
}

bool EchoLedger::holds(const std::string& table, const std::string& id,
                       const std::vector<Revision>& leaves) const {
  if (leaves.empty()) return false;
  std::lock_guard lock(mu_);
  auto it = known_.find(key(table, id));
  if (it == known_.end()) return false;
  return std::all_of(leaves.begin(), leaves.end(), [&](const Revision& r) {
    return std::find(it->second.begin(), it->second.end(), r) != it->second.end();
  });
}

size_t EchoLedger::size() const {
  std::lock_guard lock(mu_);
  return known_.size();
}

}  // namespace outpost
