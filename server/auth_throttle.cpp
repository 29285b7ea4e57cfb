#include "server/auth_throttle.h"

#include <algorithm>
#include <cstdint>

namespace outpost::server {

namespace {

constexpr size_t kMaxTrackedAddresses = 10000;

}  // namespace

int AuthThrottle::note_failure(const std::string& remote) {
  auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mu_);
  if (failures_.size() >= kMaxTrackedAddresses) {
    std::erase_if(failures_,
                  [&](const auto& item) { return now - item.second.last > options_.window; });
    if (failures_.size() >= kMaxTrackedAddresses) failures_.clear();
  }
  Failures& f = failures_[remote];
  if (now - f.last > options_.window) f.count = 0;
  f.last = now;
  ++f.count;
  int over = f.count - options_.free_failures;
  if (over <= 0) return 0;
  int64_t delay = options_.base_delay_ms;
  for (int i = 1; i < over && delay < options_.max_delay_ms; ++i) delay *= 2;
  return static_cast<int>(std::min<int64_t>(delay, options_.max_delay_ms));
}

void AuthThrottle::note_success(const std::string& remote) {
  std::lock_guard lock(mu_);
  if (!failures_.empty()) failures_.erase(remote);
}

}  // namespace outpost::server
