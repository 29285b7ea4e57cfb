#include "server/query.h"

#include <algorithm>

#include "api/error.h"
#include "utils/text.h"

namespace outpost::server {

std::string decode_component(std::string_view text, bool plus_is_space) {
  std::optional<std::string> decoded = try_percent_decode(text, plus_is_space);
  if (!decoded) {
    throw Error(ErrorCode::invalid_value, "malformed percent-encoding in the request target");
  }
  return std::move(*decoded);
}

std::vector<std::string> decode_path(std::string_view path) {
  std::vector<std::string> segments;
  std::string_view rest = path.substr(path.empty() ? 0 : 1);
  for (;;) {
    size_t slash = rest.find('/');
    segments.push_back(decode_component(rest.substr(0, slash), false));
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  return segments;
}

Query::Query(std::string_view text) {
  while (!text.empty()) {
    size_t amp = text.find('&');
    std::string_view item = text.substr(0, amp);
    text = amp == std::string_view::npos ? std::string_view{} : text.substr(amp + 1);
    if (item.empty()) continue;
    size_t eq = item.find('=');
    std::string key = decode_component(item.substr(0, eq), true);
    std::string value =
        eq == std::string_view::npos ? std::string() : decode_component(item.substr(eq + 1), true);
    items_.emplace_back(std::move(key), std::move(value));
  }
}

std::optional<std::string> Query::get(std::string_view key) const {
  for (const auto& [k, v] : items_) {
    if (k == key) return v;
  }
  return std::nullopt;
}

std::string Query::get_or(std::string_view key, std::string_view fallback) const {
  auto v = get(key);
  return v ? *v : std::string(fallback);
}

bool Query::flag(std::string_view key) const {
  auto v = get(key);
  if (!v) return false;
  if (*v == "true" || v->empty()) return true;
  if (*v == "false") return false;
  throw Error(ErrorCode::invalid_value,
              "query parameter '" + std::string(key) + "' takes true or false");
}

size_t Query::count(std::string_view key, size_t fallback, size_t max) const {
  auto v = get(key);
  if (!v) return std::min(fallback, max);
  bool digits = !v->empty() && v->size() <= 18 &&
                std::all_of(v->begin(), v->end(), [](char c) { return c >= '0' && c <= '9'; });
  size_t n = digits ? std::stoull(*v) : 0;
  if (n == 0) {
    throw Error(ErrorCode::invalid_value, "query parameter '" + std::string(key) +
                                              "' takes a whole number from 1 to " +
                                              std::to_string(max));
  }
  return std::min(n, max);
}

}  // namespace outpost::server
