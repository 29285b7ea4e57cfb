// Slowing down repeated authentication failures (server/auth_throttle.h).
#include "server/auth_throttle.h"

#include <doctest/doctest.h>

#include <chrono>
#include <thread>

namespace outpost::server {

TEST_CASE("AuthThrottle: free failures, then a doubling delay up to the cap") {
  AuthThrottle throttle({/*free_failures=*/2, /*base_delay_ms=*/100, /*max_delay_ms=*/350,
                         std::chrono::seconds(600)});
  CHECK(throttle.note_failure("a") == 0);
  CHECK(throttle.note_failure("a") == 0);
  CHECK(throttle.note_failure("a") == 100);
  CHECK(throttle.note_failure("a") == 200);
  CHECK(throttle.note_failure("a") == 350);
  CHECK(throttle.note_failure("a") == 350);
  CHECK(throttle.note_failure("b") == 0);  // per address
  throttle.note_success("a");
  CHECK(throttle.note_failure("a") == 0);  // forgotten
}

TEST_CASE("AuthThrottle: failures older than the window are forgotten") {
  AuthThrottle throttle({0, 100, 1000, std::chrono::seconds(0)});
  CHECK(throttle.note_failure("a") == 100);
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  CHECK(throttle.note_failure("a") == 100);  // the count started again
}

}  // namespace outpost::server
