// Decoding of a request target for the router (DESIGN.md section 8): the
// path split into percent-decoded segments, and the query string as
// key=value pairs with typed getters. Malformed escapes and bad values are
// Error(invalid_value) naming the parameter.
// Thread-safety: plain value type and pure functions.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace outpost::server {

// Percent-decodes one path segment or query component ('+' is a space in a
// query). Malformed escapes are invalid_value.
std::string decode_component(std::string_view text, bool plus_is_space);

// The segments of `path` after its leading '/', split on raw '/' and then
// decoded (an id may hold '/' written as %2F). "/" gives one empty segment.
std::vector<std::string> decode_path(std::string_view path);

class Query {
 public:
  explicit Query(std::string_view text);

  // The first value of `key`, if present ("" for a bare key).
  std::optional<std::string> get(std::string_view key) const;
  std::string get_or(std::string_view key, std::string_view fallback = {}) const;
  // Absent: false; "true" or a bare key: true; "false": false; else invalid_value.
  bool flag(std::string_view key) const;
  // A count in [1, max] (larger values are clamped to max; absent: min(fallback, max)).
  size_t count(std::string_view key, size_t fallback, size_t max) const;

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

}  // namespace outpost::server
