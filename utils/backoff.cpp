#include "utils/backoff.h"

#include <algorithm>
#include <random>
#include <thread>

namespace outpost {

Backoff::Backoff(std::chrono::milliseconds base, std::chrono::milliseconds cap, int max_attempts)
    : base_(base), cap_(cap), max_attempts_(max_attempts) {}

bool Backoff::next_attempt() { return attempts_++ < max_attempts_; }

std::chrono::milliseconds Backoff::delay() {
  int shift = std::clamp(attempts_ - 1, 0, 20);
  int64_t ceiling = std::min<int64_t>(cap_.count(), base_.count() << shift);
  // Seeded once per thread: a random_device per Backoff costs a system call
  // on every engine call, and most Backoffs never wait.
  thread_local std::minstd_rand rng(std::random_device{}());
  std::uniform_int_distribution<int64_t> pick(0, std::max<int64_t>(ceiling, 0));
  return std::chrono::milliseconds(pick(rng));
}

void Backoff::wait() { std::this_thread::sleep_for(delay()); }

}  // namespace outpost
