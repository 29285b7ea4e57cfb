// Logging the causes of failed answers (5xx) without flooding the log during
// an outage: for each (route template, error code), the first failure is
// logged at warn at once with its message; later ones at most once per
// interval (10 s by default), saying how many were not logged since the line
// before. When the hub answers again, a count not logged yet is logged
// then (at most once per interval as well), so an outage's last figures are
// not lost. Route templates and codes come from fixed sets, so the table of
// what was seen stays small.
// Thread-safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "api/error.h"

namespace outpost::server {

class ErrorLog {
 public:
  using Clock = std::chrono::steady_clock;

  explicit ErrorLog(std::chrono::milliseconds interval = std::chrono::seconds(10))
      : interval_(interval) {}

  // What to do with one failure.
  struct Decision {
    bool log = false;         // write a line for it
    int64_t repeated = 0;     // failures like it not logged since the previous line
    Clock::duration since{};  // time since the previous line (when repeated > 0)
  };
  // Counts one failure of `route` with `code` (answered with `status`) now.
  Decision note(std::string_view route, ErrorCode code, int status = 0);

  // Counts one failed answer and, when note() says so, logs at warn
  //   WARN http: request failed method=PUT route=/v1/... status=507
  //   error=disk_full message="..." [repeated=N since_s=12.0]
  void log(std::string_view method, std::string_view route, int status, ErrorCode code,
           std::string_view message);

  // Counts one answer that did not fail (below 500; the hub answers
  // again): for each route and code with failures not logged yet, and
  // whose last line is at least one interval old, logs at warn
  //   WARN http: failures not logged route=/v1/... status=503
  //   error=unavailable repeated=N since_s=12.0
  // Costs one atomic load when nothing is pending.
  void answered();

  // Replaces the clock (tests); an empty function restores steady_clock.
  void set_clock_for_testing(std::function<Clock::time_point()> now);

 private:
  struct Seen {
    Clock::time_point logged;  // when the last line was written
    int64_t unlogged = 0;      // failures since then, not logged
    int status = 0;            // of the last failure
  };

  Clock::time_point now();

  std::chrono::milliseconds interval_;
  std::mutex mu_;
  std::function<Clock::time_point()> now_;
  std::map<std::pair<std::string, ErrorCode>, Seen, std::less<>> seen_;
  std::atomic<int64_t> pending_{0};  // entries of seen_ with unlogged > 0
};

}  // namespace outpost::server
