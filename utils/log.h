// A tiny structured logger: one line per event on stderr,
//   2026-11-22T10:00:00.123456Z INFO sync: batch written revisions=12 table=visits
// Values containing spaces, quotes, '=' or control characters are quoted and
// escaped. Events below the global level are dropped before formatting.
// Thread-safety: every function may be called from any thread; a line is
// written with one call under a mutex, so lines never interleave.
#pragma once

#include <concepts>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace outpost {

enum class LogLevel { debug, info, warn, error, off };

std::string_view log_level_name(LogLevel level);  // "DEBUG", "INFO", "WARN", "ERROR", "OFF"
// Accepts debug, info, warn (or warning), error, off, in any case.
std::optional<LogLevel> log_level_from_name(std::string_view name);

void set_log_level(LogLevel level);  // default: info
LogLevel log_level();
inline bool log_enabled(LogLevel level) { return level >= log_level() && level != LogLevel::off; }

// Replaces where lines go (each `line` ends in '\n'); an empty function
// restores stderr. For tests and embedding applications. The sink is called
// under a lock, one line at a time; a line it logs itself is dropped, and a
// set_log_sink from inside it takes effect once it returns.
void set_log_sink(std::function<void(std::string_view line)> sink);

struct LogField {
  LogField(std::string_view k, std::string_view v) : key(k), value(v) {}
  LogField(std::string_view k, const char* v) : key(k), value(v ? v : "") {}
  LogField(std::string_view k, const std::string& v) : key(k), value(v) {}
  LogField(std::string_view k, bool v) : key(k), value(v ? "true" : "false") {}
  template <std::integral T>
  LogField(std::string_view k, T v) : key(k), value(std::to_string(v)) {}
  LogField(std::string_view k, double v);

  std::string_view key;
  std::string value;
};

// Formats one line (without writing it); exposed for tests.
std::string format_log_line(LogLevel level, std::string_view component, std::string_view message,
                            std::initializer_list<LogField> fields);

void log(LogLevel level, std::string_view component, std::string_view message,
         std::initializer_list<LogField> fields = {});

inline void log_debug(std::string_view component, std::string_view message,
                      std::initializer_list<LogField> fields = {}) {
  if (log_enabled(LogLevel::debug)) log(LogLevel::debug, component, message, fields);
}
inline void log_info(std::string_view component, std::string_view message,
                     std::initializer_list<LogField> fields = {}) {
  if (log_enabled(LogLevel::info)) log(LogLevel::info, component, message, fields);
}
inline void log_warn(std::string_view component, std::string_view message,
                     std::initializer_list<LogField> fields = {}) {
  if (log_enabled(LogLevel::warn)) log(LogLevel::warn, component, message, fields);
}
inline void log_error(std::string_view component, std::string_view message,
                      std::initializer_list<LogField> fields = {}) {
  if (log_enabled(LogLevel::error)) log(LogLevel::error, component, message, fields);
}

}  // namespace outpost
