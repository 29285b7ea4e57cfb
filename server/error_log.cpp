#include "server/error_log.h"

#include <cstdio>
#include <vector>

#include "utils/log.h"

namespace outpost::server {

ErrorLog::Clock::time_point ErrorLog::now() {
  // Under mu_.
  return now_ ? now_() : Clock::now();
}

ErrorLog::Decision ErrorLog::note(std::string_view route, ErrorCode code, int status) {
  std::lock_guard lock(mu_);
  const Clock::time_point t = now();
  Decision decision;
  auto key = std::make_pair(std::string(route), code);
  auto it = seen_.find(key);
  if (it == seen_.end()) {
    seen_.emplace(std::move(key), Seen{t, 0, status});
    decision.log = true;
    return decision;
  }
  Seen& seen = it->second;
  seen.status = status;
  if (t - seen.logged < interval_) {
    if (seen.unlogged++ == 0) pending_.fetch_add(1, std::memory_order_relaxed);
    return decision;
  }
  decision.log = true;
  decision.repeated = seen.unlogged;
  decision.since = t - seen.logged;
  if (seen.unlogged > 0) pending_.fetch_sub(1, std::memory_order_relaxed);
  seen.logged = t;
  seen.unlogged = 0;
  return decision;
}

namespace {

std::string seconds_text(ErrorLog::Clock::duration d) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", std::chrono::duration<double>(d).count());
  return text;
}

}  // namespace

void ErrorLog::answered() {
  if (pending_.load(std::memory_order_relaxed) == 0 || !log_enabled(LogLevel::warn)) return;
  struct Line {
    std::string route;
    ErrorCode code;
    int status;
    int64_t repeated;
    Clock::duration since;
  };
  std::vector<Line> lines;
  {
    std::lock_guard lock(mu_);
    const Clock::time_point t = now();
    for (auto& [key, seen] : seen_) {  // a few entries: routes times codes
      if (seen.unlogged == 0 || t - seen.logged < interval_) continue;
      lines.push_back({key.first, key.second, seen.status, seen.unlogged, t - seen.logged});
      pending_.fetch_sub(1, std::memory_order_relaxed);
      seen.logged = t;
      seen.unlogged = 0;
    }
  }
  for (const Line& line : lines) {
    log_warn("http", "failures not logged",
             {{"route", line.route},
              {"status", line.status},
              {"error", error_code_name(line.code)},
              {"repeated", line.repeated},
              {"since_s", seconds_text(line.since)}});
  }
}

void ErrorLog::log(std::string_view method, std::string_view route, int status, ErrorCode code,
                   std::string_view message) {
  if (!log_enabled(LogLevel::warn)) return;
  const Decision decision = note(route, code, status);
  if (!decision.log) return;
  if (decision.repeated == 0) {
    log_warn("http", "request failed",
             {{"method", method},
              {"route", route},
              {"status", status},
              {"error", error_code_name(code)},
              {"message", message}});
    return;
  }
  log_warn("http", "request failed",
           {{"method", method},
            {"route", route},
            {"status", status},
            {"error", error_code_name(code)},
            {"message", message},
            {"repeated", decision.repeated},
            {"since_s", seconds_text(decision.since)}});
}

void ErrorLog::set_clock_for_testing(std::function<Clock::time_point()> now) {
  std::lock_guard lock(mu_);
  now_ = std::move(now);
}

}  // namespace outpost::server
