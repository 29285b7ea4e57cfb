#include "utils/log.h"

#include <atomic>
#include <charconv>
#include <cstdio>
#include <mutex>
#include <optional>

#include "utils/time.h"

namespace outpost {
namespace {

std::atomic<LogLevel> g_level{LogLevel::info};

std::mutex& sink_mutex() {
  static std::mutex m;
  return m;
}
std::function<void(std::string_view)>& sink() {
  static std::function<void(std::string_view)> s;
  return s;
}

// Set while this thread runs the sink. The sink may itself log (a line
// that is then dropped: writing it would take the lock this thread holds)
// or replace itself (the new sink takes over once it returns).
thread_local bool t_in_sink = false;
std::optional<std::function<void(std::string_view)>>& replacement() {
  static std::optional<std::function<void(std::string_view)>> r;
  return r;
}

bool needs_quotes(std::string_view v) {
  if (v.empty()) return true;
  for (char c : v) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || c == '"' || c == '=' || c == '\\') return true;
  }
  return false;
}

void append_value(std::string& out, std::string_view v) {
  if (!needs_quotes(v)) {
    out += v;
    return;
  }
  out += '"';
  for (char c : v) {
    auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (u < 0x20 || u == 0x7f) {
          static constexpr char kHex[] = "0123456789abcdef";
          out += "\\x";
          out += kHex[u >> 4];
          out += kHex[u & 15];
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

}  // namespace

LogField::LogField(std::string_view k, double v) : key(k) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  value.assign(buf, r.ptr);
}

std::string_view log_level_name(LogLevel level) {
  switch (level) {
    case LogLevel::debug:
      return "DEBUG";
    case LogLevel::info:
      return "INFO";
    case LogLevel::warn:
      return "WARN";
    case LogLevel::error:
      return "ERROR";
    case LogLevel::off:
      return "OFF";
  }
  return "?";
}

std::optional<LogLevel> log_level_from_name(std::string_view name) {
  std::string lower(name);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  if (lower == "debug") return LogLevel::debug;
  if (lower == "info") return LogLevel::info;
  if (lower == "warn" || lower == "warning") return LogLevel::warn;
  if (lower == "error") return LogLevel::error;
  if (lower == "off") return LogLevel::off;
  return std::nullopt;
}

void set_log_level(LogLevel level) { g_level.store(level, std::memory_order_relaxed); }
LogLevel log_level() { return g_level.load(std::memory_order_relaxed); }

void set_log_sink(std::function<void(std::string_view)> s) {
  if (t_in_sink) {
    // This thread holds the lock, inside the sink being replaced.
    replacement() = std::move(s);
    return;
  }
  std::lock_guard lock(sink_mutex());
  sink() = std::move(s);
}

std::string format_log_line(LogLevel level, std::string_view component, std::string_view message,
                            std::initializer_list<LogField> fields) {
  std::string line;
  line.reserve(64 + message.size());
  line += format_timestamp(now_micros());
  line += ' ';
  line += log_level_name(level);
  line += ' ';
  line += component;
  line += ": ";
  for (char c : message) line += (c == '\n' || c == '\r') ? ' ' : c;
  for (const LogField& f : fields) {
    line += ' ';
    line += f.key;
    line += '=';
    append_value(line, f.value);
  }
  line += '\n';
  return line;
}

void log(LogLevel level, std::string_view component, std::string_view message,
         std::initializer_list<LogField> fields) {
  if (!log_enabled(level) || t_in_sink) return;
  const std::string line = format_log_line(level, component, message, fields);
  std::lock_guard lock(sink_mutex());
  if (sink()) {
    t_in_sink = true;
    try {
      sink()(line);
    } catch (...) {
      // A sink that throws loses its line; the caller goes on.
    }
    t_in_sink = false;
    if (replacement()) {
      sink() = std::move(*replacement());
      replacement().reset();
    }
  } else {
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
  }
}

}  // namespace outpost
