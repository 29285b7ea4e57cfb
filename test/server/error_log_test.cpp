// The log of failed answers (server/error_log.h): the first failure of a
// route and code is logged at warn at once with its cause; during an outage
// the same failure is logged at most once per 10 s, saying how many were not
// logged in between. A clock is injected: nothing depends on machine speed.
#include "server/error_log.h"

#include <doctest/doctest.h>

#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "utils/log.h"

namespace outpost::test {
namespace {

using namespace std::chrono_literals;
using server::ErrorLog;

struct FakeClock {
  ErrorLog::Clock::time_point now{};
  void advance(std::chrono::milliseconds d) { now += d; }
};

// Captures every log line while it lives.
struct CapturedLog {
  CapturedLog() {
    set_log_level(LogLevel::info);
    set_log_sink([this](std::string_view line) {
      std::lock_guard lock(mu);
      lines.emplace_back(line);
    });
  }
  ~CapturedLog() {
    set_log_sink(nullptr);
    set_log_level(LogLevel::warn);
  }
  std::vector<std::string> taken() {
    std::lock_guard lock(mu);
    return std::exchange(lines, {});
  }
  std::mutex mu;
  std::vector<std::string> lines;
};

TEST_CASE("error log: first failure at once, then at most one line per 10 s with a count") {
  FakeClock clock;
  ErrorLog log;
  log.set_clock_for_testing([&] { return clock.now; });

  auto first = log.note("/v1/bulk_docs", ErrorCode::unavailable);
  CHECK(first.log);
  CHECK(first.repeated == 0);
  for (int i = 0; i < 5; ++i) {
    clock.advance(1s);
    CHECK_FALSE(log.note("/v1/bulk_docs", ErrorCode::unavailable).log);
  }
  // Other routes and other codes are counted apart.
  CHECK(log.note("/v1/changes", ErrorCode::unavailable).log);
  CHECK(log.note("/v1/bulk_docs", ErrorCode::internal).log);

  clock.advance(5s);  // 10 s after the first line
  auto again = log.note("/v1/bulk_docs", ErrorCode::unavailable);
  CHECK(again.log);
  CHECK(again.repeated == 5);
  CHECK(again.since == ErrorLog::Clock::duration(10s));
  CHECK_FALSE(log.note("/v1/bulk_docs", ErrorCode::unavailable).log);

  clock.advance(1h);  // quiet for a long time: the next one is logged, one unlogged before it
  auto later = log.note("/v1/bulk_docs", ErrorCode::unavailable);
  CHECK(later.log);
  CHECK(later.repeated == 1);
}

TEST_CASE("error log: the line carries the cause, at warn, and the count of repeats") {
  CapturedLog captured;
  FakeClock clock;
  ErrorLog log;
  log.set_clock_for_testing([&] { return clock.now; });

  log.log("POST", "/v1/bulk_docs", 503, ErrorCode::unavailable,
          "cannot connect to PostgreSQL: connection refused");
  std::vector<std::string> lines = captured.taken();
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].find(" WARN http: request failed ") != std::string::npos);
  CHECK(lines[0].find("route=/v1/bulk_docs") != std::string::npos);
  CHECK(lines[0].find("status=503") != std::string::npos);
  CHECK(lines[0].find("error=unavailable") != std::string::npos);
  CHECK(lines[0].find("message=\"cannot connect to PostgreSQL: connection refused\"") !=
        std::string::npos);
  CHECK(lines[0].find("repeated=") == std::string::npos);

  for (int i = 0; i < 100; ++i) {
    clock.advance(50ms);
    log.log("POST", "/v1/bulk_docs", 503, ErrorCode::unavailable, "still refused");
  }
  lines = captured.taken();
  REQUIRE(lines.size() == 0);  // 5 s of an outage: nothing more

  clock.advance(5s);
  log.log("POST", "/v1/bulk_docs", 503, ErrorCode::unavailable, "still refused");
  lines = captured.taken();
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].find("message=\"still refused\"") != std::string::npos);
  CHECK(lines[0].find("repeated=100") != std::string::npos);
  CHECK(lines[0].find("since_s=10.0") != std::string::npos);

  // Below warn nothing is written (and nothing counted).
  set_log_level(LogLevel::error);
  clock.advance(1h);
  log.log("POST", "/v1/bulk_docs", 503, ErrorCode::unavailable, "quiet");
  CHECK(captured.taken().empty());
}

TEST_CASE("error log: the count of an outage's end is logged when the hub answers again") {
  CapturedLog captured;
  FakeClock clock;
  ErrorLog log;
  log.set_clock_for_testing([&] { return clock.now; });

  log.answered();  // nothing pending: nothing written
  CHECK(captured.taken().empty());

  log.log("GET", "/v1/changes", 503, ErrorCode::unavailable, "database down");
  for (int i = 0; i < 7; ++i) {
    clock.advance(1s);
    log.log("GET", "/v1/changes", 503, ErrorCode::unavailable, "database down");
  }
  // Refused before routing (memory or connection limits): no route answers
  // for it, yet its count is told too.
  log.log("other", "unmatched", 503, ErrorCode::unavailable, "busy");
  log.log("other", "unmatched", 503, ErrorCode::unavailable, "busy");
  log.log("POST", "/v1/bulk_docs", 503, ErrorCode::unavailable, "database down");
  REQUIRE(captured.taken().size() == 3);  // the first of each, 7 s in

  // Within the interval of the last line: still counted, not written (an
  // intermittent failure must not log a line per answer).
  log.answered();
  CHECK(captured.taken().empty());

  clock.advance(3s);  // 10 s after the first line of /v1/changes
  log.answered();
  std::vector<std::string> lines = captured.taken();
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].find(" WARN http: failures not logged ") != std::string::npos);
  CHECK(lines[0].find("route=/v1/changes") != std::string::npos);
  CHECK(lines[0].find("status=503") != std::string::npos);
  CHECK(lines[0].find("error=unavailable") != std::string::npos);
  CHECK(lines[0].find("repeated=7") != std::string::npos);
  CHECK(lines[0].find("since_s=10.0") != std::string::npos);

  clock.advance(7s);  // 10 s after the first line of "unmatched"
  log.answered();
  lines = captured.taken();
  REQUIRE(lines.size() == 1);  // /v1/bulk_docs had nothing more
  CHECK(lines[0].find("route=unmatched") != std::string::npos);
  CHECK(lines[0].find("repeated=1") != std::string::npos);

  // Told once: later answers write nothing more.
  clock.advance(1h);
  log.answered();
  CHECK(captured.taken().empty());
  // The next outage's first failure: logged, no repeats carried over.
  log.log("GET", "/v1/changes", 503, ErrorCode::unavailable, "down again");
  lines = captured.taken();
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].find("repeated=") == std::string::npos);
}

}  // namespace
}  // namespace outpost::test
