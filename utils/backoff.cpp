#include "utils/backoff.h"

#include <algorithm>
#include <thread>

namespace outpost {

Backoff::Backoff(std::chrono::milliseconds base, std::chrono::milliseconds cap, int max_attempts)
    : base_(base), cap_(cap), max_attempts_(max_attempts), rng_(std::random_device{}()) {}

bool Backoff::next_attempt() { return attempts_++ < max_attempts_; }

std::chrono::milliseconds Backoff::delay() {
  int shift = std::clamp(attempts_ - 1, 0, 20);
  int64_t ceiling = std::min<int64_t>(cap_.count(), base_.count() << shift);
  std::uniform_int_distribution<int64_t> pick(0, std::max<int64_t>(ceiling, 0));
  return std::chrono::milliseconds(pick(rng_));
}

void Backoff::wait() { std::this_thread::sleep_for(delay()); }

}  // namespace outpost
