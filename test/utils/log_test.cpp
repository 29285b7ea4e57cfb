// The structured logger: format, level filtering and sinks.
#include "utils/log.h"

#include <doctest/doctest.h>

#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace outpost {

TEST_CASE("log line format") {
  const std::string line = format_log_line(LogLevel::warn, "sync", "batch failed",
                                           {{"table", "visits"},
                                            {"n", 12},
                                            {"ok", false},
                                            {"why", "connection lost"},
                                            {"rate", 1.5},
                                            {"empty", ""},
                                            {"q", "a\"b\nc"}});
  INFO(line);
  REQUIRE(line.size() > 28);
  CHECK(line[4] == '-');
  CHECK(line[10] == 'T');
  CHECK(line.substr(26) ==
        "Z WARN sync: batch failed table=visits n=12 ok=false why=\"connection lost\" rate=1.5 "
        "empty=\"\" q=\"a\\\"b\\nc\"\n");
}

TEST_CASE("log levels and sink") {
  CHECK(log_level_from_name("DEBUG") == LogLevel::debug);
  CHECK(log_level_from_name("warning") == LogLevel::warn);
  CHECK(log_level_from_name("off") == LogLevel::off);
  CHECK(!log_level_from_name("loud"));

  const LogLevel saved = log_level();
  std::vector<std::string> lines;
  set_log_sink([&](std::string_view l) { lines.emplace_back(l); });
  set_log_level(LogLevel::warn);
  log_info("test", "dropped");
  log_warn("test", "kept", {{"k", "v"}});
  log_error("test", "kept too");
  set_log_level(LogLevel::off);
  log_error("test", "dropped when off");
  set_log_level(LogLevel::debug);

  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t] {
      for (int i = 0; i < 100; ++i) log_debug("thread", "line", {{"t", t}, {"i", i}});
    });
  }
  for (auto& th : threads) th.join();
  set_log_sink(nullptr);
  set_log_level(saved);

  REQUIRE(lines.size() == 2 + 400);
  CHECK(lines[0].find(" WARN test: kept k=v\n") != std::string::npos);
  CHECK(lines[1].find(" ERROR test: kept too\n") != std::string::npos);
  for (const std::string& l : lines) CHECK(l.find('\n') == l.size() - 1);  // never interleaved
}

TEST_CASE("log: a sink may log and replace itself without deadlocking") {
  std::vector<std::string> first;
  std::vector<std::string> second;
  const LogLevel saved = log_level();
  set_log_level(LogLevel::info);
  set_log_sink([&](std::string_view l) {
    first.emplace_back(l);
    // Logging from inside the sink is dropped, not a deadlock.
    log_info("test", "from inside the sink");
    // Replacing the sink takes effect once this call returns.
    set_log_sink([&](std::string_view l2) { second.emplace_back(l2); });
    log_info("test", "still inside");
  });
  log_info("test", "one");
  log_info("test", "two");
  set_log_sink([](std::string_view) { throw std::runtime_error("a sink that throws"); });
  log_info("test", "lost, and the caller goes on");
  set_log_sink(nullptr);
  set_log_level(saved);
  REQUIRE(first.size() == 1);
  CHECK(first[0].find("test: one") != std::string::npos);
  REQUIRE(second.size() == 1);
  CHECK(second[0].find("test: two") != std::string::npos);
}

}  // namespace outpost
