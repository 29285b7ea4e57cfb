// Capped exponential backoff with full jitter, for retrying transient
// failures (database serialization failures, lost connections, HTTP 503).
// Thread-safety: a Backoff belongs to one retry loop.
#pragma once

#include <chrono>
#include <cstdint>

namespace outpost {

class Backoff {
 public:
  Backoff(std::chrono::milliseconds base, std::chrono::milliseconds cap, int max_attempts);

  // True while another attempt is allowed (the first call counts attempt 1).
  bool next_attempt();
  // How long to wait before the next attempt: uniform in [0, min(cap, base*2^n)].
  std::chrono::milliseconds delay();
  // Sleeps for delay().
  void wait();
  int attempts() const { return attempts_; }

 private:
  std::chrono::milliseconds base_, cap_;
  int max_attempts_;
  int attempts_ = 0;
};

}  // namespace outpost
