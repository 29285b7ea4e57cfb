// Slows down repeated authentication failures from one address (DESIGN.md
// section 9): beyond `free_failures` failures within `window`, each further
// failure is answered after a delay doubling from base_delay_ms up to
// max_delay_ms. A success forgets the address. At most 10 000 addresses are
// tracked; beyond, stale ones are dropped (all of them if none is stale).
// Thread-safety: all members may be called from many threads at once.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>

namespace outpost::server {

struct AuthThrottleOptions {
  int free_failures = 5;
  int base_delay_ms = 100;
  int max_delay_ms = 3000;
  std::chrono::seconds window{600};
};

class AuthThrottle {
 public:
  explicit AuthThrottle(AuthThrottleOptions options) : options_(options) {}

  // Counts a failure from `remote`; returns how long to delay the answer.
  int note_failure(const std::string& remote);
  // Forgets `remote`'s failures.
  void note_success(const std::string& remote);

 private:
  struct Failures {
    int count = 0;
    std::chrono::steady_clock::time_point last;
  };
  const AuthThrottleOptions options_;
  std::mutex mu_;
  std::map<std::string, Failures, std::less<>> failures_;
};

}  // namespace outpost::server
