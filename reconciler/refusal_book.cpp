#include "reconciler/refusal_book.h"

#include "api/error.h"

namespace outpost {

std::string RefusalBook::key_of(const Refusal& r) {
  std::string key = r.table;
  key += '\0';
  key += r.id;
  key += '\0';
  key += r.revision;
  return key;
}

void RefusalBook::load(std::vector<Refusal> list) {
  std::lock_guard lock(mu_);
  for (Refusal& r : list) {
    std::string key = key_of(r);
    loaded_.insert(key);
    refused_.insert_or_assign(std::move(key), std::move(r));
  }
}

void RefusalBook::add(Refusal refusal) {
  std::lock_guard lock(mu_);
  std::string key = key_of(refusal);
  tried_.insert(key);
  refused_.insert_or_assign(std::move(key), std::move(refusal));
  dirty_ = true;
}

std::vector<Refusal> RefusalBook::take_untried(
    const std::function<bool(const std::string&)>& ready) {
  std::vector<Refusal> out;
  std::lock_guard lock(mu_);
  for (auto it = refused_.begin(); it != refused_.end();) {
    // A table not ready (refused whole) keeps its documents listed.
    if (!ready(it->second.table) || tried_.count(it->first) != 0) {
      ++it;
      continue;
    }
    out.push_back(std::move(it->second));
    it = refused_.erase(it);
    dirty_ = true;
  }
  return out;
}

std::optional<std::string> RefusalBook::to_save(bool enforce_cap) {
  std::lock_guard lock(mu_);
  if (!dirty_) return std::nullopt;
  size_t added = 0;
  for (const std::string& key : tried_) added += loaded_.count(key) == 0 ? 1 : 0;
  if (enforce_cap && added > kMaxRefusals) {
    throw Error(ErrorCode::too_large,
                "more than " + std::to_string(kMaxRefusals) +
                    " documents were refused by the target in one run; the checkpoint "
                    "stays before them. Fix the cause (see the errors listed) and sync again");
  }
  std::vector<Refusal> list;
  list.reserve(refused_.size());
  for (const auto& [key, r] : refused_) list.push_back(r);
  dirty_ = false;
  return refusals_to_json(list);
}

void RefusalBook::save_failed() {
  std::lock_guard lock(mu_);
  dirty_ = true;
}

size_t RefusalBook::size() const {
  std::lock_guard lock(mu_);
  return refused_.size();
}

}  // namespace outpost
