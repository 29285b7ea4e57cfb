#include "server/error_log.h"

#include <cstdio>

#include "utils/log.h"

namespace outpost::server {

ErrorLog::Clock::time_point ErrorLog::now() {
  // Under mu_.
  return now_ ? now_() : Clock::now();
}

ErrorLog::Decision ErrorLog::note(std::string_view route, ErrorCode code) {
  std::lock_guard lock(mu_);
  const Clock::time_point t = now();
  Decision decision;
  auto key = std::make_pair(std::string(route), code);
  auto it = seen_.find(key);
  if (it == seen_.end()) {
    seen_.emplace(std::move(key), Seen{t, 0});
    decision.log = true;
    return decision;
  }
  Seen& seen = it->second;
  if (t - seen.logged < interval_) {
    ++seen.unlogged;
    return decision;
  }
  decision.log = true;
  decision.repeated = seen.unlogged;
  decision.since = t - seen.logged;
  seen.logged = t;
  seen.unlogged = 0;
  return decision;
}

void ErrorLog::log(std::string_view method, std::string_view route, int status, ErrorCode code,
                   std::string_view message) {
  if (!log_enabled(LogLevel::warn)) return;
  const Decision decision = note(route, code);
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
  char since[32];
  std::snprintf(since, sizeof since, "%.1f", std::chrono::duration<double>(decision.since).count());
  log_warn("http", "request failed",
           {{"method", method},
            {"route", route},
            {"status", status},
            {"error", error_code_name(code)},
            {"message", message},
            {"repeated", decision.repeated},
            {"since_s", std::string_view(since)}});
}

void ErrorLog::set_clock_for_testing(std::function<Clock::time_point()> now) {
  std::lock_guard lock(mu_);
  now_ = std::move(now);
}

}  // namespace outpost::server
